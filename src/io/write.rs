//! Writing stacks that Fiji, napari and tifffile open: ImageJ hyperstacks (labels, floats) and
//! 16-bit OME-TIFF, page by page through the `tiff` crate's encoder, so memory holds one plane.
//!
//! Pages run C fastest, then Z, then T (ImageJ's order; OME DimensionOrder XYCZT). The pixel
//! size travels in XResolution/YResolution (ImageJ: px per µm with `unit=micron`, `spacing`,
//! `finterval`; OME: PhysicalSize*, TimeIncrement, Channel names; channel names also as ImageJ
//! slice labels). Files over 4 GB become BigTIFF. Output is atomic: pages go to a temporary
//! file beside the target, renamed over it only when every plane is written and flushed.
//!
//! Not here: reading (`reader`), CSV/JSON reports (`report`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tiff::encoder::{Rational, TiffEncoder};
use tiff::tags::ResolutionUnit;

use super::encode::{Enc, PageTags, Sink, rational, write_any};
use super::index::tiff_reason;
use super::{OpenOptions, PixelSize, Shape, StackReader, imagej, ome};
use crate::error::{Error, Result};
use crate::image::{PlaneData, SampleType};

/// What to write: shape (t, c, z, y, x), pixel size, time increment, channel names.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteSpec {
    pub shape: Shape,
    pub pixel_size_um: PixelSize,
    pub time_increment_s: Option<f64>,
    /// Empty, or one entry per channel.
    pub channels: Vec<Option<String>>,
}

/// The metadata convention of a written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteFlavor {
    /// ImageJ hyperstack description + IJMetadata labels + resolution tags.
    ImageJ,
    /// OME-XML in the first page's ImageDescription.
    Ome,
}

/// Writes a stack plane by plane; [`StackWriter::finish`] publishes it. Dropped unfinished, it
/// removes its temporary file and leaves any existing file at `path` untouched.
pub struct StackWriter {
    enc: Option<Enc>,
    sink: Sink,
    tmp: PathBuf,
    path: PathBuf,
    spec: WriteSpec,
    dtype: SampleType,
    flavor: WriteFlavor,
    written: usize,
    description: String,
    labels: Option<(Vec<u8>, Vec<u32>)>,
    resolution: Option<(Rational, Rational, ResolutionUnit)>,
}

fn imagej_description(spec: &WriteSpec) -> String {
    let s = &spec.shape;
    let mut d = format!("ImageJ=1.11a\nimages={}\n", s.planes());
    for (k, n) in [("channels", s.c), ("slices", s.z), ("frames", s.t)] {
        if n > 1 {
            d += &format!("{k}={n}\n");
        }
    }
    if s.c > 1 || s.t > 1 {
        d += "hyperstack=true\nmode=grayscale\n";
    }
    let px = &spec.pixel_size_um;
    if px.x.is_some() || px.y.is_some() || px.z.is_some() {
        d += "unit=micron\n";
    }
    if let Some(z) = px.z {
        d += &format!("spacing={z}\n");
    }
    if let Some(dt) = spec.time_increment_s {
        d += &format!("finterval={dt}\n");
    }
    d + "loop=false\n"
}

static TMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

