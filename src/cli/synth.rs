//! `migrascope synth --out DIR [...]`: writes a synthetic migrasome stack (`synth.ome.tif`)
//! and its ground truth (`truth_migrasomes.csv`, `truth_cells.csv`, `truth.json`,
//! `truth_bodies.tif`; with `--dynamics` also `truth_events.csv`; with `--uptake-channel`
//! also `truth_uptake.csv`).
//! Flags only; the model lives in `crate::synth`.

use std::path::PathBuf;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::synth::{Condition, Dynamics, Realism, SynthConfig, generate};

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
    /// Turn on everything real WGA / TSPAN4-GFP images hold besides migrasomes, at realistic
    /// levels (body-rel 0.2,3; rim 2; puncta 6; filopodia 8; ruffles 1; touching 0.3;
    /// border 1; illumination 0.2; haze 0.3; debris 10). The flags below override single
    /// knobs; without --realism each is off unless given.
    #[arg(long)]
    pub realism: bool,
    /// Cell body interior brightness, MIN,MAX × a migrasome's peak, log-uniform per cell
    /// (default: 0.3 for every cell)
    #[arg(long, value_name = "MIN,MAX")]
    pub body_rel: Option<String>,
    /// Plasma-membrane rim at the body edge: X × the interior, 0.3-1 µm wide (default: a
    /// faint additive rim)
    #[arg(long, value_name = "X")]
    pub rim: Option<f64>,
    /// Golgi and endocytic-vesicle puncta per cell (mean; 0.5-2 µm, up to a migrasome's
    /// brightness, inside the body)
    #[arg(long, value_name = "N")]
    pub puncta: Option<f64>,
    /// Filopodia per cell (mean; 0.1-0.3 µm wide, 1-10 µm long, 60% with a bright tip)
    #[arg(long, value_name = "N")]
    pub filopodia: Option<f64>,
    /// Lamellipodia / ruffles: bright irregular bands at the front edge, X × strength (0: none)
    #[arg(long, value_name = "X")]
    pub ruffles: Option<f64>,
    /// Fraction of cells placed in contact with a neighbour (0-1)
    #[arg(long, value_name = "FRACTION")]
    pub touching: Option<f64>,
    /// Cells cut by the image border (nucleus centre inside the image)
    #[arg(long, value_name = "N")]
    pub border: Option<usize>,
    /// Smooth uneven illumination, 1 ± X (on top of the vignette)
    #[arg(long, value_name = "X")]
    pub illumination: Option<f64>,
    /// Out-of-focus haze: X × the signal blurred by 3 µm, added
    #[arg(long, value_name = "X")]
    pub haze: Option<f64>,
    /// Dim debris blobs per cell (mean; 0.4-4 µm, 0.05-0.3 × a migrasome's peak)
    #[arg(long, value_name = "N")]
    pub debris: Option<f64>,
    /// Live-cell movie dynamics at realistic levels (release 0.4; drift 0.05; disappear 0.15;
    /// uptake 0.3; blink 0.05; encounters 2), with exact track and event truth
    /// (truth_migrasomes.csv gains track_id and visible; truth_events.csv). The flags below
    /// override single knobs; without --dynamics each is off unless given. Needs --frames ≥ 2.
    #[arg(long)]
    pub dynamics: bool,
    /// Fraction of attached migrasomes whose fiber link breaks during the movie (then drift)
    #[arg(long, value_name = "FRACTION")]
    pub release: Option<f64>,
    /// Brownian drift of released migrasomes: step SD in µm per frame and axis
    #[arg(long, value_name = "UM")]
    pub drift: Option<f64>,
    /// Fraction of migrasomes that disappear (rupture) before the last frame
    #[arg(long, value_name = "FRACTION")]
    pub disappear: Option<f64>,
    /// Fraction of released migrasomes within 15 µm of their body taken up by it
    #[arg(long, value_name = "FRACTION")]
    pub uptake: Option<f64>,
    /// One more channel, GFP, after the others: the migrasomes taken up (--uptake) and 30% of
    /// the other released ones are labelled; a taken-up one stays as a dimmed punctum inside
    /// its cell's body; truth_uptake.csv counts the puncta inside each cell per frame
    #[arg(long = "uptake-channel")]
    pub uptake_channel: bool,
    /// Per-frame probability that a migrasome blinks (one frame dimmed below detection)
    #[arg(long, value_name = "P")]
    pub blink: Option<f64>,
    /// Pairs of released migrasomes made to pass 1.5-2.5 µm apart
    #[arg(long, value_name = "N")]
    pub encounters: Option<usize>,
}

fn parse_range(flag: &str, s: &str, example: &str) -> Result<(f64, f64)> {
    let bad = || {
        Error::invalid(format!(
            "{flag} '{s}': expected MIN,MAX, e.g. {example}, or one value"
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
            diameter_um: parse_range("--diameter", &self.diameter, "0.5,3 (µm)")?,
            realism: self.realism()?,
            dynamics: self.dynamics(),
            uptake_channel: self.uptake_channel,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

impl SynthArgs {
    /// `--dynamics` levels (or none), with the single-knob flags on top.
    fn dynamics(&self) -> Dynamics {
        let mut d = if self.dynamics {
            Dynamics::realistic()
        } else {
            Dynamics::default()
        };
        for (dst, v) in [
            (&mut d.release, self.release),
            (&mut d.drift, self.drift),
            (&mut d.disappear, self.disappear),
            (&mut d.uptake, self.uptake),
            (&mut d.blink, self.blink),
        ] {
            if let Some(v) = v {
                *dst = v;
            }
        }
        if let Some(n) = self.encounters {
            d.encounters = n;
        }
        d
    }

    /// `--realism` levels (or the classic defaults), with the single-knob flags on top.
    fn realism(&self) -> Result<Realism> {
        let mut r = if self.realism {
            Realism::realistic()
        } else {
            Realism::default()
        };
        if let Some(s) = &self.body_rel {
            r.body_rel = Some(parse_range("--body-rel", s, "0.2,3")?);
        }
        if let Some(x) = self.rim {
            r.rim = Some(x);
        }
        let set = |dst: &mut f64, v: Option<f64>| {
            if let Some(v) = v {
                *dst = v;
            }
        };
        set(&mut r.puncta, self.puncta);
        set(&mut r.filopodia, self.filopodia);
        set(&mut r.ruffles, self.ruffles);
        set(&mut r.touching, self.touching);
        set(&mut r.illumination, self.illumination);
        set(&mut r.haze, self.haze);
        set(&mut r.debris, self.debris);
        if let Some(n) = self.border {
            r.border = n;
        }
        Ok(r)
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
