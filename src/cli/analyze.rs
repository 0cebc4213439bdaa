//! `migrascope analyze`: migrasome counts per cell for every frame of every file.
//! Flags → validated parameters (preset, then `--config` TOML, then `--set`) → the inputs
//! opened and checked (`report::analysis::open_inputs`) → one `MigrasomeEngine` per image,
//! its results written by `report::analysis::write_analysis` (tables, label stacks, QC
//! pictures, `summary.json` in `--out`, written completely or not at all). No logic here.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::Result;
use crate::gpu::Gpu;
use crate::pipeline::migrasome::{Preset, RoleChoices, load_parameters};
use crate::report::analysis::{InputOptions, WriteOptions, open_inputs, write_analysis};

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
    /// Parameters in TOML (sections [channels], [cells], [migrasomes], [cargo], [fibers])
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
    /// Time every GPU kernel (timestamp queries); prints a table, adds it to summary.json
    #[arg(long)]
    pub profile: bool,
    /// No closing message
    #[arg(long, hide = true)]
    pub quiet: bool,
    #[command(flatten)]
    pub gpu: super::GpuArgs,
}

struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(total: u64) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let pb = indicatif::ProgressBar::new(total);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} frames  {per_sec}  ETA {eta}  {msg}",
            )
            .expect("valid template"),
        );
        Progress(Some(pb))
    }
    fn step(&self, msg: String) {
        if let Some(p) = &self.0 {
            p.set_message(msg);
            p.inc(1);
        }
    }
    fn done(&self) {
        if let Some(p) = &self.0 {
            p.finish_and_clear();
        }
    }
}

pub fn run(a: AnalyzeArgs) -> Result<()> {
    let gpu = Gpu::new(&a.gpu.options()?)?;
    let started = Instant::now();
    let files = if a.files.is_empty() {
        vec![sample_path()]
    } else {
        a.files.clone()
    };
    let (params, toml_channels) = load_parameters(a.preset, a.config.as_deref(), &a.set)?;
    let inputs = open_inputs(
        &gpu,
        &files,
        &params,
        &InputOptions {
            series: a.series,
            roles: RoleChoices {
                nuclei: a.nuclei.clone(),
                migrasomes: a.migrasome_channel.clone(),
                cargo: a.cargo.clone(),
            },
            toml_channels,
            pixel_size: a.pixel_size,
        },
    )?;
    if a.profile && !gpu.enable_profiling() {
        eprintln!(
            "migrascope: --profile: this adapter has no timestamp queries; timing wall-clock only"
        );
    }
    let total_frames: usize = inputs.iter().map(|i| i.info.shape.t * i.info.shape.z).sum();
    let progress = Progress::new(total_frames as u64);
    let written = write_analysis(
        &gpu,
        &inputs,
        &params,
        &WriteOptions {
            preset: a.preset,
            qc_every: a.qc_every,
            profile: a.profile,
        },
        &a.out,
        started,
        |name, t, f| {
            progress.step(format!(
                "{name} t={t}: {} cells, {} migrasomes",
                f.cells.len(),
                f.migrasomes.len()
            ))
        },
    )?;
    progress.done();
    if a.profile {
        super::print_profile(&written.profile, written.frames);
    }
    if !a.quiet {
        eprintln!(
            "migrascope: {} frame(s) analysed in {:.1} s; results in {}",
            written.frames,
            written.wall_s,
            written.dest.display()
        );
    }
    Ok(())
}
