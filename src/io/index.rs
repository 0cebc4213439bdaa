//! Indexing a TIFF once: walk the IFD chain with the `tiff` crate's `Decoder`, record each
//! page's layout ([`PageInfo`]), check that every strip/tile lies inside the file, and read the
//! metadata tags of page 0 ([`FileMeta`]). Also the decoder limits against hostile files and the
//! translation of `tiff` errors into one-line [`Error::Format`]s.
//!
//! Not here: interpreting the metadata (`imagej`, `ome`, `layout`) or decoding pixels (`decode`).

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tiff::decoder::{Decoder, Limits};
use tiff::tags::Tag;
use tiff::{TiffError, TiffFormatError};

use crate::error::{Error, Result};
use crate::image::SampleType;

/// Where a stack's bytes are: a file (each decoder opens its own handle), or memory shared by
/// every decoder ([`super::StackReader::from_bytes`]).
#[derive(Clone)]
pub(crate) enum Origin {
    File(PathBuf),
    Memory(Arc<[u8]>),
}

/// One reader of an [`Origin`], with its own position.
pub(crate) enum Source {
    File(BufReader<File>),
    Memory(Cursor<Arc<[u8]>>),
}

impl Source {
    /// A fresh reader at byte 0 and the length of the data.
    fn open(origin: &Origin, path: &Path) -> Result<(Source, u64)> {
        Ok(match origin {
            Origin::File(file) => {
                let f = File::open(file).map_err(|e| Error::io(path, e))?;
                let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
                (Source::File(BufReader::with_capacity(1 << 16, f)), len)
            }
            Origin::Memory(b) => (Source::Memory(Cursor::new(b.clone())), b.len() as u64),
        })
    }
}

impl Source {
    /// `n` bytes at `off`, unbuffered (a few small reads in a large file), or `None` if they
    /// are not all there. The next buffered read seeks first, so no position is shared.
    fn read_at(&mut self, off: u64, n: usize, file_len: u64) -> Option<Vec<u8>> {
        if off.checked_add(n as u64)? > file_len || n > MAX_TAG_BYTES {
            return None;
        }
        let mut b = vec![0u8; n];
        match self {
            Source::File(r) => {
                let f = r.get_mut();
                f.seek(SeekFrom::Start(off)).ok()?;
                f.read_exact(&mut b).ok()?;
            }
            Source::Memory(c) => {
                let start = usize::try_from(off).ok()?;
                b.copy_from_slice(c.get_ref().get(start..start.checked_add(n)?)?);
            }
        }
        Some(b)
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::File(r) => r.read(buf),
            Source::Memory(r) => r.read(buf),
        }
    }
}

impl Seek for Source {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match self {
            Source::File(r) => r.seek(pos),
            Source::Memory(r) => r.seek(pos),
        }
    }
}

pub(crate) type FileDecoder = Decoder<Source>;

/// Largest decoded page (all samples) or compressed chunk we accept: 2 GiB.
pub(crate) const MAX_PLANE_BYTES: usize = 2 << 30;
/// Largest tag value (OME-XML, strip tables, IJ metadata) we read: 64 MiB.
pub(crate) const MAX_TAG_BYTES: usize = 64 << 20;

pub(crate) const TAG_IJ_BYTECOUNTS: u16 = 50838;
pub(crate) const TAG_IJ_METADATA: u16 = 50839;

fn limits() -> Limits {
    let mut l = Limits::default();
    l.decoding_buffer_size = MAX_PLANE_BYTES;
    l.intermediate_buffer_size = MAX_PLANE_BYTES;
    l.ifd_value_size = MAX_TAG_BYTES;
    l
}

