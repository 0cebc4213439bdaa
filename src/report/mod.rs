//! Reports: CSV tables, JSON summaries, overlay pictures, atomic output files and folders.
//! Every file is written completely or not at all (temporary file or folder + rename).
//!
//! Not here: TIFF writing (see `io`), any measurement (see `ops` and `pipeline`).

pub mod analysis;
mod atomic;
pub mod comparison;
pub mod fingerprint;
pub mod outdir;
pub mod overlay;
pub mod samples;
pub mod tables;
pub mod tracking;

pub use atomic::AtomicFile;
pub use outdir::ResultsDir;
