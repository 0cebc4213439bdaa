//! The migrasome analysis (Liu et al., Life Medicine 2023; see the README): cells from nuclei and membrane,
//! migrasomes as small bright extracellular spots of the right size in µm, cargo scored
//! against a robust local background, released versus attached via retraction fibers, each
//! migrasome assigned to the territory holding its centroid. `config` holds the parameters
//! (µm), `settings` loads them (preset, TOML, overrides), `roles` settles channel roles and
//! pixel size from a stack's metadata, `frame` is the GPU chain for one frame, `engine` runs
//! it over a stream of frames and `stats` sums an image up.

pub mod config;
pub mod engine;
pub mod frame;
pub mod illumination;
pub mod plateau;
pub mod roles;
pub mod settings;
pub mod shape;
pub mod stats;

pub use config::{AnalyzeParams, Preset, PxParams};
pub use engine::MigrasomeEngine;
pub use frame::{
    Capacities, CargoCall, Cell, CellUptake, FrameKept, FrameLabels, FrameResult, FrameStage1,
    FrameStage2, FrameUptake, LocalBackground, Migrasome, Prev, Punctum, Rejected, Roles,
    Thresholds, analyze_frame, back_prevs, begin_frame, continue_frame, finish_frame,
    finish_frame_kept, refinish, respot,
};
pub use roles::{RoleChoices, resolve_channel, resolve_pixel_size, resolve_roles};
pub use settings::{load_parameters, parameters_from_text};
pub use stats::{ImageTotals, PerCell};
