//! `migrascope analyze`: migrasome counts per cell for every frame of every file.
//! Flags → validated parameters (preset, then `--config` TOML, then `--set`) →
//! `report::analysis::analyze_batch` (each input opened, checked, analysed and committed on
//! its own into `--out`; bad inputs of a batch reported and skipped) → the closing summary
//! and the exit code (README, Commands). No logic here.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::Result;
use crate::gpu::Gpu;
use crate::pipeline::migrasome::{Preset, RoleChoices, load_parameters};
use crate::report::analysis::{
    BatchOptions, Event, FAILURES, InputOptions, WriteOptions, analyze_batch,
};
use crate::report::samples::SampleSheet;

/// The sample `analyze` runs on without arguments.
pub const SAMPLE: &str = "assets/sample_migrasomes.ome.tif";

/// The sample, from the working directory or else from the source tree it was built from.
fn sample_path() -> PathBuf {
    let here = PathBuf::from(SAMPLE);
    if here.exists() {
        return here;
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE);
    if built.exists() { built } else { here }
}

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// TIFF stacks to analyse (default: the sample in assets/)
    pub files: Vec<PathBuf>,
    /// Results folder
    #[arg(long, default_value = "migrascope-results")]
    pub out: PathBuf,
    /// Sample sheet (CSV): columns file,condition,replicate and any metadata columns; every
    /// input needs a row (matched by path or file name); the values become the last columns
    /// of cells.csv and migrasomes.csv
    #[arg(long, value_name = "CSV")]
    pub samples: Option<PathBuf>,
    /// Parameters in TOML (sections [channels], [cells], [migrasomes], [cargo], [fibers],
    /// [tracking], [uptake])
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Starting parameters for the staining
    #[arg(long, value_enum, default_value = "wga")]
    pub preset: Preset,
    /// Nuclei channel (index or name); `none` for no nuclei channel
    #[arg(long)]
    pub nuclei: Option<String>,
    /// Membrane channel where migrasomes are found (index or name)
    #[arg(long = "migrasome-channel")]
    pub migrasome_channel: Option<String>,
    /// Cargo channel (index or name), repeatable
    #[arg(long)]
    pub cargo: Vec<String>,
    /// Uptake channel (index or name): labelled puncta inside each cell body per frame,
    /// written to uptake.csv (the per-cell uptake curve) and frames.csv's uptake_puncta
    #[arg(long, value_name = "CH")]
    pub uptake: Option<String>,
    /// Pixel size in µm, when the file does not say (or to override it)
    #[arg(long = "pixel-size")]
    pub pixel_size: Option<f64>,
    /// Series (OME image / Micro-Manager position)
    #[arg(long, default_value_t = 0)]
    pub series: usize,
    /// Write a QC overlay PNG every Nth frame (0: none)
    #[arg(long = "qc-every", default_value_t = 1)]
    pub qc_every: usize,
    /// Override one parameter: section.key=value (e.g. migrasomes.diameter_max_um=2.5);
    /// repeatable
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Skip inputs whose complete results are already in --out (same file content, same
    /// parameters); analyse the rest
    #[arg(long)]
    pub resume: bool,
    /// Time every GPU kernel (timestamp queries); prints a table, adds it to summary.json
    #[arg(long)]
    pub profile: bool,
    /// No closing message
    #[arg(long, hide = true)]
    pub quiet: bool,
    #[command(flatten)]
    pub gpu: super::GpuArgs,
}

/// The progress bar (a terminal only): over the frames of a single input, over the inputs of
/// a batch.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    batch: bool,
}

