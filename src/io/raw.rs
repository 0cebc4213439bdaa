//! Expanding strips/tiles the `tiff` crate will not expand for us: palette pages (ImageJ's
//! 8-bit stacks with a LUT), sample depths that are not whole bytes (10-, 12-bit cameras),
//! and WhiteIsZero pages (the crate inverts them; like tifffile we keep the stored values).
//! The crate still indexes and reads the tags; here we only fetch each chunk's bytes,
//! decompress them (none, LZW, Deflate, PackBits, ZSTD), undo the horizontal predictor and
//! unpack samples. Also reading an uncompressed plane at a byte offset (ImageJ > 4 GB).
//!
//! Not here: anything the crate decodes (see `decode`), metadata.

use std::io::{Read, Seek, SeekFrom};

use tiff::tags::Tag;

use super::index::{FileDecoder, MAX_PLANE_BYTES, PageInfo};
use crate::image::{PlaneData, SampleType};

type R<T> = std::result::Result<T, String>;

fn terr(e: tiff::TiffError) -> String {
    super::index::tiff_reason(&e)
}

/// Decodes sample `sample` of the decoder's current page into a plane of `dtype`.
pub(crate) fn read_page_plane(
    dec: &mut FileDecoder,
    p: &PageInfo,
    sample: usize,
    le: bool,
    dtype: SampleType,
) -> R<PlaneData> {
    let (w, h) = (p.width as usize, p.height as usize);
    let spp = p.spp as usize;
    let bits = p.bits as usize;
    if p.predictor == 3 || (p.predictor == 2 && !bits.is_multiple_of(8)) {
        return Err(format!(
            "unsupported: predictor {} with {bits}-bit samples",
            p.predictor
        ));
    }
    let (tw, th) = if p.tiled {
        let tw = dec
            .find_tag_unsigned::<u32>(Tag::TileWidth)
            .map_err(terr)?
            .unwrap_or(0) as usize;
        let th = dec
            .find_tag_unsigned::<u32>(Tag::TileLength)
            .map_err(terr)?
            .unwrap_or(0) as usize;
        (tw, th)
    } else {
        let rps = dec
            .find_tag_unsigned::<u32>(Tag::RowsPerStrip)
            .map_err(terr)?
            .unwrap_or(u32::MAX) as usize;
        (w, rps.clamp(1, h))
    };
    if tw == 0 || th == 0 {
        return Err("tile size is zero".into());
    }
    let (off_tag, cnt_tag) = if p.tiled {
        (Tag::TileOffsets, Tag::TileByteCounts)
    } else {
        (Tag::StripOffsets, Tag::StripByteCounts)
    };
    let offsets = dec
        .find_tag_unsigned_vec::<u64>(off_tag)
        .map_err(terr)?
        .unwrap_or_default();
    let counts = dec
        .find_tag_unsigned_vec::<u64>(cnt_tag)
        .map_err(terr)?
        .unwrap_or_default();
    let (across, down) = (w.div_ceil(tw), h.div_ceil(th));
    let per_plane = across * down;
    let planar = p.planar == 2 && spp > 1;
    let (chunk_samples, first_chunk, pick) = if planar {
        (1, sample * per_plane, 0)
    } else {
        (spp, 0, sample)
    };
    if offsets.len() < first_chunk + per_plane || counts.len() < offsets.len() {
        return Err(format!(
            "{} chunks listed, the layout needs {}",
            offsets.len(),
            first_chunk + per_plane
        ));
    }
    let row_bytes = (tw * chunk_samples * bits).div_ceil(8);
    let mut out = zeroed(dtype, w * h);
    for k in 0..per_plane {
        let (cx, cy) = ((k % across) * tw, (k / across) * th);
        let rows = th.min(h - cy);
        // Strips at the bottom may hold fewer rows; tiles always hold th rows.
        let need = row_bytes
            .checked_mul(if p.tiled { th } else { rows })
            .ok_or("chunk exceeds the reader's size limit")?;
        let ci = first_chunk + k;
        let data = read_chunk(dec, offsets[ci], counts[ci], p.compression, need)
            .map_err(|e| format!("chunk {ci}: {e}"))?;
        if data.len() < row_bytes * rows {
            return Err(format!(
                "chunk {ci}: decompressed to {} bytes, expected {need}",
                data.len()
            ));
        }
        // Only the columns inside the image: a tile may reach far past its right edge.
        let cols = tw.min(w - cx);
        for r in 0..rows {
            let row = &data[r * row_bytes..(r + 1) * row_bytes];
            let mut vals = unpack_row(row, cols * chunk_samples, bits, le);
            if p.predictor == 2 {
                undo_horizontal(&mut vals, chunk_samples, bits);
            }
            let picked = (0..cols).map(|x| vals[x * chunk_samples + pick]);
            store(&mut out, (cy + r) * w + cx, picked);
        }
    }
    Ok(out)
}