/// One line saying what went wrong inside the `tiff` crate, in words a user can act on.
pub(crate) fn tiff_reason(e: &TiffError) -> String {
    match e {
        TiffError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "unexpected end of file (truncated, or an offset points past the end)".into()
        }
        TiffError::FormatError(TiffFormatError::CycleInOffsets) => {
            "the IFD chain loops back on itself (IFD loop)".into()
        }
        TiffError::FormatError(
            TiffFormatError::TiffSignatureNotFound | TiffFormatError::TiffSignatureInvalid,
        ) => "not a TIFF file (no II*/MM* signature)".into(),
        TiffError::LimitsExceeded => format!(
            "declared size exceeds the reader's limits ({} MiB per page, {} MiB per tag)",
            MAX_PLANE_BYTES >> 20,
            MAX_TAG_BYTES >> 20
        ),
        TiffError::UnsupportedError(u) => format!("unsupported: {u}"),
        other => other.to_string(),
    }
    .replace('\n', " ")
}

pub(crate) fn tiff_error(path: &Path, place: impl Into<String>, e: TiffError) -> Error {
    Error::format(path, place, tiff_reason(&e))
}

/// A fresh decoder on its own reader (file handle or cursor), positioned at page 0. `path`
/// names the stack in errors.
pub(crate) fn open_decoder(origin: &Origin, path: &Path) -> Result<FileDecoder> {
    let (src, _) = Source::open(origin, path)?;
    let dec = Decoder::new(src).map_err(|e| {
        let place = match e {
            TiffError::FormatError(
                TiffFormatError::TiffSignatureNotFound | TiffFormatError::TiffSignatureInvalid,
            ) => "header",
            _ => "page 0",
        };
        tiff_error(path, place, e)
    })?;
    Ok(dec.with_limits(limits()))
}

/// Layout of one page (IFD), as its tags declare it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PageInfo {
    pub width: u32,
    pub height: u32,
    pub spp: u16,
    pub bits: u16,
    /// SampleFormat: 1 unsigned, 2 signed, 3 float.
    pub format: u16,
    pub compression: u16,
    pub photometric: u16,
    /// PlanarConfiguration: 1 chunky (interleaved), 2 planar (one plane per sample).
    pub planar: u16,
    pub predictor: u16,
    pub tiled: bool,
    /// NewSubfileType bit 0: a reduced-resolution copy (thumbnail).
    pub reduced: bool,
}

impl PageInfo {
    /// The host sample type this page decodes to, or why it cannot.
    pub fn dtype(&self) -> std::result::Result<SampleType, String> {
        let b = self.bits;
        Ok(match (self.format, b) {
            (1, 1..=8) => SampleType::U8,
            (1, 9..=16) => SampleType::U16,
            (1, 17..=32) => SampleType::U32,
            (2, 8) => SampleType::I8,
            (2, 16) => SampleType::I16,
            (2, 32) => SampleType::I32,
            (3, 32) => SampleType::F32,
            (3, 64) => SampleType::F64,
            (f, b) => {
                let kind = match f {
                    1 => "unsigned integer",
                    2 => "signed integer",
                    3 => "floating-point",
                    _ => "untyped (SampleFormat {f})",
                };
                return Err(format!("unsupported: {b}-bit {kind} samples"));
            }
        })
    }

    /// Whether the `tiff` crate can expand this page's chunks itself; otherwise `raw` does.
    pub fn crate_decodes(&self) -> bool {
        // Palette pages are refused by the crate and WhiteIsZero pages are inverted by it;
        // like tifffile we hand out the stored values of both.
        matches!(self.bits, 8 | 16 | 32 | 64) && matches!(self.photometric, 1 | 2 | 5 | 6)
    }
}

/// The metadata of page 0 that the axis model needs.
#[derive(Clone, Debug, Default)]
pub(crate) struct FileMeta {
    /// Every ImageDescription of page 0, in file order. Micro-Manager writes two (OME-XML,
    /// then ImageJ); the crate's `Directory` keeps one entry per tag, so we scan for them.
    pub descriptions: Vec<String>,
    /// IJMetadata bytes and IJMetadataByteCounts.
    pub ij_metadata: Option<(Vec<u8>, Vec<u64>)>,
    /// XResolution, YResolution (pixels per unit) and ResolutionUnit (1 none, 2 inch, 3 cm).
    pub x_res: Option<f64>,
    pub y_res: Option<f64>,
    pub res_unit: u16,
}

