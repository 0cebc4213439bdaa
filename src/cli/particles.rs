//! `migrascope particles`: a GPU "Analyze Particles" over every plane of one channel.
//! Output contract (parsed by later tooling): with `--json`, one line per plane
//! `{"t":0,"z":0,"c":0,"threshold":120.0,"count":64,"area_total":…,"sum_total":…}`.

use std::path::PathBuf;

use crate::error::Result;
use crate::gpu::Gpu;
use crate::io::{LabelWriter, OpenOptions, PlaneIndex, Shape, StackReader, WriteSpec};
use crate::ops::threshold::Method;
use crate::pipeline::particles::{ParticlesConfig, ParticlesEngine, PlaneParticles};
use crate::report::AtomicFile;

#[derive(clap::Args, Debug)]
pub struct ParticlesArgs {
    /// TIFF image or stack (ImageJ, OME-TIFF, plain multi-page)
    pub image: PathBuf,
    /// Channel to threshold (0-based index or channel name)
    #[arg(long, default_value = "0")]
    pub channel: String,
    /// Gaussian blur sigma in pixels before thresholding (0 = none)
    #[arg(long, default_value_t = 0.0)]
    pub sigma: f64,
    /// Subtract a Gaussian background of this sigma in pixels (0 = none): the thresholded
    /// image is gaussian(sigma) - gaussian(background), as the peer pipelines do
    #[arg(long, default_value_t = 0.0)]
    pub background: f64,
    /// otsu, isodata (ImageJ Default), li, yen, triangle, mean, or a number
    #[arg(long, default_value = "otsu", allow_negative_numbers = true)]
    pub threshold: String,
    /// 4 or 8
    #[arg(long, default_value_t = 8)]
    pub connectivity: u32,
    /// Smallest object kept, in pixels
    #[arg(long, default_value_t = 0)]
    pub min_area: u32,
    /// Largest object kept, in pixels
    #[arg(long)]
    pub max_area: Option<u32>,
    /// Drop objects touching the image edge
    #[arg(long)]
    pub exclude_edges: bool,
    /// Write the label image stack (u16 if it fits, else u32) to this TIFF
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Write one row per object to this CSV
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// One JSON line per plane on stdout
    #[arg(long)]
    pub json: bool,
    /// Series (OME image / Micro-Manager position) to read
    #[arg(long, default_value_t = 0)]
    pub series: usize,
    /// Axis order of a plain multi-page TIFF, e.g. ZYX or TCYX
    #[arg(long)]
    pub axes: Option<String>,
    /// Time every GPU kernel (timestamp queries) and print a table on stderr
    #[arg(long)]
    pub profile: bool,
    /// GPU memory one frame may use, in MB; larger frames are processed in tiles with
    /// identical results (default: the adapter's largest buffer, at most 2048)
    #[arg(long = "max-gpu-memory")]
    pub max_gpu_memory: Option<u64>,
    /// Process every frame in tiles of this many pixels (for testing the tiled path)
    #[arg(long, hide = true)]
    pub tile: Option<usize>,
    #[command(flatten)]
    pub gpu: super::GpuArgs,
}

pub use crate::pipeline::migrasome::resolve_channel;

fn csv_header(info: &crate::io::StackInfo) -> String {
    let mut h = String::from(
        "t,z,c,label,area,centroid_x,centroid_y,bbox_min_x,bbox_min_y,bbox_max_x,bbox_max_y",
    );
    for c in 0..info.shape.c {
        let n = crate::report::tables::column_name(&info.channel_name(c));
        h.push_str(&format!(",sum_{n},mean_{n},min_{n},max_{n}"));
    }
    h
}

fn csv_rows(out: &mut AtomicFile, idx: PlaneIndex, r: &PlaneParticles) -> Result<()> {
    for o in &r.objects {
        let mut row = format!(
            "{},{},{},{},{},{},{},{},{},{},{}",
            idx.t,
            idx.z,
            idx.c,
            o.label,
            o.area,
            o.centroid_x,
            o.centroid_y,
            o.bbox[0],
            o.bbox[1],
            o.bbox[2] + 1,
            o.bbox[3] + 1
        );
        for ch in &o.channels {
            row.push_str(&format!(",{},{},{},{}", ch.sum, ch.mean, ch.min, ch.max));
        }
        out.line(&row)?;
    }
    Ok(())
}