fn read_chunk(
    dec: &mut FileDecoder,
    offset: u64,
    count: u64,
    compression: u16,
    need: usize,
) -> R<Vec<u8>> {
    if count as usize > MAX_PLANE_BYTES || need > MAX_PLANE_BYTES {
        return Err("chunk exceeds the reader's size limit".into());
    }
    let f = dec.inner();
    f.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
    let mut raw = vec![0u8; count as usize];
    f.read_exact(&mut raw)
        .map_err(|e| format!("{e} (truncated file?)"))?;
    // Sized by what the data can expand to, not by the header: a chunk may declare far more
    // than it holds (the buffers grow as data arrives, never past `need`).
    let mut out = Vec::with_capacity(need.min(raw.len().saturating_mul(4)));
    let bounded = |r: &mut dyn Read, out: &mut Vec<u8>| -> R<()> {
        r.take(need as u64)
            .read_to_end(out)
            .map(|_| ())
            .map_err(|e| format!("corrupt compressed data: {e}"))
    };
    match compression {
        1 => out = raw,
        5 => out = lzw(&raw, need)?,
        8 | 32946 => bounded(&mut flate2::read::ZlibDecoder::new(&raw[..]), &mut out)?,
        50000 => bounded(
            &mut zstd::stream::read::Decoder::new(&raw[..]).map_err(|e| e.to_string())?,
            &mut out,
        )?,
        32773 => out = unpack_bits(&raw, need),
        c => {
            return Err(format!(
                "unsupported: compression {} for this page",
                super::index::compression_name(c)
            ));
        }
    }
    Ok(out)
}

/// LZW (TIFF flavour, early code-size switch) into at most `need` bytes. weezl yields after
/// bursts, so keep calling until it is done, the output is full or it stops making progress.
fn lzw(src: &[u8], need: usize) -> R<Vec<u8>> {
    let mut out = vec![0u8; need.min(src.len().saturating_mul(4).max(4096))];
    let mut d = weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
    let (mut inp, mut done) = (0, 0);
    while done < need {
        if done == out.len() {
            out.resize(out.len().saturating_mul(2).min(need), 0);
        }
        let r = d.decode_bytes(&src[inp..], &mut out[done..]);
        inp += r.consumed_in;
        done += r.consumed_out;
        match r.status.map_err(|e| format!("corrupt LZW data: {e}"))? {
            weezl::LzwStatus::Done | weezl::LzwStatus::NoProgress => break,
            weezl::LzwStatus::Ok if r.consumed_in == 0 && r.consumed_out == 0 => break,
            weezl::LzwStatus::Ok => {}
        }
    }
    out.truncate(done);
    Ok(out)
}

/// PackBits (Apple RLE), stopping at `need` bytes.
fn unpack_bits(src: &[u8], need: usize) -> Vec<u8> {
    // At most 128 bytes from every 2.
    let mut out = Vec::with_capacity(need.min(src.len().saturating_mul(64)));
    let mut i = 0;
    while i < src.len() && out.len() < need {
        let n = src[i] as i8;
        i += 1;
        if n >= 0 {
            let end = (i + n as usize + 1).min(src.len());
            out.extend_from_slice(&src[i..end]);
            i = end;
        } else if n != -128 {
            if let Some(&b) = src.get(i) {
                // n in -127..=-1: the next byte 1 - n times.
                out.extend(std::iter::repeat_n(b, (1 - n as isize) as usize));
            }
            i += 1;
        }
    }
    out.truncate(need);
    out
}

/// `n` samples of `bits` each from one row: whole bytes in the file's byte order, other
/// depths packed most significant bit first.
fn unpack_row(row: &[u8], n: usize, bits: usize, le: bool) -> Vec<u64> {
    match bits {
        8 => row[..n].iter().map(|&b| b as u64).collect(),
        16 | 32 | 64 => {
            let b = bits / 8;
            row[..n * b]
                .chunks_exact(b)
                .map(|c| {
                    let mut v = 0u64;
                    for (i, &byte) in c.iter().enumerate() {
                        let shift = if le { 8 * i } else { 8 * (b - 1 - i) };
                        v |= (byte as u64) << shift;
                    }
                    v
                })
                .collect()
        }
        _ => (0..n)
            .map(|j| {
                let mut v = 0u64;
                for bit in j * bits..(j + 1) * bits {
                    v = (v << 1) | ((row[bit / 8] >> (7 - bit % 8)) & 1) as u64;
                }
                v
            })
            .collect(),
    }
}

fn undo_horizontal(vals: &mut [u64], samples: usize, bits: usize) {
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    for i in samples..vals.len() {
        vals[i] = vals[i].wrapping_add(vals[i - samples]) & mask;
    }
}