/// What one walk of the file found.
pub(crate) struct FileIndex {
    pub pages: Vec<PageInfo>,
    pub meta: FileMeta,
    pub bigtiff: bool,
    pub little_endian: bool,
    pub file_len: u64,
    /// Start of page 0's pixel data when it is stored as one contiguous uncompressed run.
    pub page0_contiguous: Option<u64>,
}

/// Walks every IFD once. Returns the index and the decoder (left on the last page), which
/// already knows every IFD offset and so makes a good first member of a decoder pool.
pub(crate) fn index_file(origin: &Origin, path: &Path) -> Result<(FileIndex, FileDecoder)> {
    let mut head = [0u8; 4];
    let (mut f, file_len) = Source::open(origin, path)?;
    f.read_exact(&mut head).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            Error::format(path, "header", "not a TIFF file (shorter than 8 bytes)")
        }
        _ => Error::io(path, e),
    })?;
    let little_endian = match &head[..2] {
        b"II" => true,
        b"MM" => false,
        _ => {
            return Err(Error::format(
                path,
                "header",
                "not a TIFF file (no II*/MM* signature)",
            ));
        }
    };
    let magic = if little_endian {
        u16::from_le_bytes([head[2], head[3]])
    } else {
        u16::from_be_bytes([head[2], head[3]])
    };
    let bigtiff = magic == 43;
    let header_len = if bigtiff { 16 } else { 8 };
    let mut rest = vec![0u8; header_len - 4];
    if !matches!(magic, 42 | 43) || f.read_exact(&mut rest).is_err() {
        let why = if matches!(magic, 42 | 43) {
            format!("truncated header ({file_len} bytes)")
        } else {
            format!("not a TIFF file (version {magic}, expected 42 or 43)")
        };
        return Err(Error::format(path, "header", why));
    }
    let first_ifd = {
        let b = &rest[rest.len() - if bigtiff { 8 } else { 4 }..];
        b.iter().enumerate().fold(0u64, |v, (i, &x)| {
            v | (x as u64) << (8 * if little_endian { i } else { b.len() - 1 - i })
        })
    };
    if first_ifd >= file_len || first_ifd < header_len as u64 {
        return Err(Error::format(
            path,
            "header",
            format!(
                "first IFD offset {first_ifd} lies outside the file ({file_len} bytes): truncated or corrupt"
            ),
        ));
    }
    if let Some((page, why)) =
        tags_past_the_end(&mut f, little_endian, bigtiff, first_ifd, file_len)
    {
        return Err(Error::format(path, format!("page {page}"), why));
    }
    let mut dec = open_decoder(origin, path)?;
    let mut pages = Vec::new();
    let mut meta = read_meta(&mut dec).map_err(|e| tiff_error(path, "page 0 tags", e))?;
    if let Some(all) =
        scan_descriptions(&mut f, little_endian, bigtiff, file_len).filter(|d| d.len() > 1)
    {
        meta.descriptions = all;
    }
    let mut page0_contiguous = None;
    // The crate refuses an IFD whose `next` changes between reads, but a chain that returns
    // to an earlier IFD unchanged would be walked forever: stop at the first repeat.
    let mut seen = std::collections::HashSet::new();
    loop {
        let n = pages.len();
        if let Some(ptr) = dec.ifd_pointer()
            && !seen.insert(ptr.0)
        {
            return Err(Error::format(
                path,
                format!("page {n}"),
                format!("the IFD chain loops back to offset {} (IFD loop)", ptr.0),
            ));
        }
        let (info, contiguous) = read_page(&mut dec, path, n, file_len)?;
        if n == 0 {
            page0_contiguous = contiguous;
        }
        pages.push(info);
        if !dec.more_images() {
            break;
        }
        dec.next_image()
            .map_err(|e| tiff_error(path, format!("page {}", n + 1), e))?;
    }
    let index = FileIndex {
        pages,
        meta,
        bigtiff,
        little_endian,
        file_len,
        page0_contiguous,
    };
    Ok((index, dec))
}

