//! `migrascope validate`: generates synthetic stacks with ground truth (`synth`), analyses them
//! through the library (`MigrasomeEngine` via `report::analysis`, with `analyze`'s defaults
//! unless `--set` / `--preset` say otherwise) and scores them (`evaluate`), for every
//! combination of realism knob, seed, condition, SNR and diameter range asked for. Prints one
//! row per run and the mean per group; `--json` prints every run as a JSON line. This is the
//! command behind the accuracy figures in the README.
//!
//! `--knobs` sweeps the synth realism knobs: each entry is one group, that knob alone at its
//! realistic level (`all`: every knob together, as `synth --realism`; `none`: the classic
//! model), printed as its own table with body Dice and false positives near bodies. The
//! default, `none` alone, prints the classic table.

use std::path::PathBuf;

use std::time::Instant;

use crate::error::{Error, Result};
use crate::evaluate::{Report, evaluate};
use crate::gpu::Gpu;
use crate::pipeline::migrasome::{Preset, load_parameters};
use crate::report::analysis::{BatchOptions, WriteOptions, analyze_batch};
use crate::synth::{Condition, Realism, SynthConfig, generate};

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// Seeds: a range A-B or a comma list
    #[arg(long, default_value = "1-10")]
    pub seeds: String,
    /// Conditions, comma-separated
    #[arg(long, default_value = "young,senescent")]
    pub conditions: String,
    /// SNR values, comma-separated
    #[arg(long, default_value = "8")]
    pub snr: String,
    /// Diameter ranges in µm, semicolon-separated MIN,MAX pairs (e.g. "0.5,3;0.3,0.6")
    #[arg(long, default_value = "0.5,3")]
    pub diameter: String,
    /// Pixel sizes in µm, comma-separated (each field is `--size` pixels wide)
    #[arg(long, default_value = "0.1")]
    pub pixel_size: String,
    /// Image size in pixels
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// Frames per stack
    #[arg(long, default_value_t = 1)]
    pub frames: usize,
    /// Keep the generated stacks and results here (default: a temporary folder, removed)
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// Analysis preset
    #[arg(long, default_value = "wga")]
    pub preset: String,
    /// Analysis parameter override section.key=value, repeatable (as `analyze --set`)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Synth realism knobs, comma-separated, one group (and table) each, that knob alone at its
    /// realistic level: body-rel, rim, puncta, filopodia, ruffles, touching, border,
    /// illumination, haze, debris; `all` = every knob together (as `synth --realism`);
    /// `none` = the classic model
    #[arg(long, default_value = "none")]
    pub knobs: String,
    /// One JSON line per run
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub gpu: super::GpuArgs,
}

/// The knobs `--knobs` names, in `Realism`'s order.
pub const KNOBS: [&str; 10] = [
    "body-rel",
    "rim",
    "puncta",
    "filopodia",
    "ruffles",
    "touching",
    "border",
    "illumination",
    "haze",
    "debris",
];

/// The realism of one `--knobs` entry: `none` (classic), `all` (every knob at its realistic
/// level) or one knob alone at its realistic level.
pub fn knob_realism(name: &str) -> Result<Realism> {
    let real = Realism::realistic();
    let mut r = Realism::default();
    match name {
        "none" => {}
        "all" => r = real,
        "body-rel" => r.body_rel = real.body_rel,
        "rim" => r.rim = real.rim,
        "puncta" => r.puncta = real.puncta,
        "filopodia" => r.filopodia = real.filopodia,
        "ruffles" => r.ruffles = real.ruffles,
        "touching" => r.touching = real.touching,
        "border" => r.border = real.border,
        "illumination" => r.illumination = real.illumination,
        "haze" => r.haze = real.haze,
        "debris" => r.debris = real.debris,
        other => {
            return Err(Error::invalid(format!(
                "--knobs: unknown knob '{other}' (expected none, all, {})",
                KNOBS.join(", ")
            )));
        }
    }
    Ok(r)
}

fn list<T: std::str::FromStr>(s: &str, sep: char, what: &str) -> Result<Vec<T>> {
    s.split(sep)
        .filter(|x| !x.trim().is_empty())
        .map(|x| {
            x.trim()
                .parse::<T>()
                .map_err(|_| Error::invalid(format!("{what}: cannot read '{x}'")))
        })
        .collect()
}

fn seeds(s: &str) -> Result<Vec<u64>> {
    if let Some((a, b)) = s.split_once('-') {
        let (a, b): (u64, u64) = (
            a.trim()
                .parse()
                .map_err(|_| Error::invalid(format!("--seeds {s}")))?,
            b.trim()
                .parse()
                .map_err(|_| Error::invalid(format!("--seeds {s}")))?,
        );
        if a > b {
            return Err(Error::invalid(format!("--seeds {s}: empty range")));
        }
        return Ok((a..=b).collect());
    }
    list(s, ',', "--seeds")
}

