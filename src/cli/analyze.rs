//! `migrascope analyze`: migrasome counts per cell for every frame of every file.
//! Flags → validated parameters (preset, then `--config` TOML, then flags) → the pipeline in
//! `pipeline::migrasome` → tables, label stacks, QC pictures and `summary.json` in `--out`,
//! written completely or not at all.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use super::particles::resolve_channel;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::image::Plane;
use crate::io::{LabelWriter, OpenOptions, PlaneIndex, Shape, StackInfo, StackReader, WriteSpec};
use crate::pipeline::migrasome::{
    AnalyzeParams, Capacities, Preset, PxParams, Roles, begin_frame, continue_frame, finish_frame,
};
use crate::report::tables::{ImageTotals, Tables};
use crate::report::{OutputDir, overlay};

/// One frame from the stream: (t, z) and all its channels.
type FrameInput = ((usize, usize), Vec<Plane>);

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

/// One name per input for the `image` column and the per-image files: the file name without
/// its TIFF extension, `_s<N>` added for a series of a multi-series file, and the parent
/// folder (then a number) added where two inputs would otherwise share a name.
fn unique_names(inputs: &[(&Path, usize, usize)]) -> Vec<String> {
    let base = |&(p, series, n_series): &(&Path, usize, usize)| {
        let n = image_name(p);
        if n_series > 1 {
            format!("{n}_s{series}")
        } else {
            n
        }
    };
    let mut names: Vec<String> = inputs.iter().map(base).collect();
    let clash = |names: &[String], i: usize| names.iter().filter(|n| **n == names[i]).count() > 1;
    let with_parent: Vec<String> = (0..names.len())
        .map(|i| {
            if !clash(&names, i) {
                return names[i].clone();
            }
            let parent = inputs[i]
                .0
                .parent()
                .and_then(|p| p.file_name())
                .map(|s| crate::report::tables::column_name(&s.to_string_lossy()))
                .unwrap_or_default();
            if parent.is_empty() {
                names[i].clone()
            } else {
                format!("{parent}_{}", names[i])
            }
        })
        .collect();
    names = with_parent;
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for n in names.iter_mut() {
        let k = seen.entry(n.clone()).or_insert(0);
        *k += 1;
        if *k > 1 {
            *n = format!("{n}_{k}");
        }
    }
    names
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

/// Parameters: preset, then the TOML file, then `--set`.
fn parameters(a: &AnalyzeArgs) -> Result<(AnalyzeParams, Option<toml::Table>)> {
    let mut p = AnalyzeParams::preset(a.preset);
    let mut channels = None;
    if let Some(path) = &a.config {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        p = AnalyzeParams::from_toml(&text, &p, path)?;
        let t: toml::Table = toml::from_str(&text)
            .map_err(|e| Error::format(path, "TOML", e.to_string().replace('\n', " ")))?;
        channels = t.get("channels").and_then(|c| c.as_table()).cloned();
    }
    for s in &a.set {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| Error::invalid(format!("--set {s}: expected section.key=value")))?;
        let (sec, key) = k
            .split_once('.')
            .ok_or_else(|| Error::invalid(format!("--set {s}: expected section.key=value")))?;
        let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {v}"))
            .or_else(|_| toml::from_str::<toml::Table>(&format!("v = {v:?}")))
            .map_err(|e| Error::invalid(format!("--set {s}: {e}")))?
            .remove("v")
            .expect("parsed key");
        let mut inner = toml::Table::new();
        inner.insert(key.to_string(), value);
        let mut over = toml::Table::new();
        over.insert(sec.to_string(), toml::Value::Table(inner));
        p = AnalyzeParams::merge(&p, over, Path::new("--set"))?;
    }
    p.validate()?;
    Ok((p, channels))
}

/// A channel given in TOML as a name or an index.
fn toml_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        _ => String::from("?"),
    }
}

fn name_matches(name: &str, words: &[&str]) -> bool {
    let n = name.to_ascii_lowercase();
    words.iter().any(|w| n.contains(w))
}