fn tag_u16(dec: &mut FileDecoder, tag: Tag, default: u16) -> tiff::TiffResult<u16> {
    Ok(dec
        .find_tag_unsigned_vec::<u16>(tag)?
        .and_then(|v| v.first().copied())
        .unwrap_or(default))
}

/// Layout of the current page; errors if a strip or tile lies outside the file.
fn read_page(
    dec: &mut FileDecoder,
    path: &Path,
    n: usize,
    file_len: u64,
) -> Result<(PageInfo, Option<u64>)> {
    let place = || format!("page {n}");
    let err = |e| tiff_error(path, place(), e);
    let (width, height) = dec.dimensions().map_err(err)?;
    let tiled = dec.find_tag(Tag::TileOffsets).map_err(err)?.is_some();
    let info = PageInfo {
        width,
        height,
        spp: tag_u16(dec, Tag::SamplesPerPixel, 1).map_err(err)?,
        bits: tag_u16(dec, Tag::BitsPerSample, 1).map_err(err)?,
        format: tag_u16(dec, Tag::SampleFormat, 1).map_err(err)?,
        compression: tag_u16(dec, Tag::Compression, 1).map_err(err)?,
        photometric: tag_u16(dec, Tag::PhotometricInterpretation, 1).map_err(err)?,
        planar: tag_u16(dec, Tag::PlanarConfiguration, 1).map_err(err)?,
        predictor: tag_u16(dec, Tag::Predictor, 1).map_err(err)?,
        tiled,
        reduced: dec
            .find_tag_unsigned::<u32>(Tag::NewSubfileType)
            .map_err(err)?
            .is_some_and(|v| v & 1 == 1),
    };
    // Saturating: 2^32 x 2^32 pixels x 2^16 samples would wrap past the check below.
    let page_bytes = (u64::from(width) * u64::from(height))
        .saturating_mul(u64::from(info.spp))
        .saturating_mul(u64::from(info.bits).div_ceil(8));
    if page_bytes > MAX_PLANE_BYTES as u64 {
        return Err(Error::format(
            path,
            place(),
            format!(
                "declared {width}x{height} pixels x{} samples of {} bits ({} MiB) exceed the {} MiB page limit",
                info.spp,
                info.bits,
                page_bytes >> 20,
                MAX_PLANE_BYTES >> 20
            ),
        ));
    }
    let (off_tag, cnt_tag, what) = if tiled {
        (Tag::TileOffsets, Tag::TileByteCounts, "tile")
    } else {
        (Tag::StripOffsets, Tag::StripByteCounts, "strip")
    };
    let offsets = dec.find_tag_unsigned_vec::<u64>(off_tag).map_err(err)?;
    let counts = dec.find_tag_unsigned_vec::<u64>(cnt_tag).map_err(err)?;
    let (Some(offsets), Some(counts)) = (offsets, counts) else {
        return Err(Error::format(
            path,
            place(),
            format!("no {what} offsets or byte counts"),
        ));
    };
    if offsets.len() != counts.len() || offsets.is_empty() {
        return Err(Error::format(
            path,
            place(),
            format!(
                "{} {what} offsets but {} byte counts",
                offsets.len(),
                counts.len()
            ),
        ));
    }
    for (i, (&o, &c)) in offsets.iter().zip(&counts).enumerate() {
        if o.checked_add(c).is_none_or(|end| end > file_len) {
            return Err(Error::format(
                path,
                place(),
                format!(
                    "{what} {i} (offset {o}, {c} bytes) lies past the end of the file \
                     ({file_len} bytes): truncated or corrupt"
                ),
            ));
        }
    }
    let contiguous = offsets
        .windows(2)
        .zip(&counts)
        .all(|(w, &c)| w[0] + c == w[1]);
    let start = (info.compression == 1 && contiguous && !tiled).then_some(offsets[0]);
    Ok((info, start))
}

