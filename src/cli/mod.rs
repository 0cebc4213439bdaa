//! The command line: clap definitions parsed into validated configs, then library calls.
//! Errors print as one line (`migrascope: <file>: <place>: <reason>`) with the exit code of
//! their kind ([`exit`]).
//! No image logic lives here.

mod analyze;
mod bench;
mod compare;
mod devices;
mod evaluate;
mod info;
mod particles;
mod synth;
mod validate;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::error::Error;
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
    /// Compare conditions of analyze results (sample sheet): statistics per metric
    Compare(compare::CompareArgs),
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

/// The process exit codes (README, Commands).
pub mod exit {
    /// Everything was done.
    pub const DONE: i32 = 0;
    /// Some inputs of a batch failed (reported, skipped), the others were done.
    pub const SOME_INPUTS_FAILED: i32 = 1;
    /// Bad flags, configuration file or `--set` (clap's own errors exit 2 too).
    pub const USAGE: i32 = 2;
    /// An input could not be read or is not supported.
    pub const INPUT: i32 = 3;
    /// No usable GPU, or the GPU failed, was lost or ran out of memory.
    pub const GPU: i32 = 4;
    /// An output could not be written.
    pub const OUTPUT: i32 = 5;
}

/// What the error classification needs to know of the command line: the configuration
/// sources (their errors are usage errors) and the outputs (I/O errors there are output
/// errors, whatever code path raised them).
#[derive(Default)]
struct Sources {
    config: Vec<PathBuf>,
    outputs: Vec<PathBuf>,
    tiles: bool,
}

impl Sources {
    fn of(c: &Command) -> Sources {
        let mut s = Sources {
            config: vec![PathBuf::from("--set")],
            ..Default::default()
        };
        match c {
            Command::Analyze(a) => {
                s.config.extend(a.config.iter().cloned());
                s.config.extend(a.samples.iter().cloned());
                s.outputs.push(a.out.clone());
            }
            Command::Synth(a) => s.outputs.push(a.out.clone()),
            Command::Particles(a) => {
                s.outputs.extend(a.labels.iter().chain(&a.csv).cloned());
                s.tiles = true;
            }
            Command::Validate(a) => s.outputs.extend(a.keep.iter().cloned()),
            Command::Compare(a) => s.outputs.extend(a.out.iter().cloned()),
            _ => {}
        }
        s
    }

    fn is_output(&self, path: &Path) -> bool {
        self.outputs.iter().any(|o| {
            // inside an output folder, or a file's temporary sibling (`.<name>.<pid>.tmp`)
            path.starts_with(o)
                || (path.parent() == o.parent()
                    && o.file_name().is_some_and(|n| {
                        path.file_name()
                            .is_some_and(|p| p.to_string_lossy().contains(&*n.to_string_lossy()))
                    }))
        })
    }

    /// The exit code of `e` (see [`exit`]).
    fn exit_code(&self, e: &Error) -> i32 {
        match e {
            Error::Invalid(_) => exit::USAGE,
            Error::Io { path, .. } | Error::Format { path, .. } if self.config.contains(path) => {
                exit::USAGE
            }
            Error::Io { path, .. } if self.is_output(path) => exit::OUTPUT,
            Error::Output { .. } => exit::OUTPUT,
            Error::Io { .. } | Error::Format { .. } => exit::INPUT,
            Error::Gpu(_) | Error::Kernel { .. } => exit::GPU,
        }
    }

    /// What to try, appended to a GPU error's line (or a full disk's).
    fn advice(&self, e: &Error) -> &'static str {
        let msg = match e {
            Error::Gpu(m) => m.to_lowercase(),
            Error::Kernel { msg, .. } => msg.to_lowercase(),
            Error::Output { source, .. } | Error::Io { source, .. }
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::StorageFull
                        | std::io::ErrorKind::FileTooLarge
                        | std::io::ErrorKind::QuotaExceeded
                ) =>
            {
                return " (the disk is full or a file-size limit was reached: free space or \
                        choose another output)";
            }
            _ => return "",
        };
        if msg.contains("memory") || msg.contains("exceeds") || msg.contains("too large") {
            if self.tiles {
                " (lower --max-gpu-memory so frames are cut into smaller tiles, or pick a \
                 larger GPU with --device; `migrascope devices` lists them)"
            } else {
                " (crop or bin the image, or pick a larger GPU with --device; `migrascope \
                 devices` lists them)"
            }
        } else if msg.contains("lost") {
            " (the GPU was lost, e.g. a driver reset: run again)"
        } else if msg.contains("no gpu adapter") {
            " (`migrascope devices` lists what wgpu sees)"
        } else {
            ""
        }
    }
}

/// Runs the command line; returns the process exit code (see [`exit`]).
pub fn main() -> i32 {
    crate::error::install_panic_hook();
    let cli = Cli::parse();
    let sources = Sources::of(&cli.command);
    let result = match cli.command {
        Command::Analyze(a) => analyze::run(a),
        Command::Bench(a) => bench::run(a).map(|()| exit::DONE),
        Command::Compare(a) => compare::run(a).map(|()| exit::DONE),
        Command::Devices(a) => devices::run(a).map(|()| exit::DONE),
        Command::Info(a) => info::run(a).map(|()| exit::DONE),
        Command::Particles(a) => particles::run(a).map(|()| exit::DONE),
        Command::Synth(a) => synth::run(a).map(|()| exit::DONE),
        Command::Validate(a) => validate::run(a).map(|()| exit::DONE),
        Command::Evaluate(a) => evaluate::run(a).map(|()| exit::DONE),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("migrascope: {}{}", error_chain(&e), sources.advice(&e));
            sources.exit_code(&e)
        }
    }
}

/// The folder of the peer pipelines (`bench --peers`): `benches/peers` of the working
/// directory when there is one, else of the source tree the binary was built from.
pub fn default_peers_dir() -> PathBuf {
    const PEERS: &str = "benches/peers";
    let here = PathBuf::from(PEERS);
    if here.is_dir() {
        return here;
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join(PEERS);
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
