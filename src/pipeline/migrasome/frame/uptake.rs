//! Stage "uptake" (`analyze --uptake CH`): labelled puncta inside the cell bodies, per cell.
//!
//! Composed from existing ops, each with its CPU reference and property test. Submission 1
//! (`record_enhance`): channel CH as f32, its difference of Gaussians at the spot detector's
//! sigmas, and the statistics of its `uptake.threshold` (`noise:K` sigma-clipped as the spot
//! threshold). Submission 2 (`record`): the DoG above the threshold, 8-connected components,
//! components of at least `uptake.min_area_um2` measured (area, centroid, and the sum of raw
//! CH). On the host (`assign`, on the body labels the frame reads back anyway) a punctum
//! belongs to the cell whose body holds its centroid pixel at least `uptake.edge_margin_um`
//! inside (no outside pixel within that distance, as `expand_labels` measures it; the cell
//! through the territory that pixel is in): a punctum whose centroid lies outside every
//! body, or in its outer margin, is not counted, even when it touches one. The margin is
//! there because the body mask takes in the membrane signal of a vesicle pressed against the
//! outline (measured on `synth` movies: the mask reached 1.1-1.5 µm beyond the true outline
//! there, putting the centroids of two such vesicles 0.2-0.3 µm inside it), while a vesicle
//! that has entered the cell lies deeper. The components are labelled over the whole frame,
//! not only inside the bodies, so a vesicle sitting on the outline (one about to be taken
//! up) is judged by its centre, as the truth of `synth --uptake-channel` is, instead of
//! leaving a counted sliver inside the body mask.
//!
//! Not here: the body labels and territories (see `cells`), writing `uptake.csv` (see
//! `report::tables`).

use crate::cpu::expand::max_d2;
use crate::error::Result;
use crate::gpu::Recorder;
use crate::ops::label::{KeepRule, label_components};
use crate::ops::measure::{ObjectStats, PendingObjects, record_objects};
use crate::ops::threshold::threshold_above;
use crate::ops::{GpuPlane, filters, to_f32};

use super::super::config::PxParams;
use super::{Cell, PendingThreshold, SPOT_NOISE_CLIPS, record_threshold_clipped};

/// One labelled punctum (pixel units; the report converts to µm).
#[derive(Clone, Debug, PartialEq)]
pub struct Punctum {
    pub stats: ObjectStats,
    /// The cell whose body holds its centroid pixel (0: outside every cell body).
    pub cell_id: u32,
}

/// One cell's uptake in one frame (parallel to `FrameResult::cells`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CellUptake {
    pub puncta: u32,
    /// Pixels of its puncta.
    pub area: u64,
    /// Sum of the raw uptake channel over its puncta.
    pub intensity_sum: f64,
}

/// The uptake of one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameUptake {
    /// The DoG threshold of this frame.
    pub threshold: f64,
    /// Every punctum found (inside a body or not).
    pub puncta: Vec<Punctum>,
    /// Per cell of the frame, in `FrameResult::cells` order.
    pub cells: Vec<CellUptake>,
}

impl FrameUptake {
    /// Puncta inside the bodies of the frame's cells (the field's uptake).
    pub fn inside(&self) -> u32 {
        self.cells.iter().map(|c| c.puncta).sum()
    }
}

/// Submission 1: the enhanced image of channel `raw` and its threshold's statistics.
pub(super) fn record_enhance(
    rec: &mut Recorder,
    raw: &GpuPlane,
    px: &PxParams,
) -> Result<(GpuPlane, PendingThreshold)> {
    let f = to_f32(rec, raw)?;
    let img =
        filters::difference_of_gaussians(rec, &f, px.uptake_smooth_sigma, px.background_sigma)?;
    let h = record_threshold_clipped(rec, &img, px.uptake_threshold, &SPOT_NOISE_CLIPS)?;
    Ok((img, h))
}

/// Submission 2 being read back: the puncta and the threshold.
pub(super) struct PendingUptake {
    pub objects: PendingObjects,
    pub threshold: f64,
}