/// Channel roles: flags, then the TOML [channels] section, then the channel names (Hoechst,
/// DAPI → nuclei; WGA, TSPAN4, GFP, membrane → migrasomes; the rest → cargo), then position
/// (1 channel: migrasomes; 2: nuclei, migrasomes; 3+: nuclei, migrasomes, cargo...).
fn roles(a: &AnalyzeArgs, info: &StackInfo, toml_ch: Option<&toml::Table>) -> Result<Roles> {
    let c = info.shape.c;
    let from_toml = |k: &str| -> Option<String> { toml_ch.and_then(|t| t.get(k)).map(toml_text) };
    let names: Vec<String> = (0..c).map(|i| info.channel_name(i)).collect();
    let guess_nuc =
        (0..c).find(|&i| name_matches(&names[i], &["hoechst", "dapi", "nucle", "h33342"]));
    let guess_mem = (0..c).find(|&i| {
        name_matches(
            &names[i],
            &["wga", "tspan4", "gfp", "membrane", "migrasome"],
        )
    });
    let nuclei = match a.nuclei.clone().or_else(|| from_toml("nuclei")) {
        Some(s) if s.eq_ignore_ascii_case("none") => None,
        Some(s) => Some(resolve_channel(&s, info)?),
        None => guess_nuc.or(if c >= 2 { Some(0) } else { None }),
    };
    let membrane = match a
        .migrasome_channel
        .clone()
        .or_else(|| from_toml("migrasomes"))
    {
        Some(s) => resolve_channel(&s, info)?,
        None => guess_mem.unwrap_or(if c >= 2 { 1 } else { 0 }),
    };
    let mut cargo_specs = a.cargo.clone();
    if cargo_specs.is_empty()
        && let Some(arr) = toml_ch
            .and_then(|t| t.get("cargo"))
            .and_then(|v| v.as_array())
    {
        cargo_specs = arr.iter().map(toml_text).collect();
    }
    let cargo = if cargo_specs.is_empty() {
        (0..c)
            .filter(|&i| Some(i) != nuclei && i != membrane)
            .collect()
    } else {
        cargo_specs
            .iter()
            .map(|s| resolve_channel(s, info))
            .collect::<Result<Vec<_>>>()?
    };
    if Some(membrane) == nuclei {
        return Err(Error::invalid(format!(
            "{}: the nuclei and migrasome channels are both {membrane}",
            info.path.display()
        )));
    }
    Ok(Roles {
        nuclei,
        membrane,
        cargo,
    })
}

fn pixel_size(a: &AnalyzeArgs, info: &StackInfo) -> Result<f64> {
    if let Some(p) = a.pixel_size {
        if !(p.is_finite() && p > 0.0) {
            return Err(Error::invalid(format!("--pixel-size must be > 0, got {p}")));
        }
        return Ok(p);
    }
    match (info.pixel_size_um.x, info.pixel_size_um.y) {
        (Some(x), Some(y)) if (x - y).abs() <= 1e-3 * x.max(y) => Ok(x),
        (Some(x), Some(y)) => Err(Error::format(
            &info.path,
            "pixel size",
            format!("pixels are not square ({x} x {y} µm); pass --pixel-size"),
        )),
        (Some(x), None) | (None, Some(x)) => Ok(x),
        (None, None) => Err(Error::format(
            &info.path,
            "pixel size",
            "the file does not give a pixel size and every size parameter is in µm; pass --pixel-size UM",
        )),
    }
}

/// `image` column: the file name without .ome.tif / .tif / .tiff.
pub fn image_name(path: &Path) -> String {
    let n = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = n.to_ascii_lowercase();
    for ext in [".ome.tiff", ".ome.tif", ".tiff", ".tif"] {
        if lower.ends_with(ext) {
            return n[..n.len() - ext.len()].to_string();
        }
    }
    n
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
    run_on(&gpu, &a)
}

