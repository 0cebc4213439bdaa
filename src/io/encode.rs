//! Pages through the `tiff` crate's encoder: the shared, flushable output file ([`Sink`]),
//! classic or BigTIFF encoders ([`Enc`]), one grey page of any sample type with its
//! description, resolution and IJMetadata tags, and resolution rationals.
//!
//! Not here: what to write and in which order (`write`), the metadata text (`imagej`, `ome`).

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use tiff::encoder::colortype::{self, ColorType};
use tiff::encoder::{Rational, TiffEncoder, TiffKind, TiffKindBig, TiffKindStandard, TiffValue};
use tiff::tags::{ResolutionUnit, Tag};

use super::index::{TAG_IJ_BYTECOUNTS, TAG_IJ_METADATA};
use crate::image::PlaneData;

/// The output file as the encoder sees it, shared so we can flush and sync it ourselves.
#[derive(Clone)]
pub(crate) struct Sink(pub Arc<Mutex<BufWriter<File>>>);

impl Sink {
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let mut g = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("writer lock poisoned"))?;
        f(&mut g)
    }
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.with(|w| w.write(b))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.with(|w| w.flush())
    }
}

impl Seek for Sink {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.with(|w| w.seek(pos))
    }
}

pub(crate) enum Enc {
    Std(TiffEncoder<Sink, TiffKindStandard>),
    Big(TiffEncoder<Sink, TiffKindBig>),
}

/// A rational close to `v` with a large denominator that still fits u32.
pub(crate) fn rational(v: f64) -> Option<Rational> {
    if !(v.is_finite() && v > 0.0) {
        return None;
    }
    let d = (u32::MAX as f64 / v).floor().clamp(1.0, 1e6);
    let n = (v * d).round();
    (n >= 1.0 && n <= u32::MAX as f64).then_some(Rational {
        n: n as u32,
        d: d as u32,
    })
}

pub(crate) struct PageTags<'a> {
    pub description: Option<&'a str>,
    pub labels: Option<&'a (Vec<u8>, Vec<u32>)>,
    pub resolution: Option<(Rational, Rational, ResolutionUnit)>,
}

pub(crate) fn write_any<K: TiffKind>(
    e: &mut TiffEncoder<Sink, K>,
    w: u32,
    h: u32,
    data: &PlaneData,
    t: &PageTags,
) -> tiff::TiffResult<()> {
    match data {
        PlaneData::U8(v) => write_page::<K, colortype::Gray8>(e, w, h, v, t),
        PlaneData::I8(v) => write_page::<K, colortype::GrayI8>(e, w, h, v, t),
        PlaneData::U16(v) => write_page::<K, colortype::Gray16>(e, w, h, v, t),
        PlaneData::I16(v) => write_page::<K, colortype::GrayI16>(e, w, h, v, t),
        PlaneData::U32(v) => write_page::<K, colortype::Gray32>(e, w, h, v, t),
        PlaneData::I32(v) => write_page::<K, colortype::GrayI32>(e, w, h, v, t),
        PlaneData::F32(v) => write_page::<K, colortype::Gray32Float>(e, w, h, v, t),
        PlaneData::F64(v) => write_page::<K, colortype::Gray64Float>(e, w, h, v, t),
    }
}

fn write_page<K: TiffKind, C: ColorType>(
    e: &mut TiffEncoder<Sink, K>,
    w: u32,
    h: u32,
    data: &[C::Inner],
    t: &PageTags,
) -> tiff::TiffResult<()>
where
    [C::Inner]: TiffValue,
{
    let mut img = e.new_image::<C>(w, h)?;
    let dir = img.encoder();
    if let Some(d) = t.description {
        dir.write_tag(Tag::ImageDescription, d)?;
    }
    if let Some((xr, yr, unit)) = &t.resolution {
        dir.write_tag(Tag::XResolution, xr.clone())?;
        dir.write_tag(Tag::YResolution, yr.clone())?;
        dir.write_tag(Tag::ResolutionUnit, unit.to_u16())?;
    }
    if let Some((bytes, counts)) = t.labels {
        dir.write_tag(Tag::Unknown(TAG_IJ_BYTECOUNTS), &counts[..])?;
        dir.write_tag(Tag::Unknown(TAG_IJ_METADATA), &bytes[..])?;
    }
    img.write_data(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rationals_keep_precision() {
        for v in [1.0 / 0.1625, 44.460534, 1e4 / 5.2304, 0.5, 3.0e6] {
            let r = rational(v).unwrap();
            assert!(((r.n as f64 / r.d as f64) - v).abs() / v < 1e-6, "{v}");
        }
        assert!(rational(0.0).is_none());
        assert!(rational(f64::NAN).is_none());
    }
}
