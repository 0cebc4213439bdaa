//! Uptake scores (`synth --uptake-channel` truth against `analyze --uptake CH` results).
//!
//! - Truth: `truth_uptake.csv` (`image,frame,cell_id,puncta_inside`), the truth cells'
//!   nucleus centroids from `truth_cells.csv`. Results: `uptake.csv` (`cell_id`,
//!   `puncta_inside` per frame), the result cells' nucleus centroids from `cells.csv`,
//!   `frames.csv`'s `uptake_puncta`.
//! - Cells match as for the counts (nucleus centroids within 5 µm, one to one, closest
//!   first, per image and frame); truth cells whose nucleus lies outside the image are left
//!   out. A truth cell without a match, or a matched cell without an `uptake.csv` row,
//!   counts as predicted 0.
//! - `count_mae`: mean over (truth cell, frame) of |predicted − true puncta inside|;
//!   `exact_fraction`: the share of them predicted exactly.
//! - The field's curve: per truth frame, the sum of the truth counts (in-field cells)
//!   against `frames.csv`'s `uptake_puncta` (every result cell of the frame; 0 where the
//!   frame is missing); `field_mae` = mean over frames of the absolute difference.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{CELL_MATCH_UM, Key, Table, greedy_match, key};
use crate::error::Result;

/// The uptake scores.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct UptakeScore {
    /// (truth cell, frame) pairs scored.
    pub cell_frames: usize,
    pub count_mae: f64,
    pub exact_fraction: f64,
    /// Frames of the field's curve.
    pub frames: usize,
    pub field_mae: f64,
    /// Puncta inside cells summed over cells and frames: truth, and predicted for the
    /// truth cells (matched).
    pub truth_total: u64,
    pub predicted_total: u64,
}

/// (cell id, nucleus x, y) per (image, frame).
type CellsByFrame = BTreeMap<Key, Vec<(u64, (f64, f64))>>;

/// The cells of a cells table.
fn cells(path: &Path) -> Result<CellsByFrame> {
    let t = Table::read(path)?;
    let (ci, cf, cid, cx, cy) = (
        t.col("image")?,
        t.col("frame")?,
        t.col("cell_id")?,
        t.col("x_um")?,
        t.col("y_um")?,
    );
    let mut out: BTreeMap<Key, Vec<_>> = BTreeMap::new();
    for r in 0..t.rows.len() {
        out.entry(key(&t, r, ci, cf)?)
            .or_default()
            .push((t.int(r, cid)?, (t.num(r, cx)?, t.num(r, cy)?)));
    }
    Ok(out)
}

/// `column` of a table by (image, frame, cell id).
fn per_cell(path: &Path, column: &str) -> Result<BTreeMap<(Key, u64), u64>> {
    let t = Table::read(path)?;
    let (ci, cf, cid, cv) = (
        t.col("image")?,
        t.col("frame")?,
        t.col("cell_id")?,
        t.col(column)?,
    );
    let mut out = BTreeMap::new();
    for r in 0..t.rows.len() {
        out.insert((key(&t, r, ci, cf)?, t.int(r, cid)?), t.int(r, cv)?);
    }
    Ok(out)
}

/// The scores, when the truth has `truth_uptake.csv`; `Err(note)` inside `Ok` when the
/// results cannot be scored (no `uptake.csv`).
pub fn score(
    truth: &Path,
    results: &Path,
    in_field: impl Fn((f64, f64)) -> bool,
) -> Result<Option<std::result::Result<UptakeScore, String>>> {
    let tu = truth.join("truth_uptake.csv");
    if !tu.is_file() {
        return Ok(None);
    }
    let ru = results.join(crate::report::tables::UPTAKE_TABLE);
    if !ru.is_file() {
        return Ok(Some(Err(format!(
            "uptake not scored: no {} (analyze --uptake CH)",
            ru.display()
        ))));
    }
    let truth_n = per_cell(&tu, "puncta_inside")?;
    let pred_n = per_cell(&ru, "puncta_inside")?;
    let tc = cells(&truth.join("truth_cells.csv"))?;
    let rc = cells(&results.join("cells.csv"))?;
    let ft = Table::read(&results.join("frames.csv"))?;
    let (fi, ff, fu) = (ft.col("image")?, ft.col("frame")?, ft.col("uptake_puncta")?);
    let mut field_pred: BTreeMap<Key, u64> = BTreeMap::new();
    for r in 0..ft.rows.len() {
        *field_pred.entry(key(&ft, r, fi, ff)?).or_default() += ft.int(r, fu)?;
    }
    let (mut n, mut err, mut exact, mut ttot, mut ptot) = (0usize, 0u64, 0usize, 0u64, 0u64);
    let (mut frames, mut field_err) = (0usize, 0u64);
    let empty = Vec::new();
    for (k, truth_cells) in &tc {
        let truth_cells: Vec<_> = truth_cells.iter().filter(|c| in_field(c.1)).collect();
        let preds = rc.get(k).unwrap_or(&empty);
        let a: Vec<_> = truth_cells.iter().map(|c| c.1).collect();
        let b: Vec<_> = preds.iter().map(|c| c.1).collect();
        let mut pred_of = vec![None; a.len()];
        for (i, j, _) in greedy_match(&a, &b, |_| CELL_MATCH_UM) {
            pred_of[i] = Some(preds[j].0);
        }
        let mut field_truth = 0;
        for (c, p) in truth_cells.iter().zip(pred_of) {
            let t = truth_n.get(&(k.clone(), c.0)).copied().unwrap_or(0);
            let q = p.map_or(0, |id| pred_n.get(&(k.clone(), id)).copied().unwrap_or(0));
            n += 1;
            err += t.abs_diff(q);
            exact += usize::from(t == q);
            ttot += t;
            ptot += q;
            field_truth += t;
        }
        frames += 1;
        field_err += field_truth.abs_diff(field_pred.get(k).copied().unwrap_or(0));
    }
    let mean = |e: u64, d: usize| if d > 0 { e as f64 / d as f64 } else { 0.0 };
    Ok(Some(Ok(UptakeScore {
        cell_frames: n,
        count_mae: mean(err, n),
        exact_fraction: if n > 0 { exact as f64 / n as f64 } else { 1.0 },
        frames,
        field_mae: mean(field_err, frames),
        truth_total: ttot,
        predicted_total: ptot,
    })))
}

impl UptakeScore {
    pub fn table(&self) -> String {
        format!(
            "uptake      per cell and frame: count MAE {:.3}, exact {:.3} over {} (puncta inside: truth {}, predicted {}); field curve MAE {:.3} over {} frame(s)\n",
            self.count_mae,
            self.exact_fraction,
            self.cell_frames,
            self.truth_total,
            self.predicted_total,
            self.field_mae,
            self.frames
        )
    }
}
