//! Scoring `analyze` results against `synth` ground truth (`migrascope evaluate`).
//!
//! Rules (also printed with the table):
//! - Rows are grouped by (image, frame); image names compare without folders and without a
//!   `.ome.tif(f)`/`.tif(f)` suffix; `z` is ignored (synth stacks are 2D).
//! - **Migrasomes**: a detection matches a truth migrasome when their centroids are within
//!   max(1 µm, truth radius); pairs are taken one-to-one, closest first (greedy on distance,
//!   ties by row order). TP = matched pairs, FP = unmatched detections (including those in
//!   frames the truth does not have), FN = unmatched truth. Precision is 1 when nothing was
//!   detected, recall 1 when there is nothing to find; F1 is 0 when both are 0.
//! - **Cells**: result cells match truth cells by nucleus centroid, closest first, within
//!   5 µm. `cell_count_mae` = mean over truth cells of |predicted − true migrasome_count|,
//!   an unmatched truth cell counting as predicted 0 (likewise released and per-cargo counts).
//! - **Cargo accuracy**: over matched migrasomes, predicted `<cargo>_positive` == truth, per
//!   cargo channel and pooled over channels; **released accuracy** likewise. `null` in JSON
//!   (`n/a` in the table) when nothing matched.
//! - **Bodies** (when the truth folder has `truth_bodies.tif`): `body_dice` = Dice of (truth
//!   label != 0) and (predicted label != 0), pooled over frames (2·Σ|A∩B| / (Σ|A| + Σ|B|); 1
//!   when both are empty), the prediction read from `images/<image>/<image>_bodies.tif` (or
//!   `<image>_bodies.tif`) in the results
//!   (`null` when either file is missing). `fp_near_body_per_cell` = false-positive
//!   detections whose centroid pixel lies within 2 µm of a truth body pixel (centre to
//!   centre; 0 inside a body), divided by the truth cells (pooled over frames, like
//!   `cells_truth`); `null` without `truth_bodies.tif`.
//!
//! - **Movies** (`synth --dynamics` truth: `truth_migrasomes.csv` with `track_id` and
//!   `visible`): a truth row with `visible` 0 (a blinking migrasome, dimmed below detection)
//!   is left out of the detection scores; with ≥ 2 frames and a results `track_id` column the
//!   tracking scores follow (see `tracking`), and with `truth_events.csv` and the results'
//!   `events.csv` the event scores. Without a results `track_id` they are skipped with a note.
//! - **Uptake** (`synth --uptake-channel` truth: `truth_uptake.csv`): per truth cell and
//!   frame, the labelled puncta inside against the results' `uptake.csv` (cells matched as
//!   above): count MAE and exact fraction, and the field's curve (`frames.csv`'s
//!   `uptake_puncta`) MAE over frames (see `uptake`). Without `uptake.csv`, a note.
//!
//! Not here: CSV parsing (see `table`), tracking definitions (see `tracking`), detection (see
//! `pipeline`).

pub mod table;
pub mod tracking;
pub mod uptake;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::io::{OpenOptions, PlaneIndex, StackReader};
pub use table::Table;

/// Truth cell matching radius (µm).
pub const CELL_MATCH_UM: f64 = 5.0;
/// Smallest migrasome matching radius (µm).
pub const MIN_MATCH_UM: f64 = 1.0;
/// A false positive this close to a truth body (µm) counts in `fp_near_body`.
pub const NEAR_BODY_UM: f64 = 2.0;

type Key = (String, u64);

/// Per cargo channel scores.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CargoScore {
    pub name: String,
    pub accuracy: Option<f64>,
    /// Matched migrasomes that truth / results call positive.
    pub truth_positive: usize,
    pub predicted_positive: usize,
    pub positive_count_mae: f64,
}

