//! Per-image statistics of the migrasome analysis: totals over every frame and migrasomes
//! per cell as mean ± SEM over every cell of every frame (each cell of each frame is one
//! observation, as the paper's per-cell bar charts count them).
//!
//! Not here: per-object tables (see `report::tables`).

use serde::Serialize;

use super::frame::FrameResult;

/// Totals over the frames of one image, added to frame by frame.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ImageTotals {
    pub frames: usize,
    pub cells: usize,
    pub migrasomes: usize,
    pub released: usize,
    /// Migrasomes inside some cell's territory.
    pub assigned: usize,
    /// Cargo-positive migrasomes, per cargo channel (in the roles' order).
    pub cargo_positive: Vec<usize>,
    /// Migrasomes per cell, every cell of every frame (for mean ± SEM).
    #[serde(skip)]
    pub per_cell: Vec<f64>,
}

/// Migrasomes per cell over an image: mean, standard error of the mean (sample SD / √n) and
/// the number of cells (`NaN` mean with no cells, `NaN` SEM with fewer than two).
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct PerCell {
    pub mean: f64,
    pub sem: f64,
    /// Number of cells (a float, as `summary.json` has always written it).
    pub cells: f64,
}

impl ImageTotals {
    /// Empty totals for an image with `cargo_channels` cargo channels.
    pub fn new(cargo_channels: usize) -> ImageTotals {
        ImageTotals {
            cargo_positive: vec![0; cargo_channels],
            ..Default::default()
        }
    }

    /// Adds one frame's result.
    pub fn add(&mut self, f: &FrameResult) {
        for c in &f.cells {
            self.per_cell.push(c.migrasome_count as f64);
        }
        for (k, n) in self.cargo_positive.iter_mut().enumerate() {
            *n += f.migrasomes.iter().filter(|m| m.cargo[k].positive).count();
        }
        self.frames += 1;
        self.cells += f.cells.len();
        self.migrasomes += f.migrasomes.len();
        self.assigned += f.migrasomes.iter().filter(|m| m.cell_id != 0).count();
        self.released += f.migrasomes.iter().filter(|m| m.released).count();
    }

    /// Migrasomes per cell, mean ± SEM over every cell added.
    pub fn per_cell(&self) -> PerCell {
        let v = &self.per_cell;
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        PerCell {
            mean,
            sem: sd / n.sqrt(),
            cells: n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::migrasome::{Cell, FrameLabels, Thresholds};

    fn cell(id: u32, n: u32) -> Cell {
        Cell {
            id,
            x: 0.0,
            y: 0.0,
            body_area: 1,
            territory_area: 1,
            migrasome_count: n,
            released_count: 0,
            cargo_positive_count: vec![0],
        }
    }

    fn frame(counts: &[u32]) -> FrameResult {
        FrameResult {
            width: 1,
            height: 1,
            thresholds: Thresholds {
                nucleus: 0.0,
                body: 0.0,
                spot: 0.0,
                fiber: 0.0,
                fiber_low: 0.0,
                membrane_background: 0.0,
                fiber_window: None,
            },
            spot_contrast: None,
            smooth_sigma_px: 1.0,
            cells: counts
                .iter()
                .enumerate()
                .map(|(i, &n)| cell(i as u32 + 1, n))
                .collect(),
            migrasomes: vec![],
            rejected: vec![],
            labels: FrameLabels {
                cells: vec![],
                migrasomes: vec![],
                bodies: vec![],
                body_band: vec![],
                rejected: vec![],
                in_body_zone: vec![],
            },
            uptake: None,
        }
    }

    /// Cells of every frame pool into one sample: {2, 4} and {6} give mean 4, sample SD 2,
    /// SEM 2/√3 (exact in f64 up to the last bit; compared to 1e-12).
    #[test]
    fn mean_and_sem_over_cells_of_all_frames() {
        let mut t = ImageTotals::new(1);
        t.add(&frame(&[2, 4]));
        t.add(&frame(&[6]));
        let p = t.per_cell();
        assert_eq!(p.cells, 3.0);
        assert!((p.mean - 4.0).abs() < 1e-12);
        assert!((p.sem - 2.0 / 3f64.sqrt()).abs() < 1e-12);
        assert_eq!((t.frames, t.cells, t.migrasomes), (2, 3, 0));
        assert_eq!(t.cargo_positive, vec![0]);
    }

    #[test]
    fn no_cells_give_nan_not_a_panic() {
        let mut t = ImageTotals::new(0);
        t.add(&frame(&[]));
        let p = t.per_cell();
        assert!(p.mean.is_nan() && p.sem.is_nan());
        assert_eq!(p.cells, 0.0);
        let one = {
            let mut t = ImageTotals::new(0);
            t.add(&frame(&[5]));
            t.per_cell()
        };
        assert_eq!(one.mean, 5.0);
        assert!(one.sem.is_nan());
    }
}