/// Submission 2: the puncta above `threshold`, measured over the raw channel `raw`.
pub(super) fn record(
    rec: &mut Recorder,
    img: &GpuPlane,
    raw: &GpuPlane,
    threshold: f64,
    px: &PxParams,
    capacity: u32,
) -> Result<PendingUptake> {
    let mask = threshold_above(rec, img, threshold)?;
    let labels = label_components(rec, &mask, 8)?;
    let rule = KeepRule {
        min_area: px.uptake_min_area.max(1),
        ..Default::default()
    };
    Ok(PendingUptake {
        objects: record_objects(rec, &labels, &[raw], capacity, rule)?.0,
        threshold,
    })
}

/// Whether pixel (`x`, `y`) of the body labels `bodies` (width `w`, height `h`) is in a body
/// with no outside pixel within squared distance `limit` (what `expand_labels` of the outside
/// by the margin leaves uncovered; the image's edge is no outside).
fn deep_in_body(bodies: &[u32], w: usize, h: usize, x: usize, y: usize, limit: u64) -> bool {
    if bodies[y * w + x] == 0 {
        return false;
    }
    let r = ((limit as f64).sqrt().floor() as usize).min(w.max(h));
    let (y0, y1) = (y.saturating_sub(r), (y + r).min(h - 1));
    let (x0, x1) = (x.saturating_sub(r), (x + r).min(w - 1));
    (y0..=y1).all(|v| {
        (x0..=x1).all(|u| {
            let d2 = (u.abs_diff(x).pow(2) + v.abs_diff(y).pow(2)) as u64;
            d2 > limit || bodies[v * w + u] != 0
        })
    })
}