impl StackWriter {
    /// Starts writing `spec.shape.planes()` planes of `dtype` to a temporary file beside `path`.
    pub fn create(
        path: &Path,
        spec: &WriteSpec,
        dtype: SampleType,
        flavor: WriteFlavor,
    ) -> Result<StackWriter> {
        let s = &spec.shape;
        let bad = |why: String| Error::invalid(format!("{}: cannot write: {why}", path.display()));
        if s.planes() == 0
            || s.x == 0
            || s.y == 0
            || s.x > u32::MAX as usize
            || s.y > u32::MAX as usize
        {
            return Err(bad(format!(
                "shape t={} c={} z={} y={} x={} is empty or too large",
                s.t, s.c, s.z, s.y, s.x
            )));
        }
        if !spec.channels.is_empty() && spec.channels.len() != s.c {
            return Err(bad(format!(
                "{} channel names for {} channels",
                spec.channels.len(),
                s.c
            )));
        }
        let px = &spec.pixel_size_um;
        for v in [px.x, px.y, px.z, spec.time_increment_s]
            .into_iter()
            .flatten()
        {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(format!(
                    "pixel size or time increment {v} is not positive"
                )));
            }
        }
        if flavor == WriteFlavor::Ome && dtype != SampleType::U16 {
            return Err(bad(format!("OME output is written as uint16, not {dtype}")));
        }
        let description = match flavor {
            WriteFlavor::ImageJ => imagej_description(spec),
            WriteFlavor::Ome => ome::to_xml(spec, dtype.name(), false),
        };
        let labels = (flavor == WriteFlavor::ImageJ && spec.channels.iter().any(Option::is_some))
            .then(|| {
                let names: Vec<String> = (0..s.planes())
                    .map(|i| spec.channels[i % s.c].clone().unwrap_or_default())
                    .collect();
                imagej::encode_labels(&names, cfg!(target_endian = "little"))
            });
        let unit = if flavor == WriteFlavor::Ome { 1e4 } else { 1.0 };
        let resolution = match (
            px.x.and_then(|x| rational(unit / x)),
            px.y.or(px.x).and_then(|y| rational(unit / y)),
        ) {
            (Some(xr), Some(yr)) => Some((
                xr,
                yr,
                if flavor == WriteFlavor::Ome {
                    ResolutionUnit::Centimeter
                } else {
                    ResolutionUnit::None
                },
            )),
            _ => None,
        };
        let plane_bytes = (s.x * s.y * dtype.bytes()) as u64;
        let extra = description.len() + labels.as_ref().map_or(0, |l| l.0.len() + 4 * l.1.len());
        let estimate = s.planes() as u64 * (plane_bytes + 1024) + extra as u64 + (1 << 20);
        let big = estimate >= u32::MAX as u64 - (64 << 20);

        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
        let file = File::create(&tmp).map_err(|e| Error::output(&tmp, e))?;
        let sink = Sink(Arc::new(Mutex::new(BufWriter::with_capacity(
            1 << 20,
            file,
        ))));
        let enc = if big {
            TiffEncoder::new_big(sink.clone()).map(Enc::Big)
        } else {
            TiffEncoder::new(sink.clone()).map(Enc::Std)
        };
        let mut w = StackWriter {
            enc: None,
            sink,
            tmp,
            path: path.to_path_buf(),
            spec: spec.clone(),
            dtype,
            flavor,
            written: 0,
            description,
            labels,
            resolution,
        };
        w.enc = Some(enc.map_err(|e| {
            Error::output(
                &w.tmp,
                std::io::Error::other(format!("header: {}", tiff_reason(&e))),
            )
        })?);
        Ok(w)
    }

    pub fn dtype(&self) -> SampleType {
        self.dtype
    }

    pub fn flavor(&self) -> WriteFlavor {
        self.flavor
    }

    /// Planes written so far.
    pub fn written(&self) -> usize {
        self.written
    }

    /// Appends the next plane (in C, Z, T order); its type must be the writer's.
    pub fn push_plane(&mut self, data: &PlaneData) -> Result<()> {
        let s = self.spec.shape;
        let page = self.written;
        if page >= s.planes() {
            return Err(Error::invalid(format!(
                "{}: all {} planes are already written",
                self.path.display(),
                s.planes()
            )));
        }
        if data.len() != s.x * s.y || data.sample_type() != self.dtype {
            return Err(Error::invalid(format!(
                "{}: plane {page} has {} {} samples, expected {}x{} {}",
                self.path.display(),
                data.len(),
                data.sample_type(),
                s.x,
                s.y,
                self.dtype
            )));
        }
        let first = page == 0;
        let tags = PageTags {
            description: first.then_some(self.description.as_str()),
            labels: if first { self.labels.as_ref() } else { None },
            resolution: self.resolution.clone(),
        };
        let (w, h) = (s.x as u32, s.y as u32);
        let r = match self.enc.as_mut() {
            Some(Enc::Std(e)) => write_any(e, w, h, data, &tags),
            Some(Enc::Big(e)) => write_any(e, w, h, data, &tags),
            None => return Err(Error::invalid("writer already failed")),
        };
        r.map_err(|e| {
            let why = format!("writing page {page}: {}", tiff_reason(&e));
            // keep the OS's kind (a full disk, a file-size limit) for the advice
            let kind = match &e {
                tiff::TiffError::IoError(io) => io.kind(),
                _ => std::io::ErrorKind::Other,
            };
            Error::output(&self.path, std::io::Error::new(kind, why))
        })?;
        self.written += 1;
        Ok(())
    }

    /// Flushes and syncs the temporary file; returns its path (the writer forgets it).
    fn close_tmp(&mut self) -> Result<PathBuf> {
        self.enc = None;
        self.sink
            .with(|w| {
                w.flush()?;
                w.get_ref().sync_all()
            })
            .map_err(|e| Error::output(&self.tmp, e))?;
        Ok(std::mem::take(&mut self.tmp))
    }

    /// Checks that every plane was written, then renames the file into place.
    pub fn finish(mut self) -> Result<()> {
        let want = self.spec.shape.planes();
        if self.written != want {
            return Err(Error::invalid(format!(
                "{}: {} of {want} planes were written; nothing saved",
                self.path.display(),
                self.written
            )));
        }
        let tmp = self.close_tmp()?;
        std::fs::rename(&tmp, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::output(&self.path, e)
        })
    }
}

