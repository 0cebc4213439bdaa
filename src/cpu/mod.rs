//! CPU references: each file mirrors `shaders/<family>.wgsl` with the same name, the same
//! inputs and the same outputs, written as plain loops so the two read side by side. Tests run
//! both on random inputs; integer outputs must be identical, float outputs within a stated
//! tolerance. Production code never calls these.

pub mod expand;
pub mod gaussian;
pub mod histogram;
pub mod label;
pub mod line;
pub mod logic;
pub mod measure;
pub mod moments;
pub mod morphology;
pub mod peaks;
pub mod raw;
pub mod reduce;
pub mod resample;
pub mod threshold;
