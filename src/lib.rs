//! migrascope: a GPU image-processing engine that turns fluorescence-microscopy stacks into
//! migrasome counts per cell.
//!
//! Data flows one way: `io` (decode planes) → `ops` on the `gpu` (WGSL kernels, each mirrored
//! by a plain-Rust reference in `cpu`) → `pipeline` (the migrasome science) → `report`
//! (CSV, JSON, TIFF, PNG). The `cli` parses flags into validated configs and calls the library.

pub mod cli;
pub mod cpu;
pub mod error;
pub mod evaluate;
pub mod gpu;
pub mod image;
pub mod io;
pub mod ops;
pub mod pipeline;
pub mod plot;
pub mod report;
pub mod stats;
pub mod synth;
pub mod track;

pub use error::{Error, Result};