/// One `--json` line, keys in contract order.
#[derive(serde::Serialize)]
struct PlaneLine {
    t: usize,
    z: usize,
    c: usize,
    threshold: f64,
    count: usize,
    area_total: u64,
    sum_total: f64,
}

pub fn run(a: ParticlesArgs) -> Result<()> {
    let reader = StackReader::open(
        &a.image,
        &OpenOptions {
            series: a.series,
            axes: a.axes.clone(),
        },
    )?;
    let info = reader.info().clone();
    let cfg = ParticlesConfig {
        channel: resolve_channel(&a.channel, &info)?,
        sigma: a.sigma,
        background: a.background,
        threshold: Method::parse(&a.threshold)?,
        connectivity: a.connectivity,
        min_area: a.min_area,
        max_area: a.max_area.unwrap_or(u32::MAX),
        exclude_edges: a.exclude_edges,
    };
    cfg.validate()?;
    let gpu = Gpu::new(&a.gpu.options()?)?;
    if a.profile && !gpu.enable_profiling() {
        eprintln!("migrascope: --profile: this adapter has no timestamp queries");
    }
    let mut csv = match &a.csv {
        Some(p) => {
            let mut f = AtomicFile::create(p)?;
            f.line(&csv_header(&info))?;
            Some(f)
        }
        None => None,
    };
    let mut labels = match &a.labels {
        Some(p) => Some(LabelWriter::create(
            p,
            &WriteSpec {
                shape: Shape { c: 1, ..info.shape },
                pixel_size_um: info.pixel_size_um,
                time_increment_s: info.time_increment_s,
                channels: vec![],
            },
        )?),
        None => None,
    };
    let sh = info.shape;
    let order: Vec<PlaneIndex> = (0..sh.t)
        .flat_map(|t| (0..sh.z).flat_map(move |z| (0..sh.c).map(move |c| PlaneIndex { t, c, z })))
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    let stream = reader.stream(order, threads, 2 * sh.c.max(1) + 2);
    let frames = Frames {
        stream,
        channels: sh.c,
    };
    let mut engine = ParticlesEngine::new(&gpu, &cfg, labels.is_some())?;
    if let Some(mb) = a.max_gpu_memory {
        engine.budget = mb.saturating_mul(1 << 20);
    }
    engine.force_tile = a.tile;
    engine.run(frames, |(t, z), r| {
        let idx = PlaneIndex {
            t,
            z,
            c: cfg.channel,
        };
        if a.json {
            let line = PlaneLine {
                t,
                z,
                c: cfg.channel,
                threshold: r.threshold,
                count: r.objects.len(),
                area_total: r.area_total(),
                sum_total: r.sum_total(cfg.channel),
            };
            println!(
                "{}",
                serde_json::to_string(&line).expect("plain struct serializes")
            );
        } else {
            println!(
                "t={t} z={z} c={}: threshold {} ({}), {} objects, area {} px, sum {}",
                cfg.channel,
                r.threshold,
                cfg.threshold.name(),
                r.objects.len(),
                r.area_total(),
                r.sum_total(cfg.channel)
            );
        }
        if let Some(f) = csv.as_mut() {
            csv_rows(f, idx, &r)?;
        }
        if let (Some(w), Some(l)) = (labels.as_mut(), r.labels.as_ref()) {
            w.push_plane(l)?;
        }
        Ok(())
    })?;
    if a.profile {
        super::print_profile(&gpu.profile(), sh.t * sh.z);
    }
    if let Some(f) = csv {
        f.commit()?;
    }
    if let Some(w) = labels {
        w.finish()?;
    }
    Ok(())
}

pub use crate::io::Frames;
