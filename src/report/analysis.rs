//! The migrasome analysis of a batch of stacks, written to a results folder one input at a
//! time (see [`ResultsDir`]): per input, `images/<image>/` holds its tables (`migrasomes.csv`,
//! `cells.csv`, `frames.csv`), its label stacks (`<image>_cells.tif`, `<image>_migrasomes.tif`,
//! `<image>_bodies.tif`), its QC pictures (`qc/`), `image.json` (its entry of the summary) and,
//! written last, `done.json` (the fingerprints of the input and of the settings, the software
//! version, the list of files); the folder is moved into place whole. The combined tables
//! and `summary.json` (and, for a batch, `failures.csv`) at the top are rebuilt from the
//! per-image folders, each replaced whole.
//!
//! [`analyze_batch`] opens, checks and analyses the inputs one by one: a bad input (unreadable,
//! unsupported, other channels than the rest) is reported and skipped when the run is a
//! batch (`keep_going`) and ends a single-input run; a GPU failure or an output that cannot
//! be written stops the batch, the inputs done so far kept. With `resume`, an input whose
//! folder holds a `done.json` of the same content and settings is not analysed again.
//! `analyze` and `validate` both come through here.
//!
//! Not here: flags (see `cli::analyze`), the analysis itself (see `pipeline::migrasome`).

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::fingerprint::{self, FilePrint};
use super::outdir::{DONE, IMAGES, ResultsDir, StagedImage};
use super::overlay::{self, QcBase};
use super::samples::{SAMPLE_COLUMNS, Samples};
use super::tables::{REJECTED_TABLE, TABLES, Tables, UPTAKE_TABLE};
use super::tracking::{Early, ImageTracking, Ready, TRACK_TABLES, XmlImage};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, KernelTime};
use crate::io::{Frames, LabelWriter, OpenOptions, Shape, StackInfo, StackReader, WriteSpec};
use crate::pipeline::migrasome::config::TrackingParams;
use crate::pipeline::migrasome::stats::ImageTotals;
use crate::pipeline::migrasome::{
    AnalyzeParams, FrameLabels, FrameResult, MigrasomeEngine, Preset, PxParams, RoleChoices, Roles,
    resolve_pixel_size, resolve_roles,
};

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Frames of a migrasome track's path drawn on the QC pictures of a movie.
const TAIL_FRAMES: usize = 10;
/// Per (z, track): its last positions (frame, x px, y px).
type Tails = std::collections::HashMap<(usize, u32), std::collections::VecDeque<(usize, f64, f64)>>;
/// The per-image entry of `summary.json`, in each per-image folder.
const IMAGE_JSON: &str = "image.json";
/// The failed inputs of a batch, at the top of the results folder.
pub const FAILURES: &str = "failures.csv";
/// The combined tables are rebuilt after an input when this long has passed since the last
/// time, and ten times as long as that took (and always at the end): a long batch of small
/// files does not spend its time rewriting them, and a kill loses nothing (the next run
/// rebuilds them).
const REBUILD_EVERY: Duration = Duration::from_secs(2);

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

/// What [`open_input`] needs besides the file.
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

/// Opens and checks one file before its first frame is analysed: roles, pixel size, plane
/// size against the adapter.
pub fn open_input(gpu: &Gpu, f: &Path, params: &AnalyzeParams, o: &InputOptions) -> Result<Input> {
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
    Ok(Input {
        path: f.to_path_buf(),
        reader,
        info,
        roles,
        px,
        pixel_size_source,
    })
}

fn names_of(info: &StackInfo) -> Vec<String> {
    (0..info.shape.c).map(|c| info.channel_name(c)).collect()
}

/// How results are written.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// The preset the parameters started from (for `summary.json`).
    pub preset: Preset,
    /// A QC overlay PNG every Nth frame of each image, from its first (0: none).
    pub qc_every: usize,
    /// Add per-kernel GPU times to `summary.json` (profiling must be enabled on the `Gpu`).
    pub profile: bool,
}

/// How a run goes through its inputs.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    pub input: InputOptions,
    pub write: WriteOptions,
    /// Skip an input whose complete results are in the folder: `images/<image>/done.json`
    /// with the same content fingerprint, the same settings and its files all there.
    pub resume: bool,
    /// A batch: a bad input is reported and skipped; else its error ends the run.
    pub keep_going: bool,
    /// The sample sheet's values of every input (`None`: `condition` and `replicate` empty).
    pub samples: Option<Samples>,
}

