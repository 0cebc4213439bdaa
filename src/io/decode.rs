//! Decoding one plane of one page with the `tiff` crate: single-sample pages in one call
//! (`read_image_to_buffer`, whole strips/tiles, predictors and byte order handled by the
//! crate), multi-sample pages chunk by chunk (`read_chunk`), taking only the wanted sample, so
//! a planar RGB page decodes one third of its data per channel. Pages the crate cannot expand
//! go to `raw`.
//!
//! Not here: choosing which page holds a plane (`layout`), decoder pooling (`reader`).

use tiff::decoder::{ChunkType, DecodingResult};

use super::index::{FileDecoder, PageInfo, tiff_reason};
use super::raw;
use crate::image::{PlaneData, SampleType};

type R<T> = std::result::Result<T, String>;

/// Sample `sample` of page `page` as a plane of `dtype`; `Err` is the reason, for one line.
pub(crate) fn decode_plane(
    dec: &mut FileDecoder,
    p: &PageInfo,
    page: usize,
    sample: usize,
    dtype: SampleType,
    le: bool,
) -> R<PlaneData> {
    dec.seek_to_image(page).map_err(|e| tiff_reason(&e))?;
    let (w, h) = dec.dimensions().map_err(|e| tiff_reason(&e))?;
    if (w, h) != (p.width, p.height) {
        return Err("page changed size since the file was indexed".into());
    }
    let data = if !p.crate_decodes() {
        raw::read_page_plane(dec, p, sample, le, dtype)?
    } else if p.spp == 1 {
        let mut buf = DecodingResult::U8(Vec::new());
        dec.read_image_to_buffer(&mut buf)
            .map_err(|e| tiff_reason(&e))?;
        let mut d = into_plane_data(buf)?;
        truncate(&mut d, w as usize * h as usize)?;
        d
    } else {
        chunked_sample(dec, p, sample)?
    };
    if data.sample_type() != dtype {
        return Err(format!(
            "decoded {} samples, expected {dtype}",
            data.sample_type()
        ));
    }
    Ok(data)
}

fn into_plane_data(r: DecodingResult) -> R<PlaneData> {
    Ok(match r {
        DecodingResult::U8(v) => PlaneData::U8(v),
        DecodingResult::I8(v) => PlaneData::I8(v),
        DecodingResult::U16(v) => PlaneData::U16(v),
        DecodingResult::I16(v) => PlaneData::I16(v),
        DecodingResult::U32(v) => PlaneData::U32(v),
        DecodingResult::I32(v) => PlaneData::I32(v),
        DecodingResult::F32(v) => PlaneData::F32(v),
        DecodingResult::F64(v) => PlaneData::F64(v),
        DecodingResult::U64(_) | DecodingResult::I64(_) => {
            return Err("unsupported: 64-bit integer samples".into());
        }
        DecodingResult::F16(_) => return Err("unsupported: 16-bit float samples".into()),
    })
}

fn truncate(d: &mut PlaneData, n: usize) -> R<()> {
    let len = d.len();
    if len < n {
        return Err(format!("page decoded to {len} samples, expected {n}"));
    }
    crate::with_plane_data!(d, v => v.truncate(n));
    Ok(())
}

