//! Stack reading and writing: microscopy TIFF (ImageJ hyperstacks, OME-TIFF, plain multi-page,
//! BigTIFF) opened once, indexed, and handed out plane by plane `(t, c, z)`; writers for label
//! and float stacks that Fiji and napari open. Wraps the `tiff` crate; no TIFF parsing here.
//!
//! How the pieces fit (one direction):
//! - `index`: walks the IFD chain once with `tiff::decoder::Decoder`, records each page's
//!   layout and checks its strips/tiles lie inside the file; reads page 0's metadata tags.
//! - `imagej`, `ome`: parse the ImageJ description + IJMetadata, and OME-XML (quick-xml).
//! - `layout`: turns those into series: a [`Shape`], µm pixel sizes, channel names and a plane
//!   table `(t, c, z) → (page, sample)`; `axes` parses `--axes` and tifffile "shaped" JSON.
//! - `decode` (+ `raw` for what the crate cannot expand: palette pages, 10/12-bit samples,
//!   WhiteIsZero kept raw), `reader` ([`StackReader`], a pool of decoders), `stream`
//!   ([`PlaneStream`]: worker threads into bounded queues, in order).
//! - `write`: ImageJ and OME-TIFF writers, page by page, atomic (temp file + rename), on the
//!   page encoding of `encode`. `stats`: min/max/sum of a plane for `info --stats`.
//!
//! Not here: any pixel processing (see `ops`), any GPU code (see `gpu`).

mod axes;
mod decode;
mod encode;
mod frames;
mod imagej;
mod index;
mod layout;
mod ome;
mod raw;
mod reader;
mod stats;
mod stream;
mod write;

use std::path::PathBuf;

use serde::Serialize;

use crate::image::SampleType;

pub use frames::Frames;
pub use layout::MetaSources;
pub use reader::StackReader;
pub use stats::PlaneStats;
pub use stream::PlaneStream;
pub use write::{
    LabelWriter, StackWriter, WriteFlavor, WriteSpec, write_f32, write_labels, write_ome_u16,
};

/// Sizes of the five axes of a series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Shape {
    pub t: usize,
    pub c: usize,
    pub z: usize,
    pub y: usize,
    pub x: usize,
}

impl Shape {
    /// Number of 2D planes (`t * c * z`).
    pub fn planes(&self) -> usize {
        self.t * self.c * self.z
    }

    /// Every plane index in file order for ImageJ: C fastest, then Z, then T.
    pub fn plane_indices(&self) -> Vec<PlaneIndex> {
        let mut v = Vec::with_capacity(self.planes());
        for t in 0..self.t {
            for z in 0..self.z {
                for c in 0..self.c {
                    v.push(PlaneIndex { t, c, z });
                }
            }
        }
        v
    }

    /// Whether `idx` lies inside this shape.
    pub fn contains(&self, idx: PlaneIndex) -> bool {
        idx.t < self.t && idx.c < self.c && idx.z < self.z
    }
}

/// Physical pixel size in µm; `None` where the file does not say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PixelSize {
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub z: Option<f64>,
}

/// Index of one 2D plane in a series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct PlaneIndex {
    pub t: usize,
    pub c: usize,
    pub z: usize,
}

/// Options for opening a stack.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Which series (OME image / Micro-Manager position) to read; 0 is the first.
    pub series: usize,
    /// Axis order override for plain multi-page TIFFs, e.g. `ZYX` or `TCYX`.
    pub axes: Option<String>,
}

/// What a stack is: its axes, sample type, calibration and how it is stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StackInfo {
    pub path: PathBuf,
    /// Sizes of the selected series; samples of RGB/multi-sample pages count as channels.
    pub shape: Shape,
    pub dtype: SampleType,
    /// Where the axes came from: `ome`, `imagej`, `shaped` (tifffile JSON), `plain`, `override`.
    pub axes_source: String,
    pub pixel_size_um: PixelSize,
    pub time_increment_s: Option<f64>,
    /// One entry per channel (`shape.c`), the name the metadata gives or `None`.
    pub channels: Vec<Option<String>>,
    /// Where the pixel size, time increment and channel names came from.
    pub metadata_source: MetaSources,
    /// Compression of the series' first page: `none`, `lzw`, `deflate`, `packbits`, `zstd`, ...
    pub compression: String,
    pub bigtiff: bool,
    pub ome: bool,
    pub imagej: bool,
    /// Pages (IFDs) in the whole file.
    pub pages: usize,
    /// The selected series (0-based) and how many the file has.
    pub series: usize,
    pub n_series: usize,
}

impl StackInfo {
    /// The channel's name from the metadata, or `c{c}`.
    pub fn channel_name(&self, c: usize) -> String {
        match self.channels.get(c) {
            Some(Some(n)) => n.clone(),
            _ => format!("c{c}"),
        }
    }

    /// Bytes of one decoded plane.
    pub fn plane_bytes(&self) -> usize {
        self.shape.x * self.shape.y * self.dtype.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_order_is_imagej_order() {
        let s = Shape {
            t: 2,
            c: 2,
            z: 3,
            y: 1,
            x: 1,
        };
        let v = s.plane_indices();
        assert_eq!(v.len(), 12);
        assert_eq!(v[1], PlaneIndex { t: 0, c: 1, z: 0 });
        assert_eq!(v[2], PlaneIndex { t: 0, c: 0, z: 1 });
        assert_eq!(v[6], PlaneIndex { t: 1, c: 0, z: 0 });
    }
}