/// An input of a batch that could not be analysed.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub file: PathBuf,
    /// Where in the file (`index`, `page 3`, `channels`, ...).
    pub place: String,
    pub reason: String,
    /// The exit code this error has on its own (3 unreadable or unsupported, 2 settings that
    /// do not fit this file).
    pub exit_code: i32,
    /// The whole error on one line, naming the file.
    #[serde(skip)]
    pub message: String,
}

impl Failure {
    fn of(file: &Path, e: &Error) -> Failure {
        let (place, reason) = match e {
            Error::Format { place, reason, .. } => (place.clone(), reason.clone()),
            Error::Io { source, .. } => ("file".to_string(), source.to_string()),
            Error::Invalid(m) => ("settings".to_string(), m.clone()),
            other => (String::new(), other.to_string()),
        };
        let mut message = crate::cli::error_chain(e);
        let shown = file.display().to_string();
        if !message.contains(&shown) {
            message = format!("{shown}: {message}");
        }
        Failure {
            file: file.to_path_buf(),
            place,
            reason,
            exit_code: match e {
                Error::Invalid(_) => crate::cli::exit::USAGE,
                _ => crate::cli::exit::INPUT,
            },
            message,
        }
    }
}

/// What [`analyze_batch`] tells its caller as it goes (progress, failures).
pub enum Event<'a> {
    /// Input `index` (of `total`) opened as `name`, with `frames` frames to analyse.
    Started {
        index: usize,
        total: usize,
        name: &'a str,
        frames: usize,
    },
    /// A frame was analysed (it is written when its tracks and, in a movie, its migrasomes'
    /// released states are known, a few frames later: `result.released` is the frame's own
    /// call, not the state that the tables get).
    Frame {
        name: &'a str,
        t: usize,
        result: &'a FrameResult,
    },
    /// An input's results were committed.
    Done { name: &'a str },
    /// An input's complete results were found (`--resume`): not analysed again.
    Resumed { name: &'a str },
    /// An input of a batch failed and was skipped.
    Failed(&'a Failure),
}

/// What a run did.
pub struct BatchReport {
    /// Inputs given.
    pub total: usize,
    /// Images analysed by this run, in input order.
    pub analysed: Vec<String>,
    /// Images whose results were already there (`--resume`), in input order.
    pub resumed: Vec<String>,
    /// Inputs that failed and were skipped (a batch).
    pub failed: Vec<Failure>,
    /// Frames analysed by this run.
    pub frames: usize,
    pub wall_s: f64,
    /// Per-kernel GPU times (empty unless `WriteOptions::profile`).
    pub profile: Vec<KernelTime>,
    /// The results folder.
    pub dest: PathBuf,
    /// The error that stopped the run (GPU, output), the inputs done before it kept.
    pub stopped: Option<Error>,
}

impl BatchReport {
    /// The report, or the error that stopped the run.
    pub fn into_result(mut self) -> Result<BatchReport> {
        match self.stopped.take() {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }

    /// Inputs whose results are in the folder (analysed or resumed).
    pub fn done(&self) -> usize {
        self.analysed.len() + self.resumed.len()
    }
}

/// An image whose results are committed.
struct DoneImage {
    name: String,
    /// Its `image.json`.
    image: Value,
    resumed: bool,
}

/// `done.json`: what an image's results were made from and the files they are.
#[derive(Serialize, Deserialize)]
struct DoneManifest {
    software: Software,
    image: String,
    input: InputRecord,
    /// The fingerprint of everything besides the input that decides the results.
    settings_xxh3_128: String,
    /// Every file of the folder but `done.json`, with its length.
    files: Vec<FileEntry>,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct Software {
    name: String,
    version: String,
}

#[derive(Serialize, Deserialize)]
struct InputRecord {
    file: PathBuf,
    #[serde(flatten)]
    print: FilePrint,
}

#[derive(Serialize, Deserialize)]
struct FileEntry {
    path: String,
    bytes: u64,
}

/// The top-level files; a folder in the place of one is refused before anything is written.
const TOP_FILES: [&str; 9] = [
    TABLES[0],
    TABLES[1],
    TABLES[2],
    TRACK_TABLES[0],
    TRACK_TABLES[1],
    UPTAKE_TABLE,
    REJECTED_TABLE,
    "summary.json",
    FAILURES,
];

/// The fingerprint of the settings that decide an image's results (besides its content).
fn settings_print(params: &AnalyzeParams, o: &BatchOptions) -> String {
    let i = &o.input;
    let mut channels = json!({
        "nuclei": i.roles.nuclei,
        "migrasomes": i.roles.migrasomes,
        "cargo": i.roles.cargo,
        "config": i.toml_channels,
    });
    if let Some(u) = &i.roles.uptake {
        channels["uptake"] = json!(u);
    }
    fingerprint::json(&json!({
        "software": VERSION,
        "parameters_um": params,
        "channels": channels,
        "series": i.series,
        "pixel_size_um": i.pixel_size,
        "qc_every": o.write.qc_every,
    }))
}

/// Whether `e` stops a batch (later inputs would fail the same way) rather than being one
/// input's fault: the GPU, or an output that cannot be written.
fn stops_the_batch(e: &Error, out: &Path) -> bool {
    match e {
        Error::Gpu(_) | Error::Kernel { .. } | Error::Output { .. } => true,
        Error::Io { path, .. } => path.starts_with(out),
        Error::Format { .. } | Error::Invalid(_) => false,
    }
}

/// The state of a run between inputs.
struct Run<'a> {
    out: &'a Path,
    dir: Option<ResultsDir>,
    done: Vec<DoneImage>,
    failed: Vec<Failure>,
    /// The first done image's file, channel names and cargo channel names: every other
    /// input must have the same.
    reference: Option<(PathBuf, Vec<String>, Vec<String>)>,
    frames: usize,
    analysis_s: f64,
}

/// Analyses `files` into the results folder `out`, one input at a time (see the module
/// docs); `on` hears of every frame, image and failure. `started` is when the run began, for
/// the wall time in `summary.json`. Returns `Err` for a bad input of a single-input run
/// (`keep_going` false) and for errors before the first input; a GPU or output error later
/// comes back in [`BatchReport::stopped`], with what was done before it.
pub fn analyze_batch(
    gpu: &Gpu,
    files: &[PathBuf],
    params: &AnalyzeParams,
    o: &BatchOptions,
    out: &Path,
    started: Instant,
    mut on: impl FnMut(Event),
) -> Result<BatchReport> {
    if files.is_empty() {
        return Err(Error::invalid("no input stacks"));
    }
    let settings = settings_print(params, o);
    let bases = base_names(&files.iter().map(|p| p.as_path()).collect::<Vec<_>>());
    let mut run = Run {
        out,
        dir: None,
        done: Vec::new(),
        failed: Vec::new(),
        reference: None,
        frames: 0,
        analysis_s: 0.0,
    };
    if o.keep_going {
        run.dir = Some(ResultsDir::open(out, &TOP_FILES)?);
    }
    let mut stopped = None;
    let (mut last_rebuild, mut rebuild_took) = (Instant::now(), Duration::ZERO);
    for (i, file) in files.iter().enumerate() {
        let r = run.one(
            gpu,
            (i, files.len()),
            file,
            &bases[i],
            params,
            o,
            &settings,
            &mut on,
        );
        if let Err(e) = r {
            if stops_the_batch(&e, out) {
                stopped = Some(e);
                break;
            }
            if !o.keep_going {
                return Err(e);
            }
            let f = Failure::of(file, &e);
            on(Event::Failed(&f));
            run.failed.push(f);
        }
        let due =
            i + 1 < files.len() && last_rebuild.elapsed() >= REBUILD_EVERY.max(rebuild_took * 10);
        if let (true, Some(dir)) = (due, &run.dir) {
            let t0 = Instant::now();
            if let Err(e) = run.write_top(dir, gpu, params, o, files.len(), started, "running") {
                stopped = Some(e);
                break;
            }
            (last_rebuild, rebuild_took) = (Instant::now(), t0.elapsed());
        }
    }
    let status = match (&stopped, run.failed.is_empty()) {
        (Some(_), _) => "stopped",
        (None, true) => "done",
        (None, false) => "some inputs failed",
    };
    if run.dir.is_none() && stopped.is_none() {
        // a single input found done (`--resume`): the top-level files are still rewritten
        run.dir = Some(ResultsDir::open(out, &TOP_FILES)?);
    }
    if let Some(dir) = run.dir.take() {
        let top = run.write_top(&dir, gpu, params, o, files.len(), started, status);
        match (&stopped, top) {
            (None, Ok(written)) => {
                let names: Vec<String> = run.done.iter().map(|d| d.name.clone()).collect();
                if let Err(e) = dir.finish(&written, &names) {
                    stopped = Some(e);
                }
            }
            (None, Err(e)) => stopped = Some(e),
            (Some(_), _) => dir.abandon(),
        }
    }
    let (resumed, analysed): (Vec<&DoneImage>, Vec<&DoneImage>) =
        run.done.iter().partition(|d| d.resumed);
    Ok(BatchReport {
        total: files.len(),
        analysed: analysed.iter().map(|d| d.name.clone()).collect(),
        resumed: resumed.iter().map(|d| d.name.clone()).collect(),
        failed: std::mem::take(&mut run.failed),
        frames: run.frames,
        wall_s: started.elapsed().as_secs_f64(),
        profile: if o.write.profile {
            gpu.profile()
        } else {
            vec![]
        },
        dest: out.to_path_buf(),
        stopped,
    })
}

impl Run<'_> {
    /// One input: resumed, or opened, checked, analysed and committed.
    #[allow(clippy::too_many_arguments)]
    fn one(
        &mut self,
        gpu: &Gpu,
        (index, total): (usize, usize),
        file: &Path,
        base: &str,
        params: &AnalyzeParams,
        o: &BatchOptions,
        settings: &str,
        on: &mut impl FnMut(Event),
    ) -> Result<()> {
        let print = fingerprint::file(file)?;
        let (columns, values) = match &o.samples {
            Some(s) => (s.columns.clone(), s.values[index].clone()),
            None => (
                SAMPLE_COLUMNS.map(String::from).to_vec(),
                vec![String::new(); 2],
            ),
        };
        let settings = &fingerprint::json(&json!([settings, columns, values]));
        if o.resume {
            for name in [base.to_string(), format!("{base}_s{}", o.input.series)] {
                if self.done.iter().any(|d| d.name == name) {
                    continue;
                }
                let Some(mut image) =
                    resumable(&self.out.join(IMAGES).join(&name), &print, settings)
                else {
                    continue;
                };
                image["file"] = json!(file); // the same content, maybe moved since
                let text = |v: &Value| -> Vec<String> {
                    v.as_array()
                        .map(|a| a.iter().map(|s| s.as_str().unwrap_or("").into()).collect())
                        .unwrap_or_default()
                };
                let (channels, cargo) = (text(&image["channels"]), text(&image["roles"]["cargo"]));
                self.check_channels(file, &channels, &cargo)?;
                on(Event::Resumed { name: &name });
                self.done.push(DoneImage {
                    name,
                    image,
                    resumed: true,
                });
                return Ok(());
            }
        }
        let input = open_input(gpu, file, params, &o.input)?;
        let info = &input.info;
        let mut name = if info.n_series > 1 {
            format!("{base}_s{}", info.series)
        } else {
            base.to_string()
        };
        let first = name.clone();
        let mut k = 1;
        while self.done.iter().any(|d| d.name == name) {
            k += 1;
            name = format!("{first}_{k}");
        }
        let channels = names_of(info);
        let cargo: Vec<String> = input
            .roles
            .cargo
            .iter()
            .map(|&c| channels[c].clone())
            .collect();
        self.check_channels(file, &channels, &cargo)?;
        if self.dir.is_none() {
            self.dir = Some(ResultsDir::open(self.out, &TOP_FILES)?);
        }
        let dir = self.dir.as_ref().expect("opened");
        on(Event::Started {
            index,
            total,
            name: &name,
            frames: info.shape.t * info.shape.z,
        });
        let staged = dir.stage()?;
        let final_dir = dir.image_dir(&name);
        let (image, frames, analysis_s) = write_image(
            gpu,
            &input,
            &name,
            &o.write,
            &params.tracking,
            (&columns, &values),
            &staged,
            &mut *on,
        )
        .and_then(|r| {
            write_done(&staged, &name, file, &print, settings)?;
            Ok(r)
        })
        .map_err(|e| unstage(e, staged.dir(), &final_dir))?;
        dir.commit(staged, &name)?;
        self.frames += frames;
        self.analysis_s += analysis_s;
        on(Event::Done { name: &name });
        self.done.push(DoneImage {
            name,
            image,
            resumed: false,
        });
        Ok(())
    }

    /// Refuses an input whose channels differ from the first done input's; the first sets
    /// them.
    fn check_channels(&mut self, file: &Path, channels: &[String], cargo: &[String]) -> Result<()> {
        match &self.reference {
            None => {
                self.reference = Some((file.to_path_buf(), channels.to_vec(), cargo.to_vec()));
                Ok(())
            }
            Some((first, c0, g0)) if c0 != channels || g0 != cargo => Err(Error::format(
                file,
                "channels",
                format!(
                    "{} (cargo {}) differ from {}'s {} (cargo {}); analyse them separately",
                    channels.join(","),
                    cargo.join(","),
                    first.display(),
                    c0.join(","),
                    g0.join(",")
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Rebuilds the combined tables, `failures.csv` (a batch) and `summary.json` from the
    /// per-image folders; returns the files written (relative to the folder).
    #[allow(clippy::too_many_arguments)]
    fn write_top(
        &self,
        dir: &ResultsDir,
        gpu: &Gpu,
        params: &AnalyzeParams,
        o: &BatchOptions,
        total: usize,
        started: Instant,
        status: &str,
    ) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        let names: Vec<&str> = self.done.iter().map(|d| d.name.as_str()).collect();
        if !names.is_empty() {
            for t in TABLES.iter().chain(&TRACK_TABLES).chain([&REJECTED_TABLE]) {
                combine(dir, t, &names)?;
                written.push(PathBuf::from(t));
            }
            if o.input.roles.uptake.is_some() {
                combine(dir, UPTAKE_TABLE, &names)?;
                written.push(PathBuf::from(UPTAKE_TABLE));
            }
        }
        if o.keep_going {
            let mut f = dir.file(FAILURES)?;
            let target = f.path().to_path_buf();
            {
                let mut w = csv::Writer::from_writer(&mut f);
                let put = |w: &mut csv::Writer<_>, r: &[&str]| {
                    w.write_record(r)
                        .map_err(|e| Error::output(&target, e.into()))
                };
                put(&mut w, &["file", "place", "reason", "exit_code"])?;
                for x in &self.failed {
                    let code = x.exit_code.to_string();
                    put(
                        &mut w,
                        &[&x.file.to_string_lossy(), &x.place, &x.reason, &code],
                    )?;
                }
                w.flush().map_err(|e| Error::output(&target, e))?;
            }
            f.commit()?;
            written.push(PathBuf::from(FAILURES));
        }
        let wall = started.elapsed().as_secs_f64();
        let list = |resumed: bool| -> Vec<&str> {
            self.done
                .iter()
                .filter(|d| d.resumed == resumed)
                .map(|d| d.name.as_str())
                .collect()
        };
        let summary = json!({
            "software": {"name": "migrascope", "version": VERSION},
            "adapter": gpu.adapter(),
            "preset": o.write.preset,
            "parameters_um": params,
            "status": status,
            "inputs": {
                "total": total,
                "done": self.done.len(),
                "analysed": list(false),
                "resumed": list(true),
                "failed": self.failed,
            },
            "images": self.done.iter().map(|d| &d.image).collect::<Vec<_>>(),
            "timings": {
                "wall_s": wall,
                "analysis_s": self.analysis_s,
                "frames": self.frames,
                "frames_per_s": self.frames as f64 / wall,
                "gpu_kernels": if o.write.profile { gpu.profile() } else { vec![] },
            },
        });
        let mut f = dir.file("summary.json")?;
        f.write_all(
            (serde_json::to_string_pretty(&summary).expect("json value") + "\n").as_bytes(),
        )?;
        f.commit()?;
        written.push(PathBuf::from("summary.json"));
        Ok(written)
    }
}

/// Writes one image's files into `staged`: tables, label stacks, QC pictures, `image.json`.
/// Returns its `image.json`, its frame count and its analysis seconds.
#[allow(clippy::too_many_arguments)]
fn write_image(
    gpu: &Gpu,
    input: &Input,
    name: &str,
    o: &WriteOptions,
    tracking_params: &TrackingParams,
    (sample_columns, sample_values): (&[String], &[String]),
    staged: &StagedImage,
    on: &mut impl FnMut(Event),
) -> Result<(Value, usize, f64)> {
    let (info, roles, px) = (&input.info, &input.roles, &input.px);
    let channel_names = names_of(info);
    let cargo_names: Vec<String> = roles
        .cargo
        .iter()
        .map(|&c| channel_names[c].clone())
        .collect();
    let mut tables = Tables::create(
        staged.dir(),
        &channel_names,
        &cargo_names,
        sample_columns,
        sample_values,
        roles.uptake.is_some(),
    )?;
    let sh = info.shape;
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
    let mut cells_tif = LabelWriter::create(&staged.path(&format!("{name}_cells.tif"))?, &spec)?;
    let mut migr_tif =
        LabelWriter::create(&staged.path(&format!("{name}_migrasomes.tif"))?, &spec)?;
    let mut body_tif = LabelWriter::create(&staged.path(&format!("{name}_bodies.tif"))?, &spec)?;
    let xml = (sh.z == 1).then(|| XmlImage {
        input: input.path.clone(),
        width: sh.x,
        height: sh.y,
        nframes: sh.t,
        channels: sh.c,
        membrane: roles.membrane,
    });
    let mut tracking = ImageTracking::create(
        staged.dir(),
        name,
        tracking_params,
        px.pixel_size_um,
        info.time_increment_s,
        (sh.t, sh.z),
        roles.membrane,
        &cargo_names,
        (sample_columns, sample_values),
        xml,
    )?
    .with_contact_frames(px.contact_frames);
    let mut engine = MigrasomeEngine::with_px(gpu, roles.clone(), px.clone());
    let mut frames = 0usize;
    // host seconds in tracking (the trackers, tracks.csv, events.csv, the TrackMate file);
    // not the frames' label images and QC pictures, which the trackers hand out (`early`)
    let mut tracking_s = 0.0;
    let early_s = std::cell::Cell::new(0.0f64);
    // a frame's label images, track tails and QC pictures go out once its tracks are final
    // (a few frames later); its rows, with its migrasomes' released states, 8 frames later
    // (`tracking.released_lookahead`)
    let mut tails: Tails = Default::default();
    let mut write_early = |e: Early| -> Result<Option<QcBase>> {
        let own =
            e.f.cells
                .iter()
                .map(|c| c.id)
                .eq(e.ids.cell.iter().copied());
        if own {
            cells_tif.push_plane(&e.f.labels.cells)?;
        } else {
            let map: std::collections::HashMap<u32, u32> =
                e.f.cells
                    .iter()
                    .map(|c| c.id)
                    .zip(e.ids.cell.iter().copied())
                    .collect();
            let relabelled: Vec<u32> =
                e.f.labels
                    .cells
                    .iter()
                    .map(|l| {
                        if *l == 0 {
                            0
                        } else {
                            *map.get(l).unwrap_or(&0)
                        }
                    })
                    .collect();
            cells_tif.push_plane(&relabelled)?;
        }
        migr_tif.push_plane(&e.f.labels.migrasomes)?;
        body_tif.push_plane(&e.f.labels.bodies)?;
        // the last TAIL_FRAMES positions of each migrasome track, for the QC pictures
        if o.qc_every > 0 && sh.t > 1 {
            for (m, tr) in e.f.migrasomes.iter().zip(&e.ids.track) {
                if let Some(tr) = tr {
                    let v = tails.entry((e.z, *tr)).or_default();
                    v.push_back((e.t, m.stats.centroid_x, m.stats.centroid_y));
                    if v.len() > TAIL_FRAMES {
                        v.pop_front();
                    }
                }
            }
            tails.retain(|_, v| v.back().is_some_and(|b| b.0 + TAIL_FRAMES > e.t));
        }
        let mut qc = None;
        if let Some(planes) = &e.planes {
            let (t, z) = (e.t, e.z);
            let p = staged.path(&format!("qc/{name}_t{t:04}_z{z:03}_rejected.png"))?;
            overlay::write_rejected_png(&p, &planes[roles.membrane], e.f)?;
            let drawn: Vec<Vec<(f64, f64)>> = tails
                .iter()
                .filter(|(k, v)| k.0 == z && v.len() > 1)
                .map(|(_, v)| v.iter().map(|p| (p.1, p.2)).collect())
                .collect();
            qc = Some(QcBase {
                rgb: overlay::render_base(&planes[roles.membrane], e.f),
                tails: drawn,
            });
        }
        // what waits for the released states holds no planes
        e.f.labels = FrameLabels::default();
        Ok(qc)
    };
    let mut early = |e: Early| -> Result<Option<QcBase>> {
        let t0 = Instant::now();
        let qc = write_early(e)?;
        early_s.set(early_s.get() + t0.elapsed().as_secs_f64());
        Ok(qc)
    };
    // the totals of the frames as written (a migrasome's `released` is its track's state)
    let mut totals = ImageTotals::new(roles.cargo.len());
    let mut write = |r: Ready| -> Result<()> {
        totals.add(&r.f);
        tables.add(name, r.t, r.z, &r.f, &r.ids, px.pixel_size_um)?;
        if let Some(base) = r.qc {
            let (t, z) = (r.t, r.z);
            let p = staged.path(&format!("qc/{name}_t{t:04}_z{z:03}.png"))?;
            overlay::write_png_from_base(&p, base, &r.f)?;
        }
        Ok(())
    };
    engine.run(Frames::all(&input.reader), |(t, z), f, planes| {
        let qc = o.qc_every > 0 && frames.is_multiple_of(o.qc_every);
        frames += 1;
        on(Event::Frame {
            name,
            t,
            result: &f,
        });
        let t0 = Instant::now();
        let ready = tracking.push(t, z, f, qc.then(|| planes.to_vec()), &mut early)?;
        tracking_s += t0.elapsed().as_secs_f64();
        for r in ready {
            write(r)?;
        }
        Ok(())
    })?;
    if frames < sh.t * sh.z {
        return Err(Error::format(
            &input.path,
            "frames",
            "the stack ended early",
        ));
    }
    let t0 = Instant::now();
    let ready = tracking.finish_frames(&mut early)?;
    tracking_s += t0.elapsed().as_secs_f64();
    // the label images and QC pictures were written within those calls
    tracking_s -= early_s.get();
    for r in ready {
        write(r)?;
    }
    cells_tif.finish()?;
    migr_tif.finish()?;
    body_tif.finish()?;
    let t0 = Instant::now();
    let rates = tracking.finish()?;
    tracking_s += t0.elapsed().as_secs_f64();
    tables.finish(&rates)?;
    let mut image = json!({
        "file": input.path, "series": info.series, "image": name,
        "results": format!("{IMAGES}/{name}"),
        "shape": info.shape, "dtype": info.dtype.name(),
        "pixel_size_um": px.pixel_size_um,
        "pixel_size_source": input.pixel_size_source,
        "time_increment_s": info.time_increment_s,
        "channels": channel_names,
        "roles": {
            "nuclei": roles.nuclei.map(|c| info.channel_name(c)),
            "migrasomes": info.channel_name(roles.membrane),
            "cargo": cargo_names,
        },
        "parameters_px": px,
        "totals": totals,
        "migrasomes_per_cell": totals.per_cell(),
        "tracking_s": tracking_s,
        "frames_finished_again": engine.refinished,
    });
    if let Some(u) = roles.uptake {
        image["roles"]["uptake"] = json!(info.channel_name(u));
    }
    let p = staged.path(IMAGE_JSON)?;
    std::fs::write(
        &p,
        serde_json::to_string_pretty(&image).expect("json value") + "\n",
    )
    .map_err(|e| Error::output(&p, e))?;
    Ok((image, frames, engine.analysis_s()))
}

/// Writes `done.json` into `staged`, last: the input's fingerprint, the settings', the
/// software version and every other file with its length.
fn write_done(
    staged: &StagedImage,
    name: &str,
    file: &Path,
    print: &FilePrint,
    settings: &str,
) -> Result<()> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<FileEntry>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let n = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                n
            } else {
                format!("{rel}/{n}")
            };
            if e.file_type()?.is_dir() {
                walk(&e.path(), &r, out)?;
            } else {
                out.push(FileEntry {
                    path: r,
                    bytes: e.metadata()?.len(),
                });
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(staged.dir(), "", &mut files).map_err(|e| Error::output(staged.dir(), e))?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let m = DoneManifest {
        software: Software {
            name: "migrascope".into(),
            version: VERSION.into(),
        },
        image: name.to_string(),
        input: InputRecord {
            file: file.to_path_buf(),
            print: print.clone(),
        },
        settings_xxh3_128: settings.to_string(),
        files,
    };
    let p = staged.path(DONE)?;
    let mut f = super::AtomicFile::create(&p)?;
    f.write_all((serde_json::to_string_pretty(&m).expect("plain data") + "\n").as_bytes())?;
    f.commit()
}

/// The `image.json` of a committed folder `dir` whose `done.json` says it was made from an
/// input of this content with these settings by this version, with all its files there at
/// their lengths; `None` otherwise (the input is analysed again).
fn resumable(dir: &Path, print: &FilePrint, settings: &str) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join(DONE)).ok()?;
    let m: DoneManifest = serde_json::from_str(&text).ok()?;
    let same =
        m.input.print == *print && m.settings_xxh3_128 == settings && m.software.version == VERSION;
    if !same {
        return None;
    }
    for f in &m.files {
        let rel = Path::new(&f.path);
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return None;
        }
        let md = std::fs::metadata(dir.join(rel)).ok()?;
        if !md.is_file() || md.len() != f.bytes {
            return None;
        }
    }
    if !m.files.iter().any(|f| f.path == IMAGE_JSON) {
        return None;
    }
    serde_json::from_str(&std::fs::read_to_string(dir.join(IMAGE_JSON)).ok()?).ok()
}

/// An output error inside the staging folder `from`, told as the file it was to become
/// (in `to`).
fn unstage(e: Error, from: &Path, to: &Path) -> Error {
    match e {
        Error::Output { path, source } => match path.strip_prefix(from) {
            Ok(rel) => Error::Output {
                path: to.join(rel),
                source,
            },
            Err(_) => Error::Output { path, source },
        },
        Error::Io { path, source } => match path.strip_prefix(from) {
            Ok(rel) => Error::Output {
                path: to.join(rel),
                source,
            },
            Err(_) => Error::Io { path, source },
        },
        other => other,
    }
}

/// Writes the top-level `table` of `dir`: the header and every row of the per-image tables of
/// `names`, in order (read back with the `csv` crate; a differing header is an error).
fn combine(dir: &ResultsDir, table: &str, names: &[&str]) -> Result<()> {
    let mut f = dir.file(table)?;
    let target = f.path().to_path_buf();
    {
        let mut w = csv::Writer::from_writer(&mut f);
        let mut header: Option<(csv::StringRecord, PathBuf)> = None;
        let mut rec = csv::ByteRecord::new();
        for n in names {
            let p = dir.image_dir(n).join(table);
            let read = |e: csv::Error| Error::io(&p, e.into());
            let mut r = csv::Reader::from_path(&p).map_err(read)?;
            let h = r.headers().map_err(read)?.clone();
            match &header {
                None => {
                    w.write_record(&h)
                        .map_err(|e| Error::output(&target, e.into()))?;
                    header = Some((h, p.clone()));
                }
                Some((h0, p0)) if *h0 != h => {
                    return Err(Error::format(
                        &p,
                        "header",
                        format!("its columns differ from {}'s", p0.display()),
                    ));
                }
                Some(_) => {}
            }
            while r.read_byte_record(&mut rec).map_err(read)? {
                w.write_byte_record(&rec)
                    .map_err(|e| Error::output(&target, e.into()))?;
            }
        }
        w.flush().map_err(|e| Error::output(&target, e))?;
    }
    f.commit()
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

/// One name per input for the `image` column and its folder `images/<image>/`: the file name
/// without its TIFF extension, and the parent folder (then a number) added where two inputs
/// would otherwise share a name. (`_s<N>` is added for a series of a multi-series file when it
/// is opened.)
pub fn base_names(inputs: &[&Path]) -> Vec<String> {
    let mut names: Vec<String> = inputs
        .iter()
        .map(|p| {
            let n = image_name(p);
            // never a name that is no folder of its own
            if n.is_empty() || n == "." || n == ".." {
                format!("image{n}")
            } else {
                n
            }
        })
        .collect();
    let clash = |names: &[String], i: usize| names.iter().filter(|n| **n == names[i]).count() > 1;
    let with_parent: Vec<String> = (0..names.len())
        .map(|i| {
            if !clash(&names, i) {
                return names[i].clone();
            }
            let parent = inputs[i]
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
        let d = Path::new("x/.tif");
        let names = base_names(&[a, b, c, c, d]);
        assert_eq!(
            names,
            ["exp1_cell", "exp2_cell", "movie", "movie_2", "image"]
        );
    }
}
