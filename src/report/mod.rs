//! Reports: CSV and JSON writers, atomic output files, statistics, overlay pictures.
//! Every file is written completely or not at all (temporary file + rename).
//!
//! Not here: TIFF writing (see `io`), any measurement (see `ops` and `pipeline`).

mod atomic;

pub use atomic::AtomicFile;
