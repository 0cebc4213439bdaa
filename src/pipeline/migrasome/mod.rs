//! The migrasome analysis (see `../shared/SCIENCE.md`): cells from nuclei and membrane,
//! migrasomes as small bright extracellular spots of the right size in µm, cargo scored
//! against a robust local background, released versus attached via retraction fibers, each
//! migrasome assigned to the territory holding its centroid. `config` holds the parameters
//! (µm), `frame` the GPU chain for one frame.

pub mod config;
pub mod frame;
pub mod illumination;
pub mod shape;

pub use config::{AnalyzeParams, Preset, PxParams};
pub use frame::{
    Capacities, Cell, FrameLabels, FrameResult, FrameStage1, FrameStage2, Migrasome, Rejected,
    Roles, Thresholds, analyze_frame, begin_frame, continue_frame, finish_frame,
};
