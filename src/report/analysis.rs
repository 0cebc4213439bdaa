//! The migrasome analysis of a set of stacks written to a results folder: `migrasomes.csv`,
//! `cells.csv`, `frames.csv`, per image `<image>_cells.tif`, `<image>_migrasomes.tif`,
//! `<image>_bodies.tif`, QC pictures in `qc/`, and `summary.json` (parameters, roles, totals,
//! migrasomes per cell mean ± SEM, timings), written completely or not at all.
//!
//! [`open_inputs`] opens and checks every stack before a frame is analysed (roles, pixel
//! size, plane size against the adapter, the same channels everywhere); [`write_analysis`]
//! runs a [`MigrasomeEngine`] per image and hands its results to the writers. `analyze` and
//! `validate` both come through here.
//!
//! Not here: flags (see `cli::analyze`), the analysis itself (see `pipeline::migrasome`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use super::tables::Tables;
use super::{OutputDir, overlay};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, KernelTime};
use crate::io::{Frames, LabelWriter, OpenOptions, Shape, StackInfo, StackReader, WriteSpec};
use crate::pipeline::migrasome::{
    AnalyzeParams, FrameResult, MigrasomeEngine, Preset, PxParams, RoleChoices, Roles,
    resolve_pixel_size, resolve_roles,
};

/// One stack ready to analyse: opened, its roles and pixel size settled.
pub struct Input {
    pub path: PathBuf,
    pub reader: StackReader,
    pub info: StackInfo,
    pub roles: Roles,
    pub px: PxParams,
    /// Where the pixel size came from (`--pixel-size` or the metadata source).
    pub pixel_size_source: Option<String>,
}

/// What [`open_inputs`] needs besides the files.
#[derive(Clone, Debug, Default)]
pub struct InputOptions {
    /// Series (OME image / Micro-Manager position).
    pub series: usize,
    pub roles: RoleChoices,
    /// The `[channels]` table of a parameter file.
    pub toml_channels: Option<toml::Table>,
    /// Pixel size in µm overriding the files' metadata.
    pub pixel_size: Option<f64>,
}

/// Opens and checks every file before the first frame is analysed.
pub fn open_inputs(
    gpu: &Gpu,
    files: &[PathBuf],
    params: &AnalyzeParams,
    o: &InputOptions,
) -> Result<Vec<Input>> {
    let mut inputs: Vec<Input> = Vec::new();
    for f in files {
        let reader = StackReader::open(
            f,
            &OpenOptions {
                series: o.series,
                axes: None,
            },
        )?;
        let info = reader.info().clone();
        let roles = resolve_roles(&o.roles, o.toml_channels.as_ref(), &info)?;
        let px = PxParams::new(params, resolve_pixel_size(o.pixel_size, &info)?)?;
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
        let pixel_size_source = if o.pixel_size.is_some() {
            Some("--pixel-size".to_string())
        } else {
            info.metadata_source.pixel_size.clone()
        };
        inputs.push(Input {
            path: f.clone(),
            reader,
            info,
            roles,
            px,
            pixel_size_source,
        });
    }
    if let Some(first) = inputs.first() {
        let channel_names = names_of(&first.info);
        for i in &inputs[1..] {
            let names = names_of(&i.info);
            if names != channel_names || i.roles.cargo != first.roles.cargo {
                return Err(Error::invalid(format!(
                    "{}: channels differ from {} ({} vs {}); analyse them separately",
                    i.path.display(),
                    first.path.display(),
                    names.join(","),
                    channel_names.join(",")
                )));
            }
        }
    }
    Ok(inputs)
}

fn names_of(info: &StackInfo) -> Vec<String> {
    (0..info.shape.c).map(|c| info.channel_name(c)).collect()
}

/// How results are written.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// The preset the parameters started from (for `summary.json`).
    pub preset: Preset,
    /// A QC overlay PNG every Nth frame (0: none).
    pub qc_every: usize,
    /// Add per-kernel GPU times to `summary.json` (profiling must be enabled on the `Gpu`).
    pub profile: bool,
}

/// What a finished [`write_analysis`] reports.
pub struct Written {
    pub frames: usize,
    pub wall_s: f64,
    /// Per-kernel GPU times (empty unless `WriteOptions::profile`).
    pub profile: Vec<KernelTime>,
    /// The results folder.
    pub dest: PathBuf,
}

