//! Pipelines: chains of ops that answer a user's question for every plane of a stack.
//! `particles` is the GPU "Analyze Particles"; the migrasome analysis builds on the same ops.
//!
//! Not here: flag parsing (see `cli`), file formats (see `io`, `report`).

pub mod migrasome;
pub mod movie;
pub mod particles;
pub mod tiled;