/// The host's assignment: each punctum (`objects`, measured over the uptake channel as their
/// only channel) to the cell whose body holds its centroid pixel at least `margin` px inside:
/// `bodies` (body labels, 0 outside) and `territory` (cell ids, 0 where none) are label
/// images of width `w`; `cells` the frame's cells. Returns the puncta and the per-cell sums.
pub fn assign(
    objects: Vec<ObjectStats>,
    bodies: &[u32],
    territory: &[u32],
    w: usize,
    margin: f64,
    cells: &[Cell],
) -> (Vec<Punctum>, Vec<CellUptake>) {
    let h = bodies.len().checked_div(w).unwrap_or(0);
    let limit = max_d2(margin);
    let mut per_cell = vec![CellUptake::default(); cells.len()];
    let puncta = objects
        .into_iter()
        .map(|stats| {
            let (x, y) = (stats.centroid_x.round(), stats.centroid_y.round());
            let inside = x >= 0.0 && y >= 0.0 && (x as usize) < w && (y as usize) < h;
            let (x, y) = (x as usize, y as usize);
            let cell_id = if inside && deep_in_body(bodies, w, h, x, y, limit) {
                territory[y * w + x]
            } else {
                0
            };
            if let Some(i) = (cell_id != 0)
                .then(|| cells.iter().position(|c| c.id == cell_id))
                .flatten()
            {
                let c = &mut per_cell[i];
                c.puncta += 1;
                c.area += stats.area;
                c.intensity_sum += stats.channels.first().map_or(0.0, |s| s.sum);
            }
            Punctum { stats, cell_id }
        })
        .collect();
    (puncta, per_cell)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::measure::ChannelStat;

    fn cell(id: u32) -> Cell {
        Cell {
            id,
            x: 0.0,
            y: 0.0,
            body_area: 0,
            territory_area: 0,
            migrasome_count: 0,
            released_count: 0,
            cargo_positive_count: vec![],
        }
    }

    fn obj(label: u32, cx: f64, cy: f64, area: u64, sum: f64) -> ObjectStats {
        ObjectStats {
            label,
            area,
            bbox: [0, 0, 0, 0],
            centroid_x: cx,
            centroid_y: cy,
            channels: vec![ChannelStat {
                sum,
                mean: sum / area as f64,
                min: 0.0,
                max: 0.0,
            }],
        }
    }

    /// A 6 x 4 field: body 1 (cell 7) in columns 0-2, body 2 (cell 9) in columns 4-5 of rows
    /// 0-1; the territories split at column 3 and cover every pixel.
    #[test]
    fn puncta_go_to_the_cell_whose_body_holds_their_centroid() {
        let w = 6;
        let mut bodies = vec![0u32; 24];
        let mut territory = vec![0u32; 24];
        for y in 0..4 {
            for x in 0..6 {
                territory[y * w + x] = if x <= 3 { 7 } else { 9 };
                if y <= 1 {
                    bodies[y * w + x] = match x {
                        0..=2 => 1,
                        4..=5 => 2,
                        _ => 0,
                    };
                }
            }
        }
        let cells = [cell(9), cell(7)];
        let objects = vec![
            obj(1, 1.2, 0.6, 3, 30.0), // body 1 -> cell 7
            obj(2, 0.4, 1.4, 2, 5.0),  // rounds to (0, 1): body 1 -> cell 7
            obj(3, 4.6, 0.2, 4, 40.0), // body 2 -> cell 9
            obj(4, 3.0, 1.0, 5, 99.0), // between the bodies: in cell 7's territory, no body
            obj(5, 1.0, 3.0, 5, 99.0), // below the bodies
            obj(6, 2.6, 1.2, 1, 7.0),  // rounds to (3, 1): outside, though it touches body 1
            obj(7, 7.0, 1.0, 1, 1.0),  // off the image
        ];
        let (p, per_cell) = assign(objects, &bodies, &territory, w, 0.0, &cells);
        let ids: Vec<u32> = p.iter().map(|q| q.cell_id).collect();
        assert_eq!(ids, [7, 7, 9, 0, 0, 0, 0]);
        assert_eq!(
            per_cell,
            [
                CellUptake {
                    puncta: 1,
                    area: 4,
                    intensity_sum: 40.0
                },
                CellUptake {
                    puncta: 2,
                    area: 5,
                    intensity_sum: 35.0
                },
            ]
        );
        // a body pixel whose territory is no cell of the frame (a border body): not counted
        let (_, none) = assign(
            vec![obj(1, 1.0, 0.0, 1, 1.0)],
            &bodies,
            &[0; 24],
            w,
            0.0,
            &cells,
        );
        assert_eq!(none, [CellUptake::default(); 2]);
        // with a 1 px margin: (2, 0) is 1 px from the outside at (3, 0) and not counted;
        // (1, 0) is 2 px from the outside (the image's edge is none) and counted
        let two = vec![obj(1, 2.0, 0.0, 1, 1.0), obj(2, 1.0, 0.0, 1, 1.0)];
        let (p, _) = assign(two, &bodies, &territory, w, 1.0, &cells);
        assert_eq!([p[0].cell_id, p[1].cell_id], [0, 7]);
    }

    /// The margin test is the outside grown by `expand_labels` (CPU reference), subtracted
    /// from the bodies: on random masks and margins, pixel for pixel.
    #[test]
    fn deep_in_body_is_the_bodies_less_the_grown_outside() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(11);
        for _ in 0..40 {
            let (w, h) = (rng.random_range(1..24usize), rng.random_range(1..24usize));
            let fill = rng.random_range(0.3..0.95);
            let bodies: Vec<u32> = (0..w * h)
                .map(|_| u32::from(rng.random::<f64>() < fill) * rng.random_range(1..4))
                .collect();
            let margin = rng.random_range(0.0..5.0);
            let outside: Vec<u32> = bodies.iter().map(|&b| u32::from(b == 0)).collect();
            let near = crate::cpu::expand::expand_labels(&outside, w, h, margin);
            for y in 0..h {
                for x in 0..w {
                    let k = y * w + x;
                    let want = bodies[k] != 0 && near[k] == 0;
                    let got = deep_in_body(&bodies, w, h, x, y, max_d2(margin));
                    assert_eq!(got, want, "{w}x{h} margin {margin} at ({x}, {y})");
                }
            }
        }
    }
}
