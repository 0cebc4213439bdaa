//! Conditions compared from `analyze` results: the per-cell values of one or more results
//! folders (`cells.csv`, and `migrasomes.csv` for per-cell means of per-migrasome values),
//! grouped by the `condition` and `replicate` columns the sample sheet adds, averaged to the
//! chosen unit, described and tested against the control (see [`compare`]).
//!
//! Metrics: every per-cell column of `cells.csv` before `condition` other than the cell's
//! identity and position (`migrasome_count`, `released_count`, `<cargo>_positive_count`,
//! `area_um2`, `territory_area_um2`), and `migrasome_<column>`: the mean over a cell's
//! migrasomes of a `migrasomes.csv` column (`diameter_um`, `area_um2`, `released`,
//! `<cargo>_positive`, `mean_<channel>`; not `fiber_contact`, `fiber_contact_window` nor `persisted`); a cell
//! without migrasomes has no value there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Describe, Test, describe, run_test, stars};
use crate::error::{Error, Result};
use crate::evaluate::table::Table;

/// What one value of a test is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Every cell of every frame
    Cell,
    /// The mean of the cells of one image (all its frames)
    Image,
    /// The mean of the cells of one replicate (of one condition)
    Replicate,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Cell => "cell",
            Unit::Image => "image",
            Unit::Replicate => "replicate",
        }
    }
}

/// The metrics compared when none are asked for (those present).
pub const DEFAULT_METRICS: [&str; 3] =
    ["migrasome_count", "released_count", "migrasome_diameter_um"];

/// One cell of one frame: its condition, replicate, image and metric values (NaN: none).
#[derive(Debug, Clone)]
pub struct CellValues {
    pub condition: String,
    pub replicate: String,
    /// (index of the results folder, image name)
    pub image: (usize, String),
    /// The frame (time point) of the image.
    pub frame: usize,
    pub values: Vec<f64>,
}

/// The cells of the results folders.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Metric names, in the order of the tables (`cells.csv` then `migrasome_*`).
    pub metrics: Vec<String>,
    pub cells: Vec<CellValues>,
    /// Conditions in order of first appearance.
    pub conditions: Vec<String>,
}

/// Columns of `cells.csv` that are not metrics.
const CELL_IDS: [&str; 6] = ["image", "frame", "z", "cell_id", "x_um", "y_um"];
/// Columns of `migrasomes.csv` that are not per-migrasome values.
const MIGRASOME_IDS: [&str; 9] = [
    "image",
    "frame",
    "z",
    "migrasome_id",
    "track_id",
    "cell_id",
    "origin_cell_id",
    "x_um",
    "y_um",
];

fn is_migrasome_value(c: &str) -> bool {
    // the fiber contact is evidence for the release call and `persisted` says how a
    // detection was counted: neither is a property to compare
    !MIGRASOME_IDS.contains(&c)
        && c != "fiber_contact"
        && c != "fiber_contact_window"
        && c != "persisted"
        && !c.starts_with("sum_")
        && !c.starts_with("max_")
        && !c.ends_with("_background_mean")
        && !c.ends_with("_background_sd")
}

/// The metric columns of a table: before `condition`, not in `ids`.
fn metric_columns(t: &Table, keep: impl Fn(&str) -> bool) -> Vec<(usize, String)> {
    t.header
        .iter()
        .enumerate()
        .take_while(|(_, h)| h.as_str() != "condition")
        .filter(|(_, h)| keep(h))
        .map(|(i, h)| (i, h.clone()))
        .collect()
}

type CellKey = (String, String, String, String); // image, frame, z, cell_id