/// Analyses every input and writes the results folder `out`; `on_frame(image, t, result)` is
/// called after each frame is written (progress). `started` is when the run began, for the
/// wall time in `summary.json`.
pub fn write_analysis(
    gpu: &Gpu,
    inputs: &[Input],
    params: &AnalyzeParams,
    o: &WriteOptions,
    out: &Path,
    started: Instant,
    mut on_frame: impl FnMut(&str, usize, &FrameResult),
) -> Result<Written> {
    let first = inputs
        .first()
        .ok_or_else(|| Error::invalid("no input stacks"))?;
    let channel_names = names_of(&first.info);
    let cargo_names: Vec<String> = first
        .roles
        .cargo
        .iter()
        .map(|&c| channel_names[c].clone())
        .collect();
    let out = OutputDir::create(out)?;
    let mut tables = Tables::create(&out.path("")?, &channel_names, &cargo_names)?;
    let mut images = Vec::new();
    let mut analysis_s = 0.0;
    let mut frames_done = 0usize;
    let names = unique_names(
        &inputs
            .iter()
            .map(|i| (i.path.as_path(), i.info.series, i.info.n_series))
            .collect::<Vec<_>>(),
    );
    for (input, name) in inputs.iter().zip(names) {
        let (info, roles, px) = (&input.info, &input.roles, &input.px);
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
        let mut engine = MigrasomeEngine::with_px(gpu, roles.clone(), px.clone());
        let totals = engine.run(Frames::all(&input.reader), |(t, z), f, planes| {
            tables.add(&name, t, z, &f, px.pixel_size_um)?;
            cells_tif.push_plane(&f.labels.cells)?;
            migr_tif.push_plane(&f.labels.migrasomes)?;
            body_tif.push_plane(&f.labels.bodies)?;
            if o.qc_every > 0 && frames_done.is_multiple_of(o.qc_every) {
                let p = out.path(&format!("qc/{name}_t{t:04}_z{z:03}.png"))?;
                overlay::write_png(&p, &planes[roles.membrane], &f)?;
                let p = out.path(&format!("qc/{name}_t{t:04}_z{z:03}_rejected.png"))?;
                overlay::write_rejected_png(&p, &planes[roles.membrane], &f)?;
            }
            frames_done += 1;
            on_frame(&name, t, &f);
            Ok(())
        })?;
        analysis_s += engine.analysis_s();
        if frames_done < total_before + sh.t * sh.z {
            return Err(Error::format(
                &input.path,
                "frames",
                "the stack ended early",
            ));
        }
        cells_tif.finish()?;
        migr_tif.finish()?;
        body_tif.finish()?;
        images.push(json!({
            "file": input.path, "series": info.series, "image": name,
            "shape": info.shape, "dtype": info.dtype.name(),
            "pixel_size_um": px.pixel_size_um,
            "pixel_size_source": input.pixel_size_source,
            "channels": names_of(info),
            "roles": {
                "nuclei": roles.nuclei.map(|c| info.channel_name(c)),
                "migrasomes": info.channel_name(roles.membrane),
                "cargo": roles.cargo.iter().map(|&c| info.channel_name(c)).collect::<Vec<_>>(),
            },
            "parameters_px": px,
            "totals": totals,
            "migrasomes_per_cell": totals.per_cell(),
        }));
    }
    tables.finish()?;
    let wall = started.elapsed().as_secs_f64();
    let profile = if o.profile { gpu.profile() } else { vec![] };
    let summary = json!({
        "software": {"name": "migrascope", "version": env!("CARGO_PKG_VERSION")},
        "adapter": gpu.adapter(),
        "preset": o.preset,
        "parameters_um": params,
        "images": images,
        "timings": {
            "wall_s": wall,
            "analysis_s": analysis_s,
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
    Ok(Written {
        frames: frames_done,
        wall_s: wall,
        profile,
        dest,
    })
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

/// One name per input for the `image` column and the per-image files: the file name without
/// its TIFF extension, `_s<N>` added for a series of a multi-series file, and the parent
/// folder (then a number) added where two inputs would otherwise share a name.
pub fn unique_names(inputs: &[(&Path, usize, usize)]) -> Vec<String> {
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
                .map(|s| super::tables::column_name(&s.to_string_lossy()))
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
