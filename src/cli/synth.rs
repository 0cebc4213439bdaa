//! `migrascope synth --out DIR [...]`: writes a synthetic migrasome stack (`synth.ome.tif`)
//! and its ground truth (`truth_migrasomes.csv`, `truth_cells.csv`, `truth.json`).
//! Flags only; the model lives in `crate::synth`.

use std::path::PathBuf;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::synth::{Condition, SynthConfig, generate};

#[derive(clap::Args, Debug)]
pub struct SynthArgs {
    /// Output folder (created if needed)
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed: the same arguments give byte-identical files
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Time points (one every 300 s)
    #[arg(long, default_value_t = 1)]
    pub frames: usize,
    /// Number of cells
    #[arg(long, default_value_t = 6)]
    pub cells: usize,
    /// young (about 4 migrasomes per cell) or senescent (about 12, more cargo-positive)
    #[arg(long, default_value = "young")]
    pub condition: String,
    /// Migrasome peak above background / background noise SD
    #[arg(long, default_value_t = 8.0)]
    pub snr: f64,
    /// Pixel size in µm
    #[arg(long, default_value_t = 0.1)]
    pub pixel_size: f64,
    /// Image width and height in pixels
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// Cargo channel names, comma-separated (e.g. Tom20,IL6)
    #[arg(long, default_value = "Tom20")]
    pub cargo: String,
    /// Migrasome diameter range in µm: MIN,MAX (one value: all the same size)
    #[arg(long, default_value = "0.5,3")]
    pub diameter: String,
}

fn parse_range(s: &str) -> Result<(f64, f64)> {
    let bad = || {
        Error::invalid(format!(
            "--diameter '{s}': expected MIN,MAX in µm, e.g. 0.5,3, or one value"
        ))
    };
    let (a, b) = s.split_once(',').unwrap_or((s, s));
    let a: f64 = a.trim().parse().map_err(|_| bad())?;
    let b: f64 = b.trim().parse().map_err(|_| bad())?;
    Ok((a, b))
}

impl SynthArgs {
    pub fn config(&self) -> Result<SynthConfig> {
        let cargo: Vec<String> = if self.cargo.trim().is_empty() {
            Vec::new()
        } else {
            self.cargo
                .split(',')
                .map(|s| s.trim().to_string())
                .collect()
        };
        let cfg = SynthConfig {
            seed: self.seed,
            frames: self.frames,
            cells: self.cells,
            condition: Condition::parse(&self.condition)?,
            snr: self.snr,
            pixel_size_um: self.pixel_size,
            size: self.size,
            cargo,
            diameter_um: parse_range(&self.diameter)?,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

pub fn run(args: SynthArgs) -> Result<()> {
    let cfg = args.config()?;
    let start = Instant::now();
    let out = generate(&cfg, &args.out)?;
    eprintln!(
        "synth: {} ({} frame(s), {} channels, {} px), {} cells, {} migrasomes, truth in {} ({:.2} s)",
        out.stack.display(),
        cfg.frames,
        cfg.channel_names().len(),
        cfg.size,
        out.cells,
        out.migrasomes,
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
