//! The command line: clap definitions parsed into validated configs, then library calls.
//! Errors print as one line (`migrascope: <file>: <place>: <reason>`) with a non-zero exit.
//! No image logic lives here.

mod analyze;
mod bench;
mod devices;
mod evaluate;
mod info;
mod particles;
mod synth;
mod validate;

use clap::{Parser, Subcommand};

use crate::gpu::{BackendChoice, GpuOptions};

/// GPU engine that turns fluorescence-microscopy stacks into migrasome counts per cell.
#[derive(Parser, Debug)]
#[command(name = "migrascope", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Adapter selection shared by every GPU command.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GpuArgs {
    /// Use the adapter whose name contains this (case-insensitive); env MIGRASCOPE_DEVICE
    #[arg(long, global = true)]
    pub device: Option<String>,
    /// Force a backend: vulkan, gl, metal or dx12; env MIGRASCOPE_BACKEND
    #[arg(long, global = true)]
    pub backend: Option<String>,
}

impl GpuArgs {
    pub fn options(&self) -> crate::Result<GpuOptions> {
        Ok(GpuOptions {
            device: self.device.clone(),
            backend: self
                .backend
                .as_deref()
                .map(BackendChoice::parse)
                .transpose()?,
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Migrasome counts per cell (and cargo, released, size) for every frame of TIFF stacks
    Analyze(analyze::AnalyzeArgs),
    /// Time a pipeline over a movie (and the peer pipelines on the same file)
    Bench(bench::BenchArgs),
    /// List GPU adapters with their backend, type, driver and limits
    Devices(devices::DevicesArgs),
    /// Describe a TIFF stack: shape, type, axes, pixel size, channels (and pixel statistics)
    Info(info::InfoArgs),
    /// Threshold, label and measure particles in every plane (a GPU "Analyze Particles")
    Particles(particles::ParticlesArgs),
    /// Write a synthetic migrasome stack (OME-TIFF) with ground-truth CSV/JSON
    Synth(synth::SynthArgs),
    /// Synthesize, analyse and score many stacks: accuracy per condition, SNR and size
    Validate(validate::ValidateArgs),
    /// Score analyze's migrasomes.csv/cells.csv against synth's ground truth
    Evaluate(evaluate::EvaluateArgs),
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    crate::error::install_panic_hook();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(a) => analyze::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Devices(a) => devices::run(a),
        Command::Info(a) => info::run(a),
        Command::Particles(a) => particles::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Evaluate(a) => evaluate::run(a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("migrascope: {}", error_chain(&e));
            1
        }
    }
}

/// The folder of the peer pipelines (`bench --peers`): `benches/peers` of the working
/// directory when there is one, else of the source tree the binary was built from.
pub fn default_peers_dir() -> std::path::PathBuf {
    const PEERS: &str = "benches/peers";
    let here = std::path::PathBuf::from(PEERS);
    if here.is_dir() {
        return here;
    }
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PEERS);
    if built.is_dir() { built } else { here }
}

/// The error and its sources on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s.replace('\n', " ")
}

/// Prints per-kernel GPU times (from `Gpu::profile`) as a table on stderr.
pub fn print_profile(p: &[crate::gpu::KernelTime], frames: usize) {
    let total: f64 = p.iter().map(|k| k.total_ms).sum();
    eprintln!(
        "{:<34} {:>10} {:>12} {:>12} {:>6}",
        "kernel", "dispatches", "total ms", "ms/frame", "%"
    );
    for k in p {
        eprintln!(
            "{:<34} {:>10} {:>12.2} {:>12.3} {:>6.1}",
            k.kernel,
            k.dispatches,
            k.total_ms,
            k.total_ms / frames.max(1) as f64,
            100.0 * k.total_ms / total.max(1e-9)
        );
    }
    eprintln!(
        "{:<34} {:>10} {:>12.2} {:>12.3}",
        "all kernels",
        "",
        total,
        total / frames.max(1) as f64
    );
}