/// One sample of a multi-sample page, reading only the chunks that hold it.
fn chunked_sample(dec: &mut FileDecoder, p: &PageInfo, sample: usize) -> R<PlaneData> {
    let (w, h) = (p.width as usize, p.height as usize);
    let spp = p.spp as usize;
    let planar = p.planar == 2;
    let (cw, ch) = dec.chunk_dimensions();
    let (cw, ch) = (cw as usize, ch as usize);
    if cw == 0 || ch == 0 {
        return Err("strip or tile size is zero".into());
    }
    let n_chunks = match dec.get_chunk_type() {
        ChunkType::Strip => dec.strip_count(),
        ChunkType::Tile => dec.tile_count(),
    }
    .map_err(|e| tiff_reason(&e))? as usize;
    let across = w.div_ceil(cw);
    let per_plane = across * h.div_ceil(ch);
    let (first, in_chunk, pick) = if planar {
        (sample * per_plane, 1, 0)
    } else {
        (0, spp, sample)
    };
    if n_chunks < first + per_plane {
        return Err(format!(
            "{n_chunks} chunks listed, the layout needs {}",
            first + per_plane
        ));
    }
    let mut out: Option<PlaneData> = None;
    for k in 0..per_plane {
        let idx = (first + k) as u32;
        let chunk = into_plane_data(
            dec.read_chunk(idx)
                .map_err(|e| format!("chunk {idx}: {}", tiff_reason(&e)))?,
        )?;
        let (dw, dh) = dec.chunk_data_dimensions(idx);
        let (dw, dh) = (dw as usize, dh as usize);
        let (x0, y0) = ((k % across) * cw, (k / across) * ch);
        let rows = dh.min(h.saturating_sub(y0));
        let cols = dw.min(w.saturating_sub(x0));
        if chunk.len() < rows.saturating_sub(1) * dw * in_chunk + cols * in_chunk {
            return Err(format!(
                "chunk {idx} decoded to {} samples, too few",
                chunk.len()
            ));
        }
        let dst = out.get_or_insert_with(|| zeroed(&chunk, w * h));
        copy_sample(&chunk, dst, (dw, in_chunk, pick), (x0, y0, cols, rows, w))?;
    }
    out.ok_or_else(|| "page has no chunks".into())
}

fn zeroed(like: &PlaneData, n: usize) -> PlaneData {
    match like {
        PlaneData::U8(_) => PlaneData::U8(vec![0; n]),
        PlaneData::I8(_) => PlaneData::I8(vec![0; n]),
        PlaneData::U16(_) => PlaneData::U16(vec![0; n]),
        PlaneData::I16(_) => PlaneData::I16(vec![0; n]),
        PlaneData::U32(_) => PlaneData::U32(vec![0; n]),
        PlaneData::I32(_) => PlaneData::I32(vec![0; n]),
        PlaneData::F32(_) => PlaneData::F32(vec![0.0; n]),
        PlaneData::F64(_) => PlaneData::F64(vec![0.0; n]),
    }
}

/// Copies sample `pick` of each pixel of a `dw`-wide chunk with `stride` samples per pixel
/// into the plane at (x0, y0).
fn copy_sample(
    src: &PlaneData,
    dst: &mut PlaneData,
    (dw, stride, pick): (usize, usize, usize),
    (x0, y0, cols, rows, w): (usize, usize, usize, usize, usize),
) -> R<()> {
    macro_rules! copy {
        ($s:expr, $d:expr) => {{
            for r in 0..rows {
                let src_row = &$s[r * dw * stride..];
                let dst_row = &mut $d[(y0 + r) * w + x0..][..cols];
                for (x, v) in dst_row.iter_mut().enumerate() {
                    *v = src_row[x * stride + pick];
                }
            }
        }};
    }
    match (src, dst) {
        (PlaneData::U8(s), PlaneData::U8(d)) => copy!(s, d),
        (PlaneData::I8(s), PlaneData::I8(d)) => copy!(s, d),
        (PlaneData::U16(s), PlaneData::U16(d)) => copy!(s, d),
        (PlaneData::I16(s), PlaneData::I16(d)) => copy!(s, d),
        (PlaneData::U32(s), PlaneData::U32(d)) => copy!(s, d),
        (PlaneData::I32(s), PlaneData::I32(d)) => copy!(s, d),
        (PlaneData::F32(s), PlaneData::F32(d)) => copy!(s, d),
        (PlaneData::F64(s), PlaneData::F64(d)) => copy!(s, d),
        _ => return Err("chunks of one page decoded to different sample types".into()),
    }
    Ok(())
}