fn zeroed(dtype: SampleType, n: usize) -> PlaneData {
    match dtype {
        SampleType::U8 => PlaneData::U8(vec![0; n]),
        SampleType::I8 => PlaneData::I8(vec![0; n]),
        SampleType::U16 => PlaneData::U16(vec![0; n]),
        SampleType::I16 => PlaneData::I16(vec![0; n]),
        SampleType::U32 => PlaneData::U32(vec![0; n]),
        SampleType::I32 => PlaneData::I32(vec![0; n]),
        SampleType::F32 => PlaneData::F32(vec![0.0; n]),
        SampleType::F64 => PlaneData::F64(vec![0.0; n]),
    }
}

/// Stores raw sample bits (already in host order) at `start..` as the plane's type.
fn store(out: &mut PlaneData, start: usize, vals: impl Iterator<Item = u64>) {
    macro_rules! put {
        ($d:expr, $conv:expr) => {
            for (d, v) in $d[start..].iter_mut().zip(vals) {
                *d = $conv(v);
            }
        };
    }
    match out {
        PlaneData::U8(d) => put!(d, |v| v as u8),
        PlaneData::I8(d) => put!(d, |v| v as u8 as i8),
        PlaneData::U16(d) => put!(d, |v| v as u16),
        PlaneData::I16(d) => put!(d, |v| v as u16 as i16),
        PlaneData::U32(d) => put!(d, |v| v as u32),
        PlaneData::I32(d) => put!(d, |v| v as u32 as i32),
        PlaneData::F32(d) => put!(d, |v| f32::from_bits(v as u32)),
        PlaneData::F64(d) => put!(d, f64::from_bits),
    }
}

/// An uncompressed single-sample plane of `w * h` samples at `offset`.
pub(crate) fn read_contiguous(
    dec: &mut FileDecoder,
    offset: u64,
    (w, h): (usize, usize),
    dtype: SampleType,
    le: bool,
) -> R<PlaneData> {
    let b = dtype.bytes();
    let f = dec.inner();
    f.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
    let mut raw = vec![0u8; w * h * b];
    f.read_exact(&mut raw)
        .map_err(|e| format!("{e} (truncated file?)"))?;
    macro_rules! conv {
        ($t:ty, $var:ident) => {
            PlaneData::$var(
                raw.chunks_exact(b)
                    .map(|c| {
                        let a = c.try_into().unwrap_or_default();
                        if le {
                            <$t>::from_le_bytes(a)
                        } else {
                            <$t>::from_be_bytes(a)
                        }
                    })
                    .collect(),
            )
        };
    }
    Ok(match dtype {
        SampleType::U8 => PlaneData::U8(raw),
        SampleType::I8 => PlaneData::I8(raw.into_iter().map(|x| x as i8).collect()),
        SampleType::U16 => conv!(u16, U16),
        SampleType::I16 => conv!(i16, I16),
        SampleType::U32 => conv!(u32, U32),
        SampleType::I32 => conv!(i32, I32),
        SampleType::F32 => conv!(f32, F32),
        SampleType::F64 => conv!(f64, F64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_bit_unpacking_msb_first() {
        // Samples 1, 2, 3, 1023 as 10-bit MSB-first: 40 bits = 5 bytes.
        let bits: String = [1u64, 2, 3, 1023]
            .iter()
            .map(|v| format!("{v:010b}"))
            .collect();
        let bytes: Vec<u8> = (0..5)
            .map(|i| u8::from_str_radix(&bits[i * 8..i * 8 + 8], 2).unwrap())
            .collect();
        assert_eq!(unpack_row(&bytes, 4, 10, true), vec![1, 2, 3, 1023]);
        assert_eq!(unpack_row(&[0x12, 0x34], 1, 16, false), vec![0x1234]);
        assert_eq!(unpack_row(&[0x12, 0x34], 1, 16, true), vec![0x3412]);
    }

    #[test]
    fn lzw_round_trip_through_weezl() {
        let data: Vec<u8> = (0..20_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 97) as u8)
            .collect();
        let mut enc = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
        let packed = enc.encode(&data).unwrap();
        assert_eq!(lzw(&packed, data.len()).unwrap(), data);
        assert_eq!(lzw(&packed, 100).unwrap(), data[..100]);
        assert!(lzw(&[0xFF; 64], 1000).is_err() || lzw(&[0xFF; 64], 1000).unwrap().len() < 1000);
    }

    #[test]
    fn packbits_and_predictor() {
        assert_eq!(unpack_bits(&[0xFE, 7, 1, 1, 2], 10), vec![7, 7, 7, 1, 2]);
        assert_eq!(unpack_bits(&[0x80, 0xFF], 4), Vec::<u8>::new());
        // The longest run, -127: 128 copies (once computed as 1 - (-127 as usize)).
        assert_eq!(unpack_bits(&[0x81, 9], 1000), vec![9; 128]);
        let mut v = vec![1, 1, 1, 255];
        undo_horizontal(&mut v, 1, 8);
        assert_eq!(v, vec![1, 2, 3, 2]);
    }
}