impl Drop for StackWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.enc = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Streams a label stack: uint16 while every label fits, switching to uint32 (rewriting the
/// planes written so far) at the first label above 65535.
pub struct LabelWriter {
    inner: StackWriter,
}

impl LabelWriter {
    pub fn create(path: &Path, spec: &WriteSpec) -> Result<LabelWriter> {
        Ok(LabelWriter {
            inner: StackWriter::create(path, spec, SampleType::U16, WriteFlavor::ImageJ)?,
        })
    }

    pub fn push_plane(&mut self, labels: &[u32]) -> Result<()> {
        if self.inner.dtype == SampleType::U16 && labels.iter().any(|&l| l > u16::MAX as u32) {
            self.widen()?;
        }
        let data = match self.inner.dtype {
            SampleType::U16 => PlaneData::U16(labels.iter().map(|&l| l as u16).collect()),
            _ => PlaneData::U32(labels.to_vec()),
        };
        self.inner.push_plane(&data)
    }

    /// Re-reads the uint16 pages written so far and starts a uint32 file with them.
    fn widen(&mut self) -> Result<()> {
        let done = self.inner.written;
        let mut wide = StackWriter::create(
            &self.inner.path,
            &self.inner.spec,
            SampleType::U32,
            WriteFlavor::ImageJ,
        )?;
        if done > 0 {
            let old = self.inner.close_tmp()?;
            let axes = Some(format!("T{done}YX"));
            let copied = StackReader::open(&old, &OpenOptions { series: 0, axes }).and_then(|r| {
                for t in 0..done {
                    let p = r.read_plane(super::PlaneIndex { t, c: 0, z: 0 })?;
                    let PlaneData::U16(v) = p.data else {
                        return Err(Error::invalid("re-read labels are not uint16"));
                    };
                    wide.push_plane(&PlaneData::U32(v.into_iter().map(u32::from).collect()))?;
                }
                Ok(())
            });
            let _ = std::fs::remove_file(&old);
            copied?;
        }
        self.inner = wide;
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        self.inner.finish()
    }
}

/// Writes a label stack (ImageJ hyperstack, uint16 when the labels fit, else uint32).
pub fn write_labels(
    path: &Path,
    spec: &WriteSpec,
    planes: impl IntoIterator<Item = Vec<u32>>,
) -> Result<()> {
    let mut w = LabelWriter::create(path, spec)?;
    for p in planes {
        w.push_plane(&p)?;
    }
    w.finish()
}

/// Writes a float32 stack (ImageJ hyperstack).
pub fn write_f32(
    path: &Path,
    spec: &WriteSpec,
    planes: impl IntoIterator<Item = Vec<f32>>,
) -> Result<()> {
    let mut w = StackWriter::create(path, spec, SampleType::F32, WriteFlavor::ImageJ)?;
    for p in planes {
        w.push_plane(&PlaneData::F32(p))?;
    }
    w.finish()
}

/// Writes a 16-bit OME-TIFF (OME-XML with PhysicalSize*, TimeIncrement, Channel names,
/// DimensionOrder XYCZT), e.g. for the synthetic-data generator.
pub fn write_ome_u16(
    path: &Path,
    spec: &WriteSpec,
    planes: impl IntoIterator<Item = Vec<u16>>,
) -> Result<()> {
    let mut w = StackWriter::create(path, spec, SampleType::U16, WriteFlavor::Ome)?;
    for p in planes {
        w.push_plane(&PlaneData::U16(p))?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imagej_description_lists_axes_and_calibration() {
        let spec = WriteSpec {
            shape: Shape {
                t: 3,
                c: 2,
                z: 1,
                y: 4,
                x: 5,
            },
            pixel_size_um: PixelSize {
                x: Some(0.5),
                y: Some(0.5),
                z: None,
            },
            time_increment_s: Some(2.0),
            channels: vec![],
        };
        let d = imagej_description(&spec);
        assert!(
            d.starts_with("ImageJ=1.11a\nimages=6\nchannels=2\nframes=3\nhyperstack=true\n"),
            "{d}"
        );
        assert!(
            d.contains("unit=micron\n") && d.contains("finterval=2\n") && !d.contains("spacing")
        );
    }
}
