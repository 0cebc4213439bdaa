//! Stage "assignment" (host): each counted candidate becomes a migrasome of the cell whose
//! territory holds its centroid, released unless it lies on a network that reaches a body,
//! cargo-positive per channel against its local background; cells get their counts.

use crate::ops::measure::ObjectStats;

use super::super::config::PxParams;
use super::super::shape::{Reject, Shape};
use super::cargo::LocalBackground;
use super::cells::CellObjects;
use super::spots::Candidate;
use super::{CargoCall, Cell, Migrasome, Rejected, Roles};

/// What the stages found, for the assignment.
pub(super) struct Found<'a> {
    pub candidates: Vec<Candidate>,
    pub shapes: Vec<Shape>,
    pub verdicts: Vec<Option<Reject>>,
    /// New ids of candidate labels: counted 1..K, rejected 1..R (see `spots::renumber`).
    pub kept_id: &'a [u32],
    pub rejected_id: &'a [u32],
    /// Per cargo channel, per candidate.
    pub cargo: Vec<Vec<LocalBackground>>,
    /// Per candidate: the fiber contact (ridge units), and the frame's fiber threshold.
    pub contact: &'a [Option<f64>],
    pub fiber_threshold: f64,
    /// Per candidate: judged a protrusion's tip before time-lapse persistence (a counted one
    /// was counted by persistence).
    pub tips: &'a [bool],
    pub cells: CellObjects,
    /// Territory label image.
    pub territory: &'a [u32],
    pub width: usize,
    pub height: usize,
}

/// The frame's cells, migrasomes and rejected candidates.
pub(super) fn assign(
    f: Found<'_>,
    roles: &Roles,
    px: &PxParams,
) -> (Vec<Cell>, Vec<Migrasome>, Vec<Rejected>) {
    let (w, h) = (f.width, f.height);
    let mut rejected = Vec::new();
    let mut migrasomes = Vec::new();
    for ((c, shape), verdict) in f.candidates.into_iter().zip(f.shapes).zip(f.verdicts) {
        let mut stats = c.stats;
        let label = stats.label as usize;
        if let Some(reason) = verdict {
            stats.label = f.rejected_id[label];
            rejected.push(Rejected {
                stats,
                shape,
                reason,
            });
            continue;
        }
        let (cx, cy) = (
            stats.centroid_x.round() as usize,
            stats.centroid_y.round() as usize,
        );
        let cell_id = f.territory[cy.min(h - 1) * w + cx.min(w - 1)];
        let cargo = roles
            .cargo
            .iter()
            .enumerate()
            .map(|(k, &ch)| {
                let background = f.cargo[k][label - 1];
                CargoCall {
                    positive: stats.channels[ch].mean
                        > background.mean + px.cargo_k * background.sd,
                    background,
                }
            })
            .collect();
        stats.label = f.kept_id[label];
        migrasomes.push(Migrasome {
            id: stats.label,
            cell_id,
            stats,
            shape,
            released: !c.context.attached,
            fiber_contact: f.contact[label - 1]
                .filter(|_| f.fiber_threshold > 0.0)
                .map(|c| c / f.fiber_threshold),
            persisted: f.tips[label - 1],
            cargo,
        });
    }
    let cells = cells_of(&f.cells, roles, &migrasomes);
    (cells, migrasomes, rejected)
}

/// One cell per seed (nucleus, or body without a nuclei channel), with its counts.
fn cells_of(objects: &CellObjects, roles: &Roles, migrasomes: &[Migrasome]) -> Vec<Cell> {
    let seeds: &[ObjectStats] = match (&objects.nuclei, roles.nuclei) {
        (Some(n), Some(_)) => n,
        (None, Some(_)) => &[],
        (_, None) => &objects.bodies,
    };
    let territory = &objects.territory;
    let body_area = |i: usize| -> u64 {
        if roles.nuclei.is_some() {
            territory
                .get(i)
                .map_or(0, |t| t.channels[0].sum.max(0.0) as u64)
        } else {
            seeds[i].area
        }
    };
    let mut cells: Vec<Cell> = seeds
        .iter()
        .enumerate()
        .map(|(i, s)| Cell {
            id: s.label,
            x: s.centroid_x,
            y: s.centroid_y,
            body_area: body_area(i),
            territory_area: territory.get(i).map_or(0, |t| t.area),
            migrasome_count: 0,
            released_count: 0,
            cargo_positive_count: vec![0; roles.cargo.len()],
        })
        .collect();
    for m in migrasomes {
        if m.cell_id == 0 {
            continue;
        }
        if let Some(c) = cells.get_mut(m.cell_id as usize - 1) {
            c.migrasome_count += 1;
            c.released_count += m.released as u32;
            for (k, x) in m.cargo.iter().enumerate() {
                c.cargo_positive_count[k] += x.positive as u32;
            }
        }
    }
    cells
}