/// Reads the cells of `dirs` (each an `analyze --out` folder).
pub fn load(dirs: &[PathBuf]) -> Result<Dataset> {
    let mut ds = Dataset::default();
    let mut metric_index: HashMap<String, usize> = HashMap::new();
    let mut index_of = |ds: &mut Dataset, name: &str| -> usize {
        *metric_index.entry(name.to_string()).or_insert_with(|| {
            ds.metrics.push(name.to_string());
            for c in &mut ds.cells {
                c.values.push(f64::NAN);
            }
            ds.metrics.len() - 1
        })
    };
    for (d, dir) in dirs.iter().enumerate() {
        if !dir.is_dir() {
            return Err(Error::io(
                dir,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not a results folder (analyze --out)",
                ),
            ));
        }
        let cells = Table::read(&dir.join("cells.csv"))?;
        let [image, frame, z, id, cond, rep] =
            ["image", "frame", "z", "cell_id", "condition", "replicate"].map(|c| cells.col(c));
        let (image, frame, z, id) = (image?, frame?, z?, id?);
        let (cond, rep) = (
            cond.map_err(|_| no_condition(&cells.path))?,
            rep.map_err(|_| no_condition(&cells.path))?,
        );
        let cols: Vec<(usize, usize)> = metric_columns(&cells, |h| !CELL_IDS.contains(&h))
            .into_iter()
            .map(|(c, name)| (c, index_of(&mut ds, &name)))
            .collect();
        let first = ds.cells.len();
        let mut by_key: HashMap<CellKey, usize> = HashMap::new();
        for r in 0..cells.rows.len() {
            let condition = cells.text(r, cond).trim().to_string();
            if condition.is_empty() {
                let line = cells.rows[r].0;
                return Err(Error::invalid(format!(
                    "{}: line {line}: no condition (run analyze with --samples SHEET.csv)",
                    cells.path.display()
                )));
            }
            if !ds.conditions.contains(&condition) {
                ds.conditions.push(condition.clone());
            }
            let mut values = vec![f64::NAN; ds.metrics.len()];
            for &(c, m) in &cols {
                // an empty field is no value (a rate of a single-frame image)
                values[m] = if cells.text(r, c).trim().is_empty() {
                    f64::NAN
                } else {
                    cells.num(r, c)?
                };
            }
            let key = (image, frame, z, id).map4(|c| cells.text(r, c).trim().to_string());
            let t = cells.num(r, frame)?;
            if !(t >= 0.0 && t.fract() == 0.0) {
                let line = cells.rows[r].0;
                return Err(Error::format(
                    &cells.path,
                    format!("line {line}"),
                    format!("frame '{}' is not a whole number", cells.text(r, frame)),
                ));
            }
            by_key.insert(key, ds.cells.len());
            ds.cells.push(CellValues {
                condition,
                replicate: cells.text(r, rep).trim().to_string(),
                image: (d, cells.text(r, image).to_string()),
                frame: t as usize,
                values,
            });
        }
        // per-cell means of the per-migrasome values
        let mpath = dir.join("migrasomes.csv");
        let migr = Table::read(&mpath)?;
        let [image, frame, z, id] = ["image", "frame", "z", "cell_id"].map(|c| migr.col(c));
        let (image, frame, z, id) = (image?, frame?, z?, id?);
        let mcols: Vec<(usize, usize)> = metric_columns(&migr, is_migrasome_value)
            .into_iter()
            .map(|(c, name)| (c, index_of(&mut ds, &format!("migrasome_{name}"))))
            .collect();
        let mut acc: HashMap<usize, (Vec<f64>, usize)> = HashMap::new();
        for r in 0..migr.rows.len() {
            let key = (image, frame, z, id).map4(|c| migr.text(r, c).trim().to_string());
            if key.3 == "0" {
                continue; // nobody's migrasome
            }
            let Some(&cell) = by_key.get(&key) else {
                let line = migr.rows[r].0;
                return Err(Error::format(
                    &migr.path,
                    format!("line {line}"),
                    format!(
                        "cell {} of image '{}' frame {} z {} is not in cells.csv",
                        key.3, key.0, key.1, key.2
                    ),
                ));
            };
            let e = acc
                .entry(cell)
                .or_insert_with(|| (vec![0.0; mcols.len()], 0));
            for (k, &(c, _)) in mcols.iter().enumerate() {
                e.0[k] += migr.num(r, c)?;
            }
            e.1 += 1;
        }
        for (cell, (sums, n)) in acc {
            for (k, &(_, m)) in mcols.iter().enumerate() {
                ds.cells[cell].values[m] = sums[k] / n as f64;
            }
        }
        debug_assert!(
            ds.cells[first..]
                .iter()
                .all(|c| c.values.len() == ds.metrics.len())
        );
    }
    for c in &mut ds.cells {
        c.values.resize(ds.metrics.len(), f64::NAN);
    }
    // a metric no cell has a value of (the rates of single-frame images) is no metric
    let keep: Vec<bool> = (0..ds.metrics.len())
        .map(|m| ds.cells.iter().any(|c| !c.values[m].is_nan()))
        .collect();
    if keep.iter().any(|k| !k) {
        let mut i = 0;
        ds.metrics.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        for c in &mut ds.cells {
            let mut i = 0;
            c.values.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        }
    }
    Ok(ds)
}