/// The scores of one evaluation.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub cell_count_mae: f64,
    pub cells_matched: usize,
    /// Truth cells whose nucleus lies in the image (the per-cell scores are over these).
    pub cells_truth: usize,
    /// Truth cells whose nucleus lies outside the image (known from `truth_bodies.tif`).
    pub cells_truth_outside: usize,
    /// `cell_count_mae` with those counted too, as predicted 0.
    pub cell_count_mae_with_outside: f64,
    pub cargo_accuracy: Option<f64>,
    pub released_accuracy: Option<f64>,
    pub released_count_mae: f64,
    /// Mean centroid distance of matched pairs (µm).
    pub mean_offset_um: Option<f64>,
    pub frames: usize,
    /// (image, frame) groups in the results that the truth does not have.
    pub unmatched_result_frames: usize,
    pub truth_migrasomes: usize,
    pub detections: usize,
    pub cells_results: usize,
    pub per_cargo: Vec<CargoScore>,
    /// Dice of the body masks (truth vs `<image>_bodies.tif`), pooled over frames.
    pub body_dice: Option<f64>,
    /// False positives within 2 µm of a truth body, and that per truth cell.
    pub fp_near_body: Option<usize>,
    pub fp_near_body_per_cell: Option<f64>,
    /// Tracking scores (movies whose truth has tracks and results have `track_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking: Option<tracking::TrackingScore>,
    /// Why tracking was not scored although the truth has tracks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_note: Option<String>,
    /// Uptake scores (truth with `truth_uptake.csv`, results with `uptake.csv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptake: Option<uptake::UptakeScore>,
    /// Why uptake was not scored although the truth has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptake_note: Option<String>,
}

/// The image name without folders and a TIFF suffix.
pub fn image_key(s: &str) -> String {
    let base = s.trim().rsplit(['/', '\\']).next().unwrap_or("");
    let lower = base.to_ascii_lowercase();
    for suf in [".ome.tiff", ".ome.tif", ".tiff", ".tif"] {
        if lower.ends_with(suf) {
            return base[..base.len() - suf.len()].to_string();
        }
    }
    base.to_string()
}