/// Bytes of a 1-byte-per-element tag (ASCII, BYTE, UNDEFINED), if present.
fn tag_bytes(dec: &mut FileDecoder, tag: Tag) -> tiff::TiffResult<Option<Vec<u8>>> {
    let mut ifd = dec.image_ifd();
    let Some(entry) = ifd.find_entry(tag) else {
        return Ok(None);
    };
    let n = usize::try_from(entry.count()).unwrap_or(usize::MAX);
    if n > MAX_TAG_BYTES {
        return Err(TiffError::LimitsExceeded);
    }
    let mut buf = vec![0u8; n];
    let got = ifd.find_tag_bytes(tag, &mut buf, 0)?.unwrap_or(0);
    buf.truncate(got.min(n));
    Ok(Some(buf))
}

fn tag_f64(dec: &mut FileDecoder, tag: Tag) -> tiff::TiffResult<Option<f64>> {
    use tiff::decoder::ifd::Value;
    fn val(v: Value) -> Option<f64> {
        match v {
            Value::Rational(n, d) => (d != 0).then(|| n as f64 / d as f64),
            Value::SRational(n, d) => (d != 0).then(|| n as f64 / d as f64),
            Value::Float(f) => Some(f as f64),
            Value::Double(f) => Some(f),
            Value::Short(s) => Some(s as f64),
            Value::Unsigned(u) => Some(u as f64),
            Value::List(l) => l.into_iter().next().and_then(val),
            _ => None,
        }
    }
    Ok(dec.find_tag(tag)?.and_then(val))
}

fn text(mut b: Vec<u8>) -> String {
    if let Some(end) = b.iter().position(|&c| c == 0) {
        b.truncate(end);
    }
    String::from_utf8(b).unwrap_or_else(|e| {
        // Latin-1 (ImageJ's "µm" as byte 0xB5): map bytes to chars one to one.
        e.into_bytes().iter().map(|&c| c as char).collect()
    })
}

/// Tags whose values the `tiff` crate (building each page) or this module decodes; the last
/// two are `TAG_IJ_BYTECOUNTS` and `TAG_IJ_METADATA`.
const DECODED_TAGS: [u16; 28] = [
    254, 255, 256, 257, 258, 259, 262, 270, 273, 277, 278, 279, 282, 283, 284, 296, 317, 322, 323,
    324, 325, 330, 338, 339, 347, 530, 50838, 50839,
];

/// The first page (and why) with a decoded tag whose values lie past the end of the file,
/// from the raw IFD chain. The crate sizes its buffer for a tag from the tag's count before
/// reading it (up to the page limit, 2 GiB), so a count of 10^8 in a 200-byte file would
/// allocate gigabytes before the read fails. `None` also where the chain itself is broken:
/// the crate then says how, as before.
fn tags_past_the_end(
    f: &mut Source,
    le: bool,
    big: bool,
    first_ifd: u64,
    file_len: u64,
) -> Option<(usize, String)> {
    let uint = |b: &[u8]| -> u64 {
        let mut v = 0u64;
        for (i, &x) in b.iter().enumerate() {
            v |= (x as u64) << (8 * if le { i } else { b.len() - 1 - i });
        }
        v
    };
    let w = if big { 8usize } else { 4 };
    let entry = 4 + 2 * w;
    let mut seen = std::collections::HashSet::new();
    let (mut ifd, mut page) = (first_ifd, 0usize);
    while ifd != 0 && seen.insert(ifd) {
        let n = uint(&f.read_at(ifd, if big { 8 } else { 2 }, file_len)?);
        let start = ifd + if big { 8 } else { 2 };
        // The whole entry table in one read (less where the file ends first).
        let len = n
            .saturating_mul(entry as u64)
            .min(file_len.saturating_sub(start));
        let table = f.read_at(start, usize::try_from(len).ok()?, file_len)?;
        let mut at = 0usize;
        for _ in 0..n {
            let e = table.get(at..at + 4)?;
            let (tag, typ) = (uint(&e[..2]) as u16, uint(&e[2..4]));
            let size: u64 = match typ {
                1 | 2 | 6 | 7 => 1,
                3 | 8 => 2,
                4 | 9 | 11 | 13 => 4,
                5 | 10 | 12 | 16..=18 => 8,
                _ => {
                    // tiff 0.11 skips an entry of unknown type as 8 more bytes, BigTIFF too.
                    at += 12;
                    continue;
                }
            };
            let rest = table.get(at + 4..at + entry)?;
            at += entry;
            let count = uint(&rest[..w]);
            let bytes = count.saturating_mul(size);
            if bytes <= w as u64 || !DECODED_TAGS.contains(&tag) {
                continue;
            }
            let off = uint(&rest[w..]);
            if off.checked_add(bytes).is_none_or(|end| end > file_len) {
                return Some((
                    page,
                    format!(
                        "tag {tag} ({count} values at offset {off}) lies past the end of the \
                         file ({file_len} bytes): truncated or corrupt"
                    ),
                ));
            }
        }
        ifd = uint(&f.read_at(start + at as u64, w, file_len)?);
        page += 1;
    }
    None
}