trait Map4<T> {
    fn map4<U>(self, f: impl Fn(T) -> U) -> (U, U, U, U);
}
impl<T> Map4<T> for (T, T, T, T) {
    fn map4<U>(self, f: impl Fn(T) -> U) -> (U, U, U, U) {
        (f(self.0), f(self.1), f(self.2), f(self.3))
    }
}

fn no_condition(path: &Path) -> Error {
    Error::format(
        path,
        "header",
        "no 'condition'/'replicate' columns (results of an older migrascope: analyze again \
         with --samples SHEET.csv)",
    )
}

/// One metric, one condition against the control.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub metric: String,
    pub unit: Unit,
    pub control: String,
    pub group: String,
    pub n_control: usize,
    pub n_group: usize,
    pub mean_control: f64,
    pub mean_group: f64,
    pub sd_control: f64,
    pub sd_group: f64,
    pub sem_control: f64,
    pub sem_group: f64,
    pub median_control: f64,
    pub median_group: f64,
    pub test: Test,
    /// t (group minus control), or U of the group.
    pub statistic: f64,
    /// t-tests only (null for Mann–Whitney).
    pub df: Option<f64>,
    pub p: f64,
    pub stars: &'static str,
    /// mean_group / mean_control.
    pub fold_change: f64,
    /// Mann–Whitney: "exact" or "asymptotic"; t-tests: "t".
    pub method: &'static str,
}

/// The values of `metric` at `unit`, per condition (in the order of `ds.conditions`).
pub fn unit_values(ds: &Dataset, metric: usize, unit: Unit) -> Result<Vec<Vec<f64>>> {
    let mut out = vec![Vec::new(); ds.conditions.len()];
    let ci = |c: &str| ds.conditions.iter().position(|x| x == c).expect("known");
    if unit == Unit::Cell {
        for c in ds.cells.iter().filter(|c| !c.values[metric].is_nan()) {
            out[ci(&c.condition)].push(c.values[metric]);
        }
        return Ok(out);
    }
    // (condition, unit key) → (sum, n), in order of appearance
    let mut order: Vec<(usize, String, usize)> = Vec::new();
    let mut acc: HashMap<(usize, String, usize), (f64, usize)> = HashMap::new();
    for c in &ds.cells {
        let key = match unit {
            Unit::Image => (ci(&c.condition), c.image.1.clone(), c.image.0),
            _ => {
                if c.replicate.is_empty() {
                    return Err(Error::invalid(format!(
                        "--unit replicate: condition '{}' has cells without a replicate (the \
                         sample sheet's 'replicate' column)",
                        c.condition
                    )));
                }
                (ci(&c.condition), c.replicate.clone(), usize::MAX)
            }
        };
        let v = c.values[metric];
        let e = acc.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            (0.0, 0)
        });
        if !v.is_nan() {
            e.0 += v;
            e.1 += 1;
        }
    }
    for k in order {
        let (s, n) = acc[&k];
        if n > 0 {
            out[k.0].push(s / n as f64);
        }
    }
    Ok(out)
}

