//! `migrascope validate`: generates synthetic stacks with ground truth (`synth`), analyses them
//! (`analyze`, with its defaults unless `--set` / `--preset` say otherwise) and scores them
//! (`evaluate`), for every combination of seed, condition, SNR and diameter range asked for.
//! Prints one row per run and the mean per group; `--json` prints every run as a JSON line.
//! This is the command behind the accuracy figures in the README.

use std::path::PathBuf;

use clap::Parser;

use crate::error::{Error, Result};
use crate::evaluate::{Report, evaluate};
use crate::gpu::Gpu;
use crate::synth::{Condition, SynthConfig, generate};

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
    /// One JSON line per run
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub gpu: super::GpuArgs,
}

#[derive(Parser)]
struct AnalyzeCmd {
    #[command(flatten)]
    a: super::analyze::AnalyzeArgs,
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
    if !a.json {
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
                ..SynthConfig::default()
            };
            cfg.validate()?;
            let dir = root.join(
                format!("{cond:?}_snr{snr}_d{}-{}_px{px}_s{seed}", dia.0, dia.1).to_lowercase(),
            );
            let truth = dir.join("truth");
            let results = dir.join("results");
            generate(&cfg, &truth)?;
            let mut argv: Vec<String> = vec![
                "analyze".into(),
                truth.join("synth.ome.tif").to_string_lossy().into_owned(),
                "--out".into(),
                results.to_string_lossy().into_owned(),
                "--qc-every".into(),
                if a.keep.is_some() {
                    "1".into()
                } else {
                    "0".into()
                },
                "--quiet".into(),
                "--preset".into(),
                a.preset.clone(),
            ];
            for s in &a.set {
                argv.push("--set".into());
                argv.push(s.clone());
            }
            let cmd = AnalyzeCmd::try_parse_from(&argv)
                .map_err(|e| Error::invalid(e.to_string().replace('\n', " ")))?;
            super::analyze::run_on(&gpu, &cmd.a)?;
            let report = evaluate(&truth, &results)?;
            let r = Run {
                seed,
                condition: cond,
                snr,
                diameter_um: dia,
                pixel_size_um: px,
                report,
            };
            if a.json {
                println!("{}", serde_json::to_string(&r).expect("plain data"));
            } else {
                let p = &r.report;
                println!(
                    "{:<10} {:>5} {:>10} {:>6} {:>5} {:>6} {:>6} {:>6.3} {:>7.3} {:>7.3} {:>8} {:>8}",
                    format!("{cond:?}").to_lowercase(),
                    snr,
                    format!("{}-{}", dia.0, dia.1),
                    px,
                    seed,
                    p.truth_migrasomes,
                    p.detections,
                    p.f1,
                    p.recall,
                    p.cell_count_mae,
                    p.cargo_accuracy.map_or("-".into(), |x| format!("{x:.3}")),
                    p.released_accuracy
                        .map_or("-".into(), |x| format!("{x:.3}")),
                );
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
                    r.condition == cond
                        && r.snr == snr
                        && r.diameter_um == dia
                        && r.pixel_size_um == px
                })
                .collect();
            println!(
                "{:<10} {:>5} {:>10} {:>6} {:>5} {:>6} {:>6} {:>6.3} {:>7.3} {:>7.3} {:>8.3} {:>8.3}   <- mean of {} seeds (min F1 {:.3}, max MAE {:.3})",
                format!("{cond:?}").to_lowercase(),
                snr,
                format!("{}-{}", dia.0, dia.1),
                px,
                "all",
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
    }
    Ok(())
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
