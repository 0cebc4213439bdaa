//! [`StackReader`]: open a TIFF once (index its pages, build the axis model), then hand out
//! any plane `(t, c, z)` from any thread. Each call borrows a `tiff` decoder from a small
//! pool; every decoder has its own file handle (or its own cursor on bytes in memory), so
//! threads never share a file position.
//! A decoder that panicked inside the `tiff` crate is dropped, and the panic becomes an error.
//!
//! Not here: parsing (`index`, `imagej`, `ome`, `layout`), the thread pool (`stream`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::index::{self, FileDecoder, Origin, PageInfo};
use super::layout::{self, PlaneLoc, Series};
use super::{OpenOptions, PlaneIndex, PlaneStream, StackInfo, decode, raw};
use crate::error::{Error, Result};
use crate::image::Plane;

/// An opened stack: its [`StackInfo`] and decoders for its planes. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct StackReader {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    /// Names the stack in errors (and matches OME `TiffData` file names).
    path: PathBuf,
    origin: Origin,
    info: StackInfo,
    series: Series,
    pages: Vec<PageInfo>,
    little_endian: bool,
    pool: Mutex<Vec<FileDecoder>>,
}

impl std::fmt::Debug for StackReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackReader")
            .field("info", &self.shared.info)
            .finish()
    }
}

impl StackReader {
    /// Opens `path`, walks its IFDs once and works out the axes of series `opts.series`.
    pub fn open(path: &Path, opts: &OpenOptions) -> Result<StackReader> {
        Self::open_origin(Origin::File(path.to_path_buf()), path, opts)
    }

    /// As [`StackReader::open`], for a whole TIFF file already in memory; `name` stands for
    /// its path in errors and in [`StackInfo::path`]. Nothing is read from disk.
    pub fn from_bytes(
        name: &Path,
        bytes: impl Into<Arc<[u8]>>,
        opts: &OpenOptions,
    ) -> Result<StackReader> {
        Self::open_origin(Origin::Memory(bytes.into()), name, opts)
    }

    fn open_origin(origin: Origin, path: &Path, opts: &OpenOptions) -> Result<StackReader> {
        // The tiff crate asserts on some malformed layouts; a panic is one more bad-file error.
        let (ix, dec, lay) = crate::error::catch_quiet(|| {
            let (ix, dec) = index::index_file(&origin, path)?;
            let lay = layout::build(path, &ix, opts.axes.as_deref())?;
            Ok::<_, Error>((ix, dec, lay))
        })
        .map_err(|p| {
            Error::format(
                path,
                "index",
                format!(
                    "the TIFF decoder failed on malformed data ({})",
                    panic_text(&*p)
                ),
            )
        })??;
        let n_series = lay.series.len();
        let series = lay.series.into_iter().nth(opts.series).ok_or_else(|| {
            Error::format(
                path,
                "--series",
                format!(
                    "series {} requested but the file has {n_series} (0..{})",
                    opts.series,
                    n_series.saturating_sub(1)
                ),
            )
        })?;
        let p0 = &ix.pages[series.page0];
        let info = StackInfo {
            path: path.to_path_buf(),
            shape: series.shape,
            dtype: series.dtype,
            axes_source: series.axes_source.clone(),
            pixel_size_um: series.pixel_size,
            time_increment_s: series.time_increment_s,
            channels: series.channels.clone(),
            metadata_source: series.sources.clone(),
            compression: index::compression_name(p0.compression),
            bigtiff: ix.bigtiff,
            ome: lay.ome,
            imagej: lay.imagej,
            pages: ix.pages.len(),
            series: opts.series,
            n_series,
        };
        Ok(StackReader {
            shared: Arc::new(Shared {
                path: path.to_path_buf(),
                origin,
                info,
                series,
                pages: ix.pages,
                little_endian: ix.little_endian,
                pool: Mutex::new(vec![dec]),
            }),
        })
    }

    pub fn info(&self) -> &StackInfo {
        &self.shared.info
    }

    /// Decodes one plane, reading only its page (or its strips/tiles).
    pub fn read_plane(&self, idx: PlaneIndex) -> Result<Plane> {
        let mut dec = self.shared.take_decoder()?;
        let out = self.shared.read_with(&mut dec, idx);
        if let Some(dec) = dec {
            self.shared.give_back(dec);
        }
        out
    }

    /// Decodes `planes` on `threads` worker threads into a bounded queue of about `capacity`
    /// planes, yielding them in the order given; memory stays flat for any movie length.
    pub fn stream(&self, planes: Vec<PlaneIndex>, threads: usize, capacity: usize) -> PlaneStream {
        PlaneStream::start(self.shared.clone(), planes, threads, capacity)
    }
}

impl Shared {
    /// A decoder from the pool, or a fresh one on a new file handle (or cursor). `None` never comes back
    /// from here; the `Option` lets a panicking decode drop its decoder.
    pub(crate) fn take_decoder(&self) -> Result<Option<FileDecoder>> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        match pooled {
            Some(d) => Ok(Some(d)),
            None => index::open_decoder(&self.origin, &self.path).map(Some),
        }
    }

    pub(crate) fn give_back(&self, dec: FileDecoder) {
        if let Ok(mut p) = self.pool.lock() {
            p.push(dec);
        }
    }

    /// Decodes `idx` with `dec` (reopening one if a previous panic dropped it).
    pub(crate) fn read_with(
        &self,
        dec: &mut Option<FileDecoder>,
        idx: PlaneIndex,
    ) -> Result<Plane> {
        let s = &self.series;
        let place = |what: String| format!("{what} (t={} c={} z={})", idx.t, idx.c, idx.z);
        if !s.shape.contains(idx) {
            return Err(Error::invalid(format!(
                "{}: plane t={} c={} z={} is outside the stack (T={} C={} Z={})",
                self.path.display(),
                idx.t,
                idx.c,
                idx.z,
                s.shape.t,
                s.shape.c,
                s.shape.z
            )));
        }
        if dec.is_none() {
            *dec = Some(index::open_decoder(&self.origin, &self.path)?);
        }
        let Some(d) = dec.as_mut() else {
            return Err(Error::invalid("no decoder"));
        };
        let loc = s.planes[s.plane_slot(idx.t, idx.c, idx.z)];
        let (w, h, dtype, le) = (s.shape.x, s.shape.y, s.dtype, self.little_endian);
        let (where_, res) = match loc {
            PlaneLoc::Page { page, sample } => {
                let p = &self.pages[page];
                let r = crate::error::catch_quiet(|| {
                    decode::decode_plane(d, p, page, sample, dtype, le)
                });
                (format!("page {page}"), r)
            }
            PlaneLoc::Raw { offset } => {
                let r = crate::error::catch_quiet(|| {
                    raw::read_contiguous(d, offset, (w, h), dtype, le)
                });
                (format!("image data at byte {offset}"), r)
            }
        };
        let data = match res {
            Ok(Ok(data)) => data,
            Ok(Err(why)) => return Err(Error::format(&self.path, place(where_), why)),
            Err(panic) => {
                *dec = None;
                let why = format!(
                    "the TIFF decoder failed on malformed data ({})",
                    panic_text(&*panic)
                );
                return Err(Error::format(&self.path, place(where_), why));
            }
        };
        Plane::new(w, h, data).map_err(|e| Error::format(&self.path, place(where_), e))
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reader_is_send_sync() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<super::StackReader>();
        send::<super::super::PlaneStream>();
    }
}