/// All ImageDescription (270) values of page 0, read from its raw entry table. `None` on
/// anything odd: the crate has already read the page, so this only adds the duplicates.
fn scan_descriptions(f: &mut Source, le: bool, big: bool, file_len: u64) -> Option<Vec<String>> {
    let mut read = |off: u64, n: usize| f.read_at(off, n, file_len);
    let uint = |b: &[u8]| -> u64 {
        let mut v = 0u64;
        for (i, &x) in b.iter().enumerate() {
            v |= (x as u64) << (8 * if le { i } else { b.len() - 1 - i });
        }
        v
    };
    let (w, entry) = if big { (8usize, 20usize) } else { (4, 12) };
    let ifd0 = uint(&read(if big { 8 } else { 4 }, w)?);
    let n = uint(&read(ifd0, if big { 8 } else { 2 })?) as usize;
    if n > 4096 {
        return None;
    }
    let table = read(ifd0 + if big { 8 } else { 2 }, n * entry)?;
    let mut out = Vec::new();
    for e in table.chunks_exact(entry) {
        let (tag, typ) = (uint(&e[0..2]), uint(&e[2..4]));
        if tag != 270 || !matches!(typ, 1 | 2 | 7) {
            continue;
        }
        let count = uint(&e[4..4 + w]) as usize;
        let field = &e[4 + w..4 + 2 * w];
        let bytes = if count <= w {
            field[..count].to_vec()
        } else {
            read(uint(field), count)?
        };
        out.push(text(bytes));
    }
    Some(out)
}

fn read_meta(dec: &mut FileDecoder) -> tiff::TiffResult<FileMeta> {
    let descriptions = tag_bytes(dec, Tag::ImageDescription)?
        .map(text)
        .into_iter()
        .collect();
    let ij_metadata = match tag_bytes(dec, Tag::Unknown(TAG_IJ_METADATA))? {
        Some(data) => dec
            .find_tag_unsigned_vec::<u64>(Tag::Unknown(TAG_IJ_BYTECOUNTS))?
            .map(|counts| (data, counts)),
        None => None,
    };
    Ok(FileMeta {
        descriptions,
        ij_metadata,
        x_res: tag_f64(dec, Tag::XResolution)?,
        y_res: tag_f64(dec, Tag::YResolution)?,
        res_unit: tag_u16(dec, Tag::ResolutionUnit, 2)?,
    })
}

/// The name of a TIFF compression code, as `info` prints it.
pub(crate) fn compression_name(code: u16) -> String {
    match code {
        1 => "none".into(),
        5 => "lzw".into(),
        8 | 32946 => "deflate".into(),
        32773 => "packbits".into(),
        50000 => "zstd".into(),
        6 | 7 => "jpeg".into(),
        34887 => "lerc".into(),
        33003 | 33005 | 34712 => "jpeg2000".into(),
        34925 => "lzma".into(),
        50001 => "webp".into(),
        other => format!("unknown({other})"),
    }
}