impl Progress {
    fn new(inputs: usize) -> Self {
        let batch = inputs > 1;
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None, batch };
        }
        let (len, unit) = if batch {
            (inputs as u64, "inputs")
        } else {
            (0, "frames")
        };
        let pb = indicatif::ProgressBar::new(len);
        pb.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{bar:30}} {{pos}}/{{len}} {unit}  {{per_sec}}  ETA {{eta}}  {{msg}}"
            ))
            .expect("valid template"),
        );
        Progress {
            bar: Some(pb),
            batch,
        }
    }
    fn event(&self, ev: &Event) {
        let Some(p) = &self.bar else { return };
        match *ev {
            Event::Started { frames, .. } if !self.batch => p.set_length(frames as u64),
            Event::Started { .. } => {}
            Event::Frame { name, t, result } => {
                p.set_message(format!(
                    "{name} t={t}: {} cells, {} migrasomes",
                    result.cells.len(),
                    result.migrasomes.len()
                ));
                if !self.batch {
                    p.inc(1);
                }
            }
            Event::Done { .. } | Event::Resumed { .. } | Event::Failed(_) if self.batch => p.inc(1),
            Event::Done { .. } | Event::Resumed { .. } | Event::Failed(_) => {}
        }
    }
    /// A line on stderr, above the bar.
    fn line(&self, s: String) {
        match &self.bar {
            Some(p) => p.suspend(|| eprintln!("{s}")),
            None => eprintln!("{s}"),
        }
    }
    fn done(&self) {
        if let Some(p) = &self.bar {
            p.finish_and_clear();
        }
    }
}

/// Runs `analyze`; returns the exit code of a run that went through its inputs (0, or 1 when
/// some inputs of a batch failed), or the error that ended it.
pub fn run(a: AnalyzeArgs) -> Result<i32> {
    let files = if a.files.is_empty() {
        vec![sample_path()]
    } else {
        a.files.clone()
    };
    let samples = match &a.samples {
        Some(p) => Some(SampleSheet::read(p)?.match_inputs(&files)?),
        None => None,
    };
    let gpu = Gpu::new(&a.gpu.options()?)?;
    let started = Instant::now();
    let (params, toml_channels) = load_parameters(a.preset, a.config.as_deref(), &a.set)?;
    if a.profile && !gpu.enable_profiling() {
        eprintln!(
            "migrascope: --profile: this adapter has no timestamp queries; timing wall-clock only"
        );
    }
    let batch = files.len() > 1;
    let progress = Progress::new(files.len());
    let report = analyze_batch(
        &gpu,
        &files,
        &params,
        &BatchOptions {
            input: InputOptions {
                series: a.series,
                roles: RoleChoices {
                    nuclei: a.nuclei.clone(),
                    migrasomes: a.migrasome_channel.clone(),
                    cargo: a.cargo.clone(),
                    uptake: a.uptake.clone(),
                },
                toml_channels,
                pixel_size: a.pixel_size,
            },
            write: WriteOptions {
                preset: a.preset,
                qc_every: a.qc_every,
                profile: a.profile,
            },
            resume: a.resume,
            keep_going: batch,
            samples,
        },
        &a.out,
        started,
        |ev| {
            progress.event(&ev);
            if let Event::Failed(f) = ev {
                progress.line(format!("migrascope: {}", f.message));
            }
        },
    )?;
    progress.done();
    let done = report.done();
    if let Some(e) = report.stopped {
        if done > 0 {
            eprintln!(
                "migrascope: stopped after {done} of {} input(s); their results are kept in {} \
                 (`--resume` goes on from there)",
                report.total,
                a.out.display()
            );
        }
        return Err(e);
    }
    if a.profile {
        super::print_profile(&report.profile, report.frames);
    }
    if !report.failed.is_empty() {
        let names: Vec<String> = report
            .failed
            .iter()
            .map(|f| f.file.display().to_string())
            .collect();
        eprintln!(
            "migrascope: {} of {} input(s) failed and were skipped (see {}): {}",
            report.failed.len(),
            report.total,
            a.out.join(FAILURES).display(),
            names.join(", ")
        );
    }
    if !a.quiet {
        let skipped = if report.resumed.is_empty() {
            String::new()
        } else {
            format!("; skipped {} input(s) already done", report.resumed.len())
        };
        eprintln!(
            "migrascope: {} frame(s) analysed in {:.1} s{skipped}; results in {}",
            report.frames,
            report.wall_s,
            report.dest.display()
        );
    }
    Ok(match report.failed.first() {
        None => super::exit::DONE,
        Some(_) if done > 0 => super::exit::SOME_INPUTS_FAILED,
        Some(f) => f.exit_code,
    })
}