/// Greedy one-to-one matching of `a` to `b`: pairs within `tol(i)` of each other, closest
/// first (ties by index). Returns `(i, j, distance)`.
pub fn greedy_match(
    a: &[(f64, f64)],
    b: &[(f64, f64)],
    tol: impl Fn(usize) -> f64,
) -> Vec<(usize, usize, f64)> {
    let mut pairs = Vec::new();
    for (i, p) in a.iter().enumerate() {
        let t = tol(i);
        for (j, q) in b.iter().enumerate() {
            let d = (p.0 - q.0).hypot(p.1 - q.1);
            if d <= t {
                pairs.push((i, j, d));
            }
        }
    }
    pairs.sort_by(|x, y| x.2.total_cmp(&y.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
    let (mut ua, mut ub) = (vec![false; a.len()], vec![false; b.len()]);
    pairs
        .into_iter()
        .filter(|&(i, j, _)| {
            let free = !ua[i] && !ub[j];
            if free {
                ua[i] = true;
                ub[j] = true;
            }
            free
        })
        .collect()
}

/// One migrasome row (truth or detection).
struct Mig {
    xy: (f64, f64),
    radius: f64,
    released: bool,
    cargo: Vec<bool>,
}

/// One cell row.
struct CellRow {
    xy: (f64, f64),
    count: f64,
    released: f64,
    cargo: Vec<f64>,
}

fn key(t: &Table, r: usize, ci: usize, cf: usize) -> Result<Key> {
    Ok((image_key(t.text(r, ci)), t.int(r, cf)?))
}

fn read_migs(path: &Path, cargo: &[String], truth: bool) -> Result<BTreeMap<Key, Vec<Mig>>> {
    let t = Table::read(path)?;
    let (ci, cf, cx, cy) = (
        t.col("image")?,
        t.col("frame")?,
        t.col("x_um")?,
        t.col("y_um")?,
    );
    let cd = if truth {
        Some(t.col("diameter_um")?)
    } else {
        None
    };
    let cr = t.col("released")?;
    // movie truth: a blinking migrasome (visible 0) is not in the image
    let cv = if truth { t.col("visible").ok() } else { None };
    let cc: Vec<usize> =
        (cargo.iter().map(|c| t.col(&format!("{c}_positive")))).collect::<Result<_>>()?;
    let mut out: BTreeMap<Key, Vec<Mig>> = BTreeMap::new();
    for r in 0..t.rows.len() {
        if let Some(c) = cv
            && !t.flag(r, c)?
        {
            continue;
        }
        let m = Mig {
            xy: (t.num(r, cx)?, t.num(r, cy)?),
            radius: match cd {
                Some(c) => 0.5 * t.num(r, c)?,
                None => 0.0,
            },
            released: t.flag(r, cr)?,
            cargo: cc.iter().map(|&c| t.flag(r, c)).collect::<Result<_>>()?,
        };
        out.entry(key(&t, r, ci, cf)?).or_default().push(m);
    }
    Ok(out)
}

fn read_cells(path: &Path, cargo: &[String]) -> Result<BTreeMap<Key, Vec<CellRow>>> {
    let t = Table::read(path)?;
    let (ci, cf, cx, cy) = (
        t.col("image")?,
        t.col("frame")?,
        t.col("x_um")?,
        t.col("y_um")?,
    );
    let (cn, cr) = (t.col("migrasome_count")?, t.col("released_count")?);
    let cc: Vec<usize> =
        (cargo.iter().map(|c| t.col(&format!("{c}_positive_count")))).collect::<Result<_>>()?;
    let mut out: BTreeMap<Key, Vec<CellRow>> = BTreeMap::new();
    for r in 0..t.rows.len() {
        let c = CellRow {
            xy: (t.num(r, cx)?, t.num(r, cy)?),
            count: t.num(r, cn)?,
            released: t.num(r, cr)?,
            cargo: cc.iter().map(|&c| t.num(r, c)).collect::<Result<_>>()?,
        };
        out.entry(key(&t, r, ci, cf)?).or_default().push(c);
    }
    Ok(out)
}

/// The cargo channels of a truth migrasome table: its `<name>_positive` columns.
fn cargo_names(path: &Path) -> Result<Vec<String>> {
    let t = Table::read(path)?;
    Ok(t.header
        .iter()
        .filter_map(|h| h.strip_suffix("_positive").map(str::to_string))
        .collect())
}

fn ratio(n: usize, d: usize) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// Scores the results in `results` (`migrasomes.csv`, `cells.csv`) against the truth in
/// `truth` (`truth_migrasomes.csv`, `truth_cells.csv`).
pub fn evaluate(truth: &Path, results: &Path) -> Result<Report> {
    for d in [truth, results] {
        if !d.is_dir() {
            return Err(Error::invalid(format!("{}: not a folder", d.display())));
        }
    }
    let tm_path = truth.join("truth_migrasomes.csv");
    let cargo = cargo_names(&tm_path)?;
    let tm = read_migs(&tm_path, &cargo, true)?;
    let rm = read_migs(&results.join("migrasomes.csv"), &cargo, false)?;
    let tc = read_cells(&truth.join("truth_cells.csv"), &cargo)?;
    let rc = read_cells(&results.join("cells.csv"), &cargo)?;

    let nc = cargo.len();
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    let (mut rel_ok, mut offset) = (0, 0.0);
    let mut cargo_ok = vec![0usize; nc];
    let mut cargo_tpos = vec![0usize; nc];
    let mut cargo_ppos = vec![0usize; nc];
    let empty = Vec::new();
    // Unmatched detections: (image, frame) and centroid.
    let mut fps: Vec<(&Key, (f64, f64))> = Vec::new();
    for (k, truth_rows) in &tm {
        let dets = rm.get(k).unwrap_or(&empty);
        let a: Vec<_> = truth_rows.iter().map(|m| m.xy).collect();
        let b: Vec<_> = dets.iter().map(|m| m.xy).collect();
        let pairs = greedy_match(&a, &b, |i| MIN_MATCH_UM.max(truth_rows[i].radius));
        tp += pairs.len();
        fn_ += a.len() - pairs.len();
        fp += b.len() - pairs.len();
        let mut matched = vec![false; b.len()];
        pairs.iter().for_each(|&(_, j, _)| matched[j] = true);
        fps.extend(
            (b.iter().zip(&matched))
                .filter(|(_, m)| !**m)
                .map(|(p, _)| (k, *p)),
        );
        for &(i, j, d) in &pairs {
            let (t, p) = (&truth_rows[i], &dets[j]);
            offset += d;
            rel_ok += usize::from(t.released == p.released);
            for c in 0..nc {
                cargo_ok[c] += usize::from(t.cargo[c] == p.cargo[c]);
                cargo_tpos[c] += usize::from(t.cargo[c]);
                cargo_ppos[c] += usize::from(p.cargo[c]);
            }
        }
    }
    let mut unmatched_frames = 0;
    for (k, dets) in &rm {
        if !tm.contains_key(k) && !tc.contains_key(k) {
            unmatched_frames += 1;
        }
        if !tm.contains_key(k) {
            fp += dets.len();
            fps.extend(dets.iter().map(|d| (k, d.xy)));
        }
    }

    let (mut cells_truth, mut cells_matched, mut cells_outside) = (0, 0, 0);
    let (mut count_err, mut rel_err, mut count_err_outside) = (0.0, 0.0, 0.0);
    let mut cargo_err = vec![0.0; nc];
    let field = field_extent(truth)?;
    for (k, truth_cells) in &tc {
        let preds = rc.get(k).map(Vec::as_slice).unwrap_or(&[]);
        // a truth cell whose nucleus lies outside the image is no cell of it (no tool can
        // match it by its nucleus); its migrasomes still count as migrasomes
        let (truth_cells, outside): (Vec<&CellRow>, Vec<&CellRow>) = truth_cells
            .iter()
            .partition(|c| field.is_none_or(|f| f.contains(c.xy)));
        cells_outside += outside.len();
        count_err_outside += outside.iter().map(|c| c.count).sum::<f64>();
        let a: Vec<_> = truth_cells.iter().map(|c| c.xy).collect();
        let b: Vec<_> = preds.iter().map(|c| c.xy).collect();
        let mut pred_of = vec![None; a.len()];
        for (i, j, _) in greedy_match(&a, &b, |_| CELL_MATCH_UM) {
            pred_of[i] = Some(&preds[j]);
        }
        cells_truth += a.len();
        for (t, p) in truth_cells.into_iter().zip(pred_of) {
            cells_matched += usize::from(p.is_some());
            count_err += (t.count - p.map_or(0.0, |p| p.count)).abs();
            rel_err += (t.released - p.map_or(0.0, |p| p.released)).abs();
            for (c, e) in cargo_err.iter_mut().enumerate() {
                *e += (t.cargo[c] - p.map_or(0.0, |p| p.cargo[c])).abs();
            }
        }
    }
    let per_cell = |e: f64| {
        if cells_truth > 0 {
            e / cells_truth as f64
        } else {
            0.0
        }
    };

    let images: std::collections::BTreeSet<&str> =
        tc.keys().chain(tm.keys()).map(|k| k.0.as_str()).collect();
    let bodies = score_bodies(truth, results, &images, &fps)?;
    let (tracking, tracking_note) = score_tracking(truth, results)?;
    let (uptake, uptake_note) =
        match uptake::score(truth, results, |xy| field.is_none_or(|f| f.contains(xy)))? {
            None => (None, None),
            Some(Ok(u)) => (Some(u), None),
            Some(Err(note)) => (None, Some(note)),
        };

    let precision = ratio(tp, tp + fp).unwrap_or(1.0);
    let recall = ratio(tp, tp + fn_).unwrap_or(1.0);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let per_cargo = (0..nc)
        .map(|c| CargoScore {
            name: cargo[c].clone(),
            accuracy: ratio(cargo_ok[c], tp),
            truth_positive: cargo_tpos[c],
            predicted_positive: cargo_ppos[c],
            positive_count_mae: per_cell(cargo_err[c]),
        })
        .collect();
    Ok(Report {
        tp,
        fp,
        fn_,
        precision,
        recall,
        f1,
        cell_count_mae: per_cell(count_err),
        cells_matched,
        cells_truth,
        cells_truth_outside: cells_outside,
        cell_count_mae_with_outside: if cells_truth + cells_outside > 0 {
            (count_err + count_err_outside) / (cells_truth + cells_outside) as f64
        } else {
            0.0
        },
        cargo_accuracy: ratio(cargo_ok.iter().sum(), tp * nc),
        released_accuracy: ratio(rel_ok, tp),
        released_count_mae: per_cell(rel_err),
        mean_offset_um: (tp > 0).then(|| offset / tp as f64),
        frames: tc
            .keys()
            .chain(tm.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        unmatched_result_frames: unmatched_frames,
        truth_migrasomes: tm.values().map(Vec::len).sum(),
        detections: rm.values().map(Vec::len).sum(),
        cells_results: rc.values().map(Vec::len).sum(),
        per_cargo,
        body_dice: bodies.dice,
        fp_near_body: bodies.near,
        fp_near_body_per_cell: bodies.near.and_then(|n| ratio(n, cells_truth)),
        tracking,
        tracking_note,
        uptake,
        uptake_note,
    })
}

/// The tracking and event scores when the truth has tracks (a `track_id` column and ≥ 2
/// frames); a note instead when the results cannot be scored.
fn score_tracking(
    truth: &Path,
    results: &Path,
) -> Result<(Option<tracking::TrackingScore>, Option<String>)> {
    let tt = Table::read(&truth.join("truth_migrasomes.csv"))?;
    if tt.col("track_id").is_err() {
        return Ok((None, None));
    }
    let tdets = tracking::read_dets(&tt)?;
    let frames: std::collections::BTreeSet<u64> = tdets.iter().map(|d| d.frame).collect();
    if frames.len() < 2 {
        return Ok((None, None));
    }
    let rpath = results.join("migrasomes.csv");
    let rt = Table::read(&rpath)?;
    if rt.col("track_id").is_err() {
        return Ok((
            None,
            Some(format!(
                "tracking not scored: {} has no track_id column",
                rpath.display()
            )),
        ));
    }
    let mut score = tracking::score(&tdets, &tracking::read_dets(&rt)?)?;
    let (te, re) = (truth.join("truth_events.csv"), results.join("events.csv"));
    if !te.is_file() {
        score.events_note = Some(format!("not scored: no {}", te.display()));
    } else if !re.is_file() {
        score.events_note = Some(format!("not scored: no {}", re.display()));
    } else {
        let truth_ev = tracking::read_events(&Table::read(&te)?)?;
        let pred_ev = tracking::read_events(&Table::read(&re)?)?;
        score.events = tracking::score_events(&truth_ev, &pred_ev, &tracking::truth_tracks(&tdets));
    }
    Ok((Some(score), None))
}

/// Body scores: Dice, and false positives near a truth body.
struct BodyScores {
    dice: Option<f64>,
    near: Option<usize>,
}

/// The image's extent in µm (coordinates from the centre of pixel (0, 0)), from
/// `truth_bodies.tif`; `None` without it.
#[derive(Clone, Copy, Debug)]
struct Field {
    width_um: f64,
    height_um: f64,
    pixel_um: f64,
}

impl Field {
    fn contains(&self, (x, y): (f64, f64)) -> bool {
        let h = self.pixel_um / 2.0;
        (-h..self.width_um - h).contains(&x) && (-h..self.height_um - h).contains(&y)
    }
}

fn field_extent(truth: &Path) -> Result<Option<Field>> {
    let tpath = truth.join("truth_bodies.tif");
    if !tpath.is_file() {
        return Ok(None);
    }
    let r = StackReader::open(&tpath, &OpenOptions::default())?;
    let info = r.info();
    let Some(px) = info.pixel_size_um.x.filter(|p| *p > 0.0) else {
        return Err(Error::format(&tpath, "calibration", "no pixel size"));
    };
    Ok(Some(Field {
        width_um: info.shape.x as f64 * px,
        height_um: info.shape.y as f64 * px,
        pixel_um: px,
    }))
}

/// A label stack read as masks (label != 0), one per frame (z = 0), with its pixel size.
struct Masks {
    width: usize,
    height: usize,
    frames: Vec<Vec<bool>>,
    pixel_size_um: Option<f64>,
}

fn read_masks(path: &Path) -> Result<Masks> {
    let r = StackReader::open(path, &OpenOptions::default())?;
    let info = r.info().clone();
    let (width, height) = (info.shape.x, info.shape.y);
    let frames = (0..info.shape.t)
        .map(|t| {
            let p = r.read_plane(PlaneIndex { t, c: 0, z: 0 })?;
            Ok((0..p.data.len())
                .map(|i| p.data.get_f64(i) != 0.0)
                .collect())
        })
        .collect::<Result<_>>()?;
    Ok(Masks {
        width,
        height,
        frames,
        pixel_size_um: info.pixel_size_um.x,
    })
}

/// Scores `images/<image>/<image>_bodies.tif` (or `<image>_bodies.tif`) in `results` against `truth_bodies.tif` in `truth` (the truth
/// holds one image: the only name in its tables), and counts the false positives `fps` within
/// [`NEAR_BODY_UM`] of a truth body.
fn score_bodies(
    truth: &Path,
    results: &Path,
    images: &std::collections::BTreeSet<&str>,
    fps: &[(&Key, (f64, f64))],
) -> Result<BodyScores> {
    let none = BodyScores {
        dice: None,
        near: None,
    };
    let tpath = truth.join("truth_bodies.tif");
    if !tpath.is_file() {
        return Ok(none);
    }
    let [name] = images.iter().copied().collect::<Vec<_>>()[..] else {
        return Err(Error::invalid(format!(
            "{}: the truth tables name {} images; truth_bodies.tif needs exactly one",
            truth.display(),
            images.len()
        )));
    };
    let tm = read_masks(&tpath)?;
    // `analyze` writes it in the image's folder; a results folder may also hold it at the top
    let in_folder = results
        .join(crate::report::outdir::IMAGES)
        .join(name)
        .join(format!("{name}_bodies.tif"));
    let rpath = if in_folder.is_file() {
        in_folder
    } else {
        results.join(format!("{name}_bodies.tif"))
    };
    let dice = if rpath.is_file() {
        let rmk = read_masks(&rpath)?;
        if (rmk.width, rmk.height, rmk.frames.len()) != (tm.width, tm.height, tm.frames.len()) {
            return Err(Error::invalid(format!(
                "{}: {}x{} px, {} frame(s); {} has {}x{} px, {} frame(s)",
                rpath.display(),
                rmk.width,
                rmk.height,
                rmk.frames.len(),
                tpath.display(),
                tm.width,
                tm.height,
                tm.frames.len()
            )));
        }
        let (mut inter, mut total) = (0usize, 0usize);
        for (a, b) in tm.frames.iter().zip(&rmk.frames) {
            for (&x, &y) in a.iter().zip(b) {
                inter += usize::from(x && y);
                total += usize::from(x) + usize::from(y);
            }
        }
        Some(if total == 0 {
            1.0
        } else {
            2.0 * inter as f64 / total as f64
        })
    } else {
        None
    };
    let Some(px) = tm.pixel_size_um.filter(|p| *p > 0.0) else {
        return Err(Error::format(&tpath, "calibration", "no pixel size"));
    };
    let reach = (NEAR_BODY_UM / px).floor() as isize;
    let (w, h) = (tm.width as isize, tm.height as isize);
    let near = fps
        .iter()
        .filter(|((image, frame), (x, y))| {
            let Some(mask) = (image == name)
                .then(|| tm.frames.get(*frame as usize))
                .flatten()
            else {
                return false;
            };
            let (ci, cj) = ((y / px).round() as isize, (x / px).round() as isize);
            (-reach..=reach).any(|di| {
                (-reach..=reach).any(|dj| {
                    let (i, j) = (ci + di, cj + dj);
                    (0..h).contains(&i)
                        && (0..w).contains(&j)
                        && ((di * di + dj * dj) as f64) * px * px <= NEAR_BODY_UM * NEAR_BODY_UM
                        && mask[(i * w + j) as usize]
                })
            })
        })
        .count();
    Ok(BodyScores {
        dice,
        near: Some(near),
    })
}

fn opt(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.3}"))
}

impl Report {
    /// The report as one JSON line.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// A human-readable table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "migrasomes  TP {}  FP {}  FN {}  precision {:.3}  recall {:.3}  F1 {:.3}  \
             (truth {}, detected {}, mean offset {} µm)\n",
            self.tp,
            self.fp,
            self.fn_,
            self.precision,
            self.recall,
            self.f1,
            self.truth_migrasomes,
            self.detections,
            opt(self.mean_offset_um)
        );
        s += &format!(
            "cells       matched {}/{} (results {})  migrasome count MAE {:.3}  released count MAE {:.3}\n",
            self.cells_matched,
            self.cells_truth,
            self.cells_results,
            self.cell_count_mae,
            self.released_count_mae
        );
        if self.cells_truth_outside > 0 {
            s += &format!(
                "            {} truth cell(s) with the nucleus outside the image left out; with them: count MAE {:.3}\n",
                self.cells_truth_outside, self.cell_count_mae_with_outside
            );
        }
        s += &format!(
            "released    accuracy {} over {} matched\n",
            opt(self.released_accuracy),
            self.tp
        );
        for c in &self.per_cargo {
            s += &format!(
                "{:<11} accuracy {}  positive: truth {}, predicted {}  positive count MAE {:.3}\n",
                c.name,
                opt(c.accuracy),
                c.truth_positive,
                c.predicted_positive,
                c.positive_count_mae
            );
        }
        s += &format!(
            "cargo       accuracy {} (all cargo channels)\n",
            opt(self.cargo_accuracy)
        );
        s += &format!(
            "bodies      Dice {}  false positives within {NEAR_BODY_UM} µm of a body: {} ({} per truth cell)\n",
            opt(self.body_dice),
            self.fp_near_body.map_or("n/a".into(), |n| n.to_string()),
            opt(self.fp_near_body_per_cell)
        );
        s += &format!(
            "frames      {} in truth; {} result frame(s) not in truth\n",
            self.frames, self.unmatched_result_frames
        );
        if let Some(t) = &self.tracking {
            s += &t.table();
        }
        if let Some(n) = &self.tracking_note {
            s += &format!("tracking    {n}\n");
        }
        if let Some(u) = &self.uptake {
            s += &u.table();
        }
        if let Some(n) = &self.uptake_note {
            s += &format!("uptake      {n}\n");
        }
        s += &format!(
            "rules: detection matches truth within max({MIN_MATCH_UM} µm, truth radius), one-to-one, \
             closest pairs first; cells by nucleus within {CELL_MATCH_UM} µm (unmatched truth cells count 0; \
             truth cells with the nucleus outside the image are left out)"
        );
        s
    }
}