/// `analyze` on a given device (so several runs share compiled kernels).
pub fn run_on(gpu: &Gpu, a: &AnalyzeArgs) -> Result<()> {
    let started = Instant::now();
    let files = if a.files.is_empty() {
        vec![sample_path()]
    } else {
        a.files.clone()
    };
    let (params, toml_ch) = parameters(a)?;
    // open and check everything before the first frame is analysed
    let mut readers = Vec::new();
    for f in &files {
        let r = StackReader::open(
            f,
            &OpenOptions {
                series: a.series,
                axes: None,
            },
        )?;
        let info = r.info().clone();
        let roles = roles(a, &info, toml_ch.as_ref())?;
        let px = PxParams::new(&params, pixel_size(a, &info)?)?;
        let plane_bytes = info.shape.y as u64 * info.shape.x as u64 * 4;
        if plane_bytes > gpu.max_binding() {
            return Err(Error::format(
                f,
                "plane size",
                format!(
                    "a {} x {} plane needs {} MB per GPU buffer, more than this adapter's \
                     largest storage binding ({} MB); `analyze` does not tile frames yet \
                     (`particles` does): crop or bin the image, or use a larger GPU",
                    info.shape.x,
                    info.shape.y,
                    plane_bytes / 1_000_000,
                    gpu.max_binding() / 1_000_000
                ),
            ));
        }
        readers.push((f.clone(), r, info, roles, px));
    }
    let channel_names: Vec<String> = (0..readers[0].2.shape.c)
        .map(|c| readers[0].2.channel_name(c))
        .collect();
    let cargo_names: Vec<String> = readers[0]
        .3
        .cargo
        .iter()
        .map(|&c| channel_names[c].clone())
        .collect();
    for (f, _, info, roles, _) in &readers[1..] {
        let names: Vec<String> = (0..info.shape.c).map(|c| info.channel_name(c)).collect();
        if names != channel_names || roles.cargo != readers[0].3.cargo {
            return Err(Error::invalid(format!(
                "{}: channels differ from {} ({} vs {}); analyse them separately",
                f.display(),
                files[0].display(),
                names.join(","),
                channel_names.join(",")
            )));
        }
    }
    if a.profile && !gpu.enable_profiling() {
        eprintln!(
            "migrascope: --profile: this adapter has no timestamp queries; timing wall-clock only"
        );
    }
    let out = OutputDir::create(&a.out)?;
    let mut tables = Tables::create(&out.path("")?, &channel_names, &cargo_names)?;
    let total_frames: usize = readers.iter().map(|r| r.2.shape.t * r.2.shape.z).sum();
    let progress = Progress::new(total_frames as u64);
    let mut images = Vec::new();
    let mut gpu_seconds = 0.0;
    let mut frames_done = 0usize;
    let names = unique_names(
        &readers
            .iter()
            .map(|r| (r.0.as_path(), r.2.series, r.2.n_series))
            .collect::<Vec<_>>(),
    );
    for ((path, reader, info, roles, px), name) in readers.iter().zip(names) {
        let sh = info.shape;
        let total_before = frames_done;
        let spec = WriteSpec {
            shape: Shape { c: 1, ..sh },
            pixel_size_um: crate::io::PixelSize {
                x: Some(px.pixel_size_um),
                y: Some(px.pixel_size_um),
                z: info.pixel_size_um.z,
            },
            time_increment_s: info.time_increment_s,
            channels: vec![],
        };
        let mut cells_tif = LabelWriter::create(&out.path(&format!("{name}_cells.tif"))?, &spec)?;
        let mut migr_tif =
            LabelWriter::create(&out.path(&format!("{name}_migrasomes.tif"))?, &spec)?;
        let mut body_tif = LabelWriter::create(&out.path(&format!("{name}_bodies.tif"))?, &spec)?;
        let order: Vec<PlaneIndex> = (0..sh.t)
            .flat_map(|t| {
                (0..sh.z).flat_map(move |z| (0..sh.c).map(move |c| PlaneIndex { t, c, z }))
            })
            .collect();
        let stream = reader.stream(order, 2, 2 * sh.c + 2);
        let mut frames = super::particles::Frames {
            stream,
            channels: sh.c,
        };
        let mut caps = Capacities::default();
        let mut totals = ImageTotals::default();
        // two frames in flight: frame n+1's filters are submitted before frame n's results
        // are waited for
        let begin = |f: Option<Result<FrameInput>>| -> Result<Option<_>> {
            match f {
                None => Ok(None),
                Some(f) => {
                    let (tz, planes) = f?;
                    let s1 = begin_frame(gpu, &planes, roles, px)?;
                    Ok(Some((tz, planes, s1)))
                }
            }
        };
        let t0 = Instant::now();
        let mut next = begin(frames.next())?;
        gpu_seconds += t0.elapsed().as_secs_f64();
        while let Some(((t, z), planes, s1)) = next.take() {
            let t0 = Instant::now();
            let s2 = continue_frame(gpu, s1, roles, px, &caps)?;
            next = begin(frames.next())?;
            let f = finish_frame(gpu, s2, roles, px, &mut caps)?;
            gpu_seconds += t0.elapsed().as_secs_f64();
            tables.add(&name, t, z, &f, px.pixel_size_um, &mut totals)?;
            cells_tif.push_plane(&f.labels.cells)?;
            migr_tif.push_plane(&f.labels.migrasomes)?;
            body_tif.push_plane(&f.labels.bodies)?;
            if a.qc_every > 0 && frames_done.is_multiple_of(a.qc_every) {
                let p = out.path(&format!("qc/{name}_t{t:04}_z{z:03}.png"))?;
                overlay::write_png(&p, &planes[roles.membrane], &f)?;
                let p = out.path(&format!("qc/{name}_t{t:04}_z{z:03}_rejected.png"))?;
                overlay::write_rejected_png(&p, &planes[roles.membrane], &f)?;
            }
            frames_done += 1;
            progress.step(format!(
                "{name} t={t}: {} cells, {} migrasomes",
                f.cells.len(),
                f.migrasomes.len()
            ));
        }
        if frames_done < total_before + sh.t * sh.z {
            return Err(Error::format(path, "frames", "the stack ended early"));
        }
        cells_tif.finish()?;
        migr_tif.finish()?;
        body_tif.finish()?;
        let n = totals.per_cell.len() as f64;
        let mean = totals.per_cell.iter().sum::<f64>() / n;
        let sd = (totals
            .per_cell
            .iter()
            .map(|x| (x - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0))
            .sqrt();
        images.push(json!({
            "file": path, "series": info.series, "image": name,
            "shape": info.shape, "dtype": info.dtype.name(),
            "pixel_size_um": px.pixel_size_um,
            "pixel_size_source": if a.pixel_size.is_some() {
                Some("--pixel-size".to_string())
            } else {
                info.metadata_source.pixel_size.clone()
            },
            "channels": (0..sh.c).map(|c| info.channel_name(c)).collect::<Vec<_>>(),
            "roles": {
                "nuclei": roles.nuclei.map(|c| info.channel_name(c)),
                "migrasomes": info.channel_name(roles.membrane),
                "cargo": roles.cargo.iter().map(|&c| info.channel_name(c)).collect::<Vec<_>>(),
            },
            "parameters_px": px,
            "totals": totals,
            "migrasomes_per_cell": {"mean": mean, "sem": sd / n.sqrt(), "cells": n},
        }));
    }
    progress.done();
    tables.finish()?;
    let wall = started.elapsed().as_secs_f64();
    let profile = if a.profile { gpu.profile() } else { vec![] };
    if a.profile {
        super::print_profile(&profile, frames_done);
    }
    let summary = json!({
        "software": {"name": "migrascope", "version": env!("CARGO_PKG_VERSION")},
        "adapter": gpu.adapter(),
        "preset": a.preset,
        "parameters_um": params,
        "images": images,
        "timings": {
            "wall_s": wall,
            "analysis_s": gpu_seconds,
            "frames": frames_done,
            "frames_per_s": frames_done as f64 / wall,
            "gpu_kernels": profile,
        },
    });
    let sp = out.path("summary.json")?;
    std::fs::write(
        &sp,
        serde_json::to_string_pretty(&summary).expect("json value") + "\n",
    )
    .map_err(|e| Error::io(&sp, e))?;
    let dest = out.final_path("");
    out.commit()?;
    if !a.quiet {
        eprintln!(
            "migrascope: {frames_done} frame(s) analysed in {wall:.1} s; results in {}",
            dest.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_gets_its_own_name() {
        let a = Path::new("exp1/cell.ome.tif");
        let b = Path::new("exp2/cell.tif");
        let c = Path::new("movie.tiff");
        let names = unique_names(&[(a, 0, 1), (b, 0, 1), (c, 0, 1), (c, 0, 1), (c, 1, 3)]);
        assert_eq!(
            names,
            ["exp1_cell", "exp2_cell", "movie", "movie_2", "movie_s1"]
        );
    }
}
