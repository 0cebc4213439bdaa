//! Stack reading and writing: microscopy TIFF (ImageJ hyperstacks, OME-TIFF, plain multi-page,
//! BigTIFF) opened once, indexed, and handed out plane by plane `(t, c, z)`; writers for label
//! and float stacks that Fiji and napari open. Wraps the `tiff` crate; no TIFF parsing here.
//!
//! Not here: any pixel processing (see `ops`), any GPU code (see `gpu`).

use serde::Serialize;

/// Sizes of the five axes of a series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Shape {
    pub t: usize,
    pub c: usize,
    pub z: usize,
    pub y: usize,
    pub x: usize,
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