/// Describes every condition and tests it against `control` for each of `metrics`
/// (all of [`DEFAULT_METRICS`] present when empty). Usage errors: an unknown metric or
/// control, a single condition, fewer than 2 values in a group.
pub fn compare(
    ds: &Dataset,
    metrics: &[String],
    control: Option<&str>,
    test: Test,
    unit: Unit,
) -> Result<Vec<Comparison>> {
    let metrics: Vec<String> = if metrics.is_empty() {
        DEFAULT_METRICS
            .iter()
            .filter(|m| ds.metrics.iter().any(|x| x == *m))
            .map(|m| m.to_string())
            .collect()
    } else {
        metrics.to_vec()
    };
    let control = match control {
        Some(c) => c.to_string(),
        None => ds
            .conditions
            .first()
            .cloned()
            .ok_or_else(|| Error::invalid("no cells in the results"))?,
    };
    let Some(ctl) = ds.conditions.iter().position(|c| *c == control) else {
        return Err(Error::invalid(format!(
            "--control: no condition '{control}' (conditions: {})",
            ds.conditions.join(", ")
        )));
    };
    if ds.conditions.len() < 2 {
        return Err(Error::invalid(format!(
            "only one condition ('{control}') in the results: nothing to compare"
        )));
    }
    let mut out = Vec::new();
    for m in &metrics {
        let Some(mi) = ds.metrics.iter().position(|x| x == m) else {
            return Err(Error::invalid(format!(
                "--metric: no metric '{m}' (metrics: {})",
                ds.metrics.join(", ")
            )));
        };
        let values = unit_values(ds, mi, unit)?;
        for (g, name) in ds.conditions.iter().enumerate() {
            if values[g].len() < 2 {
                return Err(Error::invalid(format!(
                    "metric '{m}', condition '{name}': {} value(s) at --unit {}, a test needs \
                     at least 2",
                    values[g].len(),
                    unit.name()
                )));
            }
        }
        let dc: Describe = describe(&values[ctl]);
        for (g, name) in ds.conditions.iter().enumerate() {
            if g == ctl {
                continue;
            }
            let dg = describe(&values[g]);
            let r = run_test(test, &values[g], &values[ctl]);
            out.push(Comparison {
                metric: m.clone(),
                unit,
                control: control.clone(),
                group: name.clone(),
                n_control: dc.n,
                n_group: dg.n,
                mean_control: dc.mean,
                mean_group: dg.mean,
                sd_control: dc.sd,
                sd_group: dg.sd,
                sem_control: dc.sem,
                sem_group: dg.sem,
                median_control: dc.median,
                median_group: dg.median,
                test,
                statistic: r.statistic,
                df: (!r.df.is_nan()).then_some(r.df),
                p: r.p,
                stars: stars(r.p),
                fold_change: dg.mean / dc.mean,
                method: match (test, r.exact) {
                    (Test::MannWhitney, true) => "exact",
                    (Test::MannWhitney, false) => "asymptotic",
                    _ => "t",
                },
            });
        }
    }
    Ok(out)
}

/// The columns of `stats.csv`, in order.
pub const STATS_COLUMNS: [&str; 21] = [
    "metric",
    "unit",
    "control",
    "group",
    "n_control",
    "n_group",
    "mean_control",
    "mean_group",
    "sd_control",
    "sd_group",
    "sem_control",
    "sem_group",
    "median_control",
    "median_group",
    "test",
    "method",
    "statistic",
    "df",
    "p",
    "stars",
    "fold_change",
];

/// A number at full precision (shortest text that reads back exactly); empty for NaN.
fn num(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else if v == 0.0 || (1e-4..1e15).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

impl Comparison {
    /// The fields of a `stats.csv` row (see [`STATS_COLUMNS`]).
    pub fn fields(&self) -> Vec<String> {
        vec![
            self.metric.clone(),
            self.unit.name().into(),
            self.control.clone(),
            self.group.clone(),
            self.n_control.to_string(),
            self.n_group.to_string(),
            num(self.mean_control),
            num(self.mean_group),
            num(self.sd_control),
            num(self.sd_group),
            num(self.sem_control),
            num(self.sem_group),
            num(self.median_control),
            num(self.median_group),
            self.test.name().into(),
            self.method.into(),
            num(self.statistic),
            self.df.map(num).unwrap_or_default(),
            num(self.p),
            self.stars.into(),
            num(self.fold_change),
        ]
    }
}
