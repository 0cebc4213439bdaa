//! The one integration-test binary: a small harness (`harness`) and one module per area.
//! GPU tests run the real WGSL on every backend listed in `MIGRASCOPE_TEST_BACKENDS`
//! (default `vulkan,gl`: lavapipe and llvmpipe on a CPU-only Linux machine). A missing
//! adapter fails the test; nothing is skipped.

mod analyze;
#[cfg(unix)]
mod batch;
mod compare;
mod engine;
mod exit_codes;
mod harness;
mod io;
mod kernels;
mod masks;
mod parity;
mod report;
mod runtime;
mod shapes;
mod synth;
mod tiles;
mod tracking;
mod uptake;
