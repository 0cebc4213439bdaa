//! `migrascope bench`: the peers' pipeline (or the full analysis) over a movie, timed end to
//! end: frames/s, megapixels/s, per-stage GPU time (timestamp queries where the adapter has
//! them) and host time, peak RSS, the adapter; `--peers` runs `benches/peers/*_pipeline.py`
//! on the same file in the same run and prints the speed ratios and whether counts agree.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::gpu::{Gpu, KernelTime};
use crate::io::{Frames, OpenOptions, StackReader};
use crate::ops::threshold::Method;
use crate::pipeline::migrasome::{AnalyzeParams, MigrasomeEngine, Preset, Roles};
use crate::pipeline::particles::{ParticlesConfig, ParticlesEngine};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchPipeline {
    /// The peers' steps: blur 1.5, Gaussian background 20 subtracted, Otsu, 8-connected
    /// labels, per-label area, centroid and sum of channel 1
    Particles,
    /// The full migrasome analysis (channel 0 membrane, channel 1 cargo, no nuclei)
    Analyze,
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value = "particles")]
    pub pipeline: BenchPipeline,
    /// Frames of the generated movie
    #[arg(long, default_value_t = 20)]
    pub frames: usize,
    /// Width and height of the generated movie
    #[arg(long, default_value_t = 2048)]
    pub size: usize,
    /// Seed of the generated movie
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// A TCYX movie to use instead of generating one (e.g. gen_movie.py's movie_raw.tif)
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Also run the peer pipelines (python3 benches/peers/*_pipeline.py) on the same file
    #[arg(long)]
    pub peers: bool,
    /// Folder of the peer scripts
    #[arg(long, default_value_os_t = super::default_peers_dir())]
    pub peers_dir: PathBuf,
    /// Python interpreter for the peers
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// One JSON line instead of the table
    #[arg(long)]
    pub json: bool,
    /// No per-stage GPU timing (timestamp queries)
    #[arg(long)]
    pub no_profile: bool,
    #[command(flatten)]
    pub gpu: super::GpuArgs,
}

/// Peak resident set size of this process, MB (VmHWM).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// GPU kernel times grouped into the peers' stage names.
fn stages(profile: &[KernelTime], frames: usize) -> Value {
    let stage = |k: &str| -> &'static str {
        match k.split("::").next().unwrap_or("") {
            "convert" => "convert",
            "gaussian" => "blur+background",
            "elementwise" => "subtract",
            "reduce" | "histogram" => "otsu",
            "threshold" => "binarize",
            "label" | "label_final" | "scan" => "label",
            "measure" | "relabel" => "measure",
            _ => "other",
        }
    };
    let mut m = serde_json::Map::new();
    for k in profile {
        let e = m.entry(stage(&k.kernel)).or_insert(json!(0.0));
        *e = json!(e.as_f64().unwrap_or(0.0) + k.total_ms / frames.max(1) as f64);
    }
    Value::Object(m)
}

fn run_peer(a: &BenchArgs, script: &str, movie: &std::path::Path) -> Result<Value> {
    let path = a.peers_dir.join(script);
    let out = std::process::Command::new(&a.python)
        .arg(&path)
        .arg(movie)
        .output()
        .map_err(|e| Error::io(&path, e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.trim_start().starts_with('{'));
    match (out.status.success(), line) {
        (true, Some(l)) => serde_json::from_str(l).map_err(|e| Error::format(&path, "output", e)),
        _ => Err(Error::format(
            &path,
            "run",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("failed")
                .to_string(),
        )),
    }
}

pub fn run(a: BenchArgs) -> Result<()> {
    let tmp = std::env::temp_dir().join(format!("migrascope-bench-{}", std::process::id()));
    let movie = match &a.input {
        Some(p) => p.clone(),
        None => {
            std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
            let p = tmp.join("movie.tif");
            eprintln!(
                "bench: making a {}-frame {}x{} movie (seed {})",
                a.frames, a.size, a.size, a.seed
            );
            crate::pipeline::movie::make_movie(&p, a.seed, a.frames, a.size)?;
            p
        }
    };
    let result = bench(&a, &movie);
    if a.input.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn bench(a: &BenchArgs, movie: &std::path::Path) -> Result<()> {
    let gpu = Gpu::new(&a.gpu.options()?)?;
    let timed = !a.no_profile && gpu.enable_profiling();
    let reader = StackReader::open(movie, &OpenOptions::default())?;
    let sh = reader.info().shape;
    if sh.c < 2 {
        return Err(Error::format(
            movie,
            "shape",
            "bench needs two channels (TCYX)",
        ));
    }
    let frames_n = sh.t * sh.z;
    let mut counts: Vec<usize> = Vec::with_capacity(frames_n);
    let mut thresholds: Vec<f64> = Vec::new();
    let started = Instant::now();
    let host = match a.pipeline {
        BenchPipeline::Particles => {
            let cfg = ParticlesConfig {
                channel: 0,
                sigma: 1.5,
                background: 20.0,
                threshold: Method::Otsu,
                connectivity: 8,
                ..Default::default()
            };
            let mut engine = ParticlesEngine::new(&gpu, &cfg, false)?;
            engine.run(Frames::all(&reader), |_, r| {
                counts.push(r.objects.len());
                thresholds.push(r.threshold);
                Ok(())
            })?;
            serde_json::to_value(engine.host).expect("plain data")
        }
        BenchPipeline::Analyze => {
            // channel 0 membrane, channel 1 cargo, no nuclei, 0.1 µm pixels, WGA preset;
            // results stay in memory (no tables or label stacks are written)
            let roles = Roles {
                nuclei: None,
                membrane: 0,
                cargo: vec![1],
                uptake: None,
            };
            let params = AnalyzeParams::preset(Preset::Wga);
            let mut engine = MigrasomeEngine::new(&gpu, &params, roles, 0.1)?;
            engine.run(Frames::all(&reader), |_, f, _| {
                counts.push(f.migrasomes.len());
                Ok(())
            })?;
            serde_json::to_value(engine.host).expect("plain data")
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let profile = gpu.profile();
    let gpu_ms: f64 = profile.iter().map(|k| k.total_ms).sum();
    let mpx = (sh.x * sh.y) as f64 / 1e6;
    let adapter = gpu.adapter();
    let mut line = json!({
        "pipeline": format!("{:?}", a.pipeline).to_lowercase(),
        "file": movie,
        "frames": frames_n,
        "shape": sh,
        "frames_per_s": frames_n as f64 / wall,
        "megapixels_per_s": frames_n as f64 * mpx / wall,
        "wall_s": wall,
        "peak_rss_mb": peak_rss_mb(),
        "adapter": adapter.name,
        "backend": adapter.backend,
        "device_type": adapter.device_type,
        "gpu_timestamps": timed,
        "gpu_busy_share": if timed { json!((gpu_ms / 1e3 / wall).min(1.0)) } else { Value::Null },
        "stages": stages(&profile, frames_n),
        "host": host,
        "counts": counts,
        "thresholds": thresholds,
    });
    let mut peers = Vec::new();
    if a.peers {
        for script in ["skimage_pipeline.py", "cv2_pipeline.py", "cle_pipeline.py"] {
            match run_peer(a, script, movie) {
                Ok(v) => peers.push((script, v)),
                Err(e) => eprintln!("bench: peer {script}: {}", super::error_chain(&e)),
            }
        }
        let ours = frames_n as f64 / wall;
        line["peers"] = Value::Array(
            peers
                .iter()
                .map(|(s, v)| {
                    let fps = v["fps_e2e"].as_f64().unwrap_or(f64::NAN);
                    let their: Vec<usize> = v["counts"]
                        .as_array()
                        .map(|c| {
                            c.iter()
                                .filter_map(|x| x.as_u64().map(|u| u as usize))
                                .collect()
                        })
                        .unwrap_or_default();
                    let diff: Vec<i64> = their
                        .iter()
                        .zip(&counts)
                        .map(|(t, o)| *o as i64 - *t as i64)
                        .collect();
                    json!({"tool": v["tool"], "script": s, "fps_e2e": fps, "ratio": ours / fps,
                           "counts_equal": their == counts, "count_diff": diff})
                })
                .collect(),
        );
    }
    if a.json {
        println!("{line}");
        return Ok(());
    }
    println!(
        "adapter     {} ({}, {})",
        adapter.name, adapter.backend, adapter.device_type
    );
    println!(
        "movie       {} ({} frames, {} channels, {}x{})",
        movie.display(),
        frames_n,
        sh.c,
        sh.x,
        sh.y
    );
    println!(
        "speed       {:.3} frames/s, {:.1} megapixels/s, {:.2} s in all, peak RSS {:.0} MB",
        frames_n as f64 / wall,
        frames_n as f64 * mpx / wall,
        wall,
        peak_rss_mb()
    );
    if timed {
        println!(
            "GPU busy    {:.0}% of the wall time",
            100.0 * (gpu_ms / 1e3 / wall).min(1.0)
        );
        if let Some(m) = line["stages"].as_object() {
            for (k, v) in m {
                println!(
                    "  {k:<16} {:>9.2} ms/frame (GPU)",
                    v.as_f64().unwrap_or(0.0)
                );
            }
        }
    }
    if !line["host"].is_null() {
        println!("host        {}", line["host"]);
    }
    println!("counts      {:?}", counts);
    if let Some(ps) = line["peers"].as_array() {
        println!(
            "{:<12} {:>10} {:>14} {:>14}",
            "peer", "frames/s", "ours / theirs", "counts equal"
        );
        for p in ps {
            println!(
                "{:<12} {:>10.3} {:>14.2} {:>14}",
                p["tool"].as_str().unwrap_or("?"),
                p["fps_e2e"].as_f64().unwrap_or(f64::NAN),
                p["ratio"].as_f64().unwrap_or(f64::NAN),
                if p["counts_equal"].as_bool() == Some(true) {
                    "yes".to_string()
                } else {
                    format!("no {}", p["count_diff"])
                }
            );
        }
    }
    Ok(())
}