/// One run's settings and score.
#[derive(serde::Serialize)]
struct Run {
    knob: String,
    seed: u64,
    condition: Condition,
    snr: f64,
    diameter_um: (f64, f64),
    pixel_size_um: f64,
    report: Report,
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.filter(|x| x.is_finite()).collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

pub fn run(a: ValidateArgs) -> Result<()> {
    let seeds = seeds(&a.seeds)?;
    let conditions: Vec<Condition> = a
        .conditions
        .split(',')
        .map(Condition::parse)
        .collect::<Result<_>>()?;
    let snrs: Vec<f64> = list(&a.snr, ',', "--snr")?;
    let pixel_sizes: Vec<f64> = list(&a.pixel_size, ',', "--pixel-size")?;
    let diameters: Vec<(f64, f64)> = a
        .diameter
        .split(';')
        .map(|d| {
            let v: Vec<f64> = list(d, ',', "--diameter")?;
            match v[..] {
                [lo, hi] => Ok((lo, hi)),
                [x] => Ok((x, x)),
                _ => Err(Error::invalid(format!(
                    "--diameter '{d}': expected MIN,MAX"
                ))),
            }
        })
        .collect::<Result<_>>()?;
    let knobs: Vec<(String, Realism)> = a
        .knobs
        .split(',')
        .map(|k| k.trim().to_ascii_lowercase())
        .filter(|k| !k.is_empty())
        .map(|k| knob_realism(&k).map(|r| (k, r)))
        .collect::<Result<_>>()?;
    if knobs.is_empty() {
        return Err(Error::invalid("--knobs: no knob given"));
    }
    // the classic table unless knobs are swept
    let classic = knobs.len() == 1 && knobs[0].0 == "none";
    let preset = <Preset as clap::ValueEnum>::from_str(&a.preset, true).map_err(|_| {
        Error::invalid(format!("--preset {}: expected wga or tspan4-gfp", a.preset))
    })?;
    let (params, _) = load_parameters(preset, None, &a.set)?;
    let tmp;
    let root = match &a.keep {
        Some(k) => k.clone(),
        None => {
            tmp = TempDir::new()?;
            tmp.0.clone()
        }
    };
    let gpu = Gpu::new(&a.gpu.options()?)?;
    let mut runs: Vec<Run> = Vec::new();
    if !a.json && classic {
        println!(
            "{:<10} {:>5} {:>10} {:>6} {:>5} {:>6} {:>6} {:>6} {:>7} {:>7} {:>8} {:>8}",
            "condition",
            "snr",
            "diameter",
            "px_um",
            "seed",
            "truth",
            "found",
            "F1",
            "recall",
            "MAE",
            "cargo",
            "released"
        );
    }
    let mut settings = Vec::new();
    for &cond in &conditions {
        for &snr in &snrs {
            for &dia in &diameters {
                for &px in &pixel_sizes {
                    settings.push((cond, snr, dia, px));
                }
            }
        }
    }
    for (knob, realism) in &knobs {
        if !a.json && !classic {
            println!("\nknob: {knob}");
            print_knob_header();
        }
        for &(cond, snr, dia, px) in &settings {
            for &seed in &seeds {
                let cfg = SynthConfig {
                    seed,
                    frames: a.frames,
                    condition: cond,
                    snr,
                    size: a.size,
                    diameter_um: dia,
                    pixel_size_um: px,
                    realism: realism.clone(),
                    ..SynthConfig::default()
                };
                cfg.validate()?;
                let mut name =
                    format!("{cond:?}_snr{snr}_d{}-{}_px{px}_s{seed}", dia.0, dia.1).to_lowercase();
                if knob != "none" {
                    name = format!("{knob}_{name}");
                }
                let dir = root.join(name);
                let truth = dir.join("truth");
                let results = dir.join("results");
                generate(&cfg, &truth)?;
                analyze_batch(
                    &gpu,
                    &[truth.join("synth.ome.tif")],
                    &params,
                    &BatchOptions {
                        input: Default::default(),
                        write: WriteOptions {
                            preset,
                            qc_every: if a.keep.is_some() { 1 } else { 0 },
                            profile: false,
                        },
                        resume: false,
                        keep_going: false,
                        samples: None,
                    },
                    &results,
                    Instant::now(),
                    |_| {},
                )?
                .into_result()?;
                let report = evaluate(&truth, &results)?;
                let r = Run {
                    knob: knob.clone(),
                    seed,
                    condition: cond,
                    snr,
                    diameter_um: dia,
                    pixel_size_um: px,
                    report,
                };
                if a.json {
                    println!("{}", serde_json::to_string(&r).expect("plain data"));
                } else if classic {
                    print_classic_row(&r);
                } else {
                    print_knob_row(&r);
                }
                if a.keep.is_none() {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                runs.push(r);
            }
            if !a.json {
                let g: Vec<&Run> = runs
                    .iter()
                    .filter(|r| {
                        r.knob == *knob
                            && r.condition == cond
                            && r.snr == snr
                            && r.diameter_um == dia
                            && r.pixel_size_um == px
                    })
                    .collect();
                if classic {
                    print_classic_mean(&g);
                } else {
                    print_knob_mean(&g);
                }
            }
        }
    }
    Ok(())
}

fn opt3(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{x:.3}"))
}

fn settings_cols(r: &Run, seed: &str) -> String {
    format!(
        "{:<10} {:>5} {:>10} {:>6} {:>5}",
        format!("{:?}", r.condition).to_lowercase(),
        r.snr,
        format!("{}-{}", r.diameter_um.0, r.diameter_um.1),
        r.pixel_size_um,
        seed
    )
}

fn print_classic_row(r: &Run) {
    let p = &r.report;
    println!(
        "{} {:>6} {:>6} {:>6.3} {:>7.3} {:>7.3} {:>8} {:>8}",
        settings_cols(r, &r.seed.to_string()),
        p.truth_migrasomes,
        p.detections,
        p.f1,
        p.recall,
        p.cell_count_mae,
        opt3(p.cargo_accuracy),
        opt3(p.released_accuracy),
    );
}

fn print_classic_mean(g: &[&Run]) {
    println!(
        "{} {:>6} {:>6} {:>6.3} {:>7.3} {:>7.3} {:>8.3} {:>8.3}   <- mean of {} seeds (min F1 {:.3}, max MAE {:.3})",
        settings_cols(g[0], "all"),
        g.iter().map(|r| r.report.truth_migrasomes).sum::<usize>(),
        g.iter().map(|r| r.report.detections).sum::<usize>(),
        mean(g.iter().map(|r| r.report.f1)),
        mean(g.iter().map(|r| r.report.recall)),
        mean(g.iter().map(|r| r.report.cell_count_mae)),
        mean(g.iter().filter_map(|r| r.report.cargo_accuracy)),
        mean(g.iter().filter_map(|r| r.report.released_accuracy)),
        g.len(),
        g.iter().map(|r| r.report.f1).fold(f64::INFINITY, f64::min),
        g.iter()
            .map(|r| r.report.cell_count_mae)
            .fold(0.0, f64::max),
    );
}

/// The knob table: F1, count MAE per cell, cargo and released accuracy, body Dice, false
/// positives within 2 µm of a body per cell.
fn print_knob_header() {
    println!(
        "{:<10} {:>5} {:>10} {:>6} {:>5} {:>6} {:>6} {:>6} {:>7} {:>8} {:>8} {:>7} {:>8}",
        "condition",
        "snr",
        "diameter",
        "px_um",
        "seed",
        "truth",
        "found",
        "F1",
        "MAE",
        "cargo",
        "released",
        "dice",
        "fp_body"
    );
}

fn print_knob_row(r: &Run) {
    let p = &r.report;
    println!(
        "{} {:>6} {:>6} {:>6.3} {:>7.3} {:>8} {:>8} {:>7} {:>8}",
        settings_cols(r, &r.seed.to_string()),
        p.truth_migrasomes,
        p.detections,
        p.f1,
        p.cell_count_mae,
        opt3(p.cargo_accuracy),
        opt3(p.released_accuracy),
        opt3(p.body_dice),
        opt3(p.fp_near_body_per_cell),
    );
}

fn print_knob_mean(g: &[&Run]) {
    let m = |f: &dyn Fn(&Report) -> Option<f64>| -> String {
        let v: Vec<f64> = g.iter().filter_map(|r| f(&r.report)).collect();
        if v.is_empty() {
            "-".into()
        } else {
            format!("{:.3}", mean(v.into_iter()))
        }
    };
    println!(
        "{} {:>6} {:>6} {:>6.3} {:>7.3} {:>8} {:>8} {:>7} {:>8}   <- mean of {} seeds",
        settings_cols(g[0], "all"),
        g.iter().map(|r| r.report.truth_migrasomes).sum::<usize>(),
        g.iter().map(|r| r.report.detections).sum::<usize>(),
        mean(g.iter().map(|r| r.report.f1)),
        mean(g.iter().map(|r| r.report.cell_count_mae)),
        m(&|p| p.cargo_accuracy),
        m(&|p| p.released_accuracy),
        m(&|p| p.body_dice),
        m(&|p| p.fp_near_body_per_cell),
        g.len(),
    );
}

/// A temporary folder removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let p = std::env::temp_dir().join(format!("migrascope-validate-{}", std::process::id()));
        std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_knob_alone_at_its_realistic_level() {
        let real = Realism::realistic();
        assert_eq!(knob_realism("none").unwrap(), Realism::default());
        assert_eq!(knob_realism("all").unwrap(), real);
        let rim = knob_realism("rim").unwrap();
        assert_eq!(rim.rim, real.rim);
        assert_eq!(
            Realism {
                rim: None,
                ..rim.clone()
            },
            Realism::default()
        );
        for k in KNOBS {
            let r = knob_realism(k).unwrap();
            assert!(!r.is_off() && r != real, "{k}");
        }
        assert!(knob_realism("sparkles").is_err());
    }
}
