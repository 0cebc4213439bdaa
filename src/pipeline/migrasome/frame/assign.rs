//! Stage "assignment" (host): each counted candidate becomes a migrasome, released unless it
//! lies on a network that reaches a body or a fiber runs into it (fiber contact at least
//! `fibers.contact_attached`), cargo-positive per channel against its local background;
//! cells get their counts.
//!
//! Whose migrasome: an attached one belongs to the cell whose body is nearest along the
//! network of fibers it lies on (the cell that pulled the fiber: a fiber runs tens of µm, past
//! the territories of other cells, and networks of neighbouring cells touch); the body
//! pixel reached first carries its territory's cell (none for a body cut by the border
//! without its nucleus). A released one, and an attached one whose network reaches no body
//! (a long fiber piece alone, or a fiber contact alone), belong to the cell whose territory
//! holds its centroid.
//! On independent fields 11-60, 30 counted migrasomes went to another cell (or to none) by
//! territory alone, 7 along the network.

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
    /// Per candidate: the windowed fiber contact (ridge units of the windowed image), and
    /// that image's fiber threshold.
    pub window: &'a [Option<f64>],
    pub fiber_threshold: f64,
    pub window_threshold: Option<f64>,
    /// Per candidate: rejected for a reason time-lapse persistence overrides (a protrusion's
    /// tip, a mask too small: `spots::persists`) before it ran (a counted one was counted
    /// by persistence).
    pub persistable: &'a [bool],
    pub cells: CellObjects,
    /// Territory label image.
    pub territory: &'a [u32],
    /// Body label image: the mask the detection used (nonzero on it).
    pub bodies: &'a [u32],
    /// The bodies' reported outline (`cells::outline_labels`): the body areas.
    pub outline: &'a [u32],
    /// The fiber network (nonzero on it); read back only when some candidate is attached.
    pub network: Option<&'a [u32]>,
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
    let owner = match f.network {
        Some(network) => nearest_body_along(network, f.bodies, f.territory, w, h),
        None => Vec::new(),
    };
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
        let at = cy.min(h - 1) * w + cx.min(w - 1);
        let cell_id = match owner.get(at) {
            Some(&cell) if c.context.attached && cell != UNREACHED => cell,
            _ => f.territory[at],
        };
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
        let fiber_contact = f.contact[label - 1]
            .filter(|_| f.fiber_threshold > 0.0)
            .map(|c| c / f.fiber_threshold);
        // a fiber runs into it (its link to a body too faint to follow)
        let touched =
            px.contact_attached > 0.0 && fiber_contact.is_some_and(|c| c >= px.contact_attached);
        stats.label = f.kept_id[label];
        migrasomes.push(Migrasome {
            id: stats.label,
            cell_id,
            stats,
            shape,
            released: !(c.context.attached || touched),
            fiber_contact,
            fiber_contact_window: match (f.window[label - 1], f.window_threshold) {
                (Some(c), Some(t)) if t > 0.0 => Some(c / t),
                _ => None,
            },
            persisted: f.persistable[label - 1],
            cargo,
        });
    }
    let cells = cells_of(&f.cells, roles, &migrasomes, f.outline, f.territory);
    (cells, migrasomes, rejected)
}

/// `nearest_body_along`'s value off the network and where it reaches no body.
const UNREACHED: u32 = u32::MAX;

/// Per pixel of the network: the cell of the body pixel nearest along the network
/// (8-connected steps outside the bodies, 1 and sqrt 2 long, as 10 and 14; ties to the
/// lowest distance, then pixel index, popped first), or [`UNREACHED`] off the network and
/// where it reaches no body. A body pixel's cell is its territory's (a body shared by
/// touching cells is split between them; one cut by the border without its nucleus is no
/// cell's). Taking a body's one nucleus instead, where it holds one, changed one migrasome on
/// independent fields 11-70 and put it wrong: the nucleus of a cell touching that body lay
/// outside the body mask. Dijkstra from every body pixel at a body's edge on the network.
pub(super) fn nearest_body_along(
    network: &[u32],
    bodies: &[u32],
    territory: &[u32],
    w: usize,
    h: usize,
) -> Vec<u32> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let n = w * h;
    let mut dist = vec![u32::MAX; n];
    let mut owner = vec![UNREACHED; n];
    let mut heap = BinaryHeap::new();
    let neighbours = |i: usize| {
        let (x, y) = ((i % w) as isize, (i / w) as isize);
        [
            (-1, -1),
            (0, -1),
            (1, -1),
            (-1, 0),
            (1, 0),
            (-1, 1),
            (0, 1),
            (1, 1),
        ]
        .into_iter()
        .filter_map(move |(dx, dy): (isize, isize)| {
            let (nx, ny) = (x + dx, y + dy);
            (nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h).then(|| {
                (
                    ny as usize * w + nx as usize,
                    if dx != 0 && dy != 0 { 14 } else { 10 },
                )
            })
        })
    };
    let open = |j: usize| network[j] != 0 && bodies[j] == 0;
    for i in 0..n {
        if bodies[i] != 0 {
            owner[i] = territory[i];
            if network[i] != 0 && neighbours(i).any(|(j, _)| open(j)) {
                dist[i] = 0;
                heap.push(Reverse((0u32, i)));
            }
        }
    }
    while let Some(Reverse((d, i))) = heap.pop() {
        if d > dist[i] {
            continue;
        }
        for (j, step) in neighbours(i) {
            if open(j) && d + step < dist[j] {
                dist[j] = d + step;
                owner[j] = owner[i];
                heap.push(Reverse((d + step, j)));
            }
        }
    }
    owner
}

/// One cell per seed (nucleus, or body without a nuclei channel), with its counts; its body
/// area is the outline's pixels in its territory (`territory_img`, labelled with the seeds'
/// labels 1..S; without a nuclei channel a body is its own territory's seed).
fn cells_of(
    objects: &CellObjects,
    roles: &Roles,
    migrasomes: &[Migrasome],
    outline: &[u32],
    territory_img: &[u32],
) -> Vec<Cell> {
    let seeds: &[ObjectStats] = match (&objects.nuclei, roles.nuclei) {
        (Some(n), Some(_)) => n,
        (None, Some(_)) => &[],
        (_, None) => &objects.bodies,
    };
    let territory = &objects.territory;
    let top = seeds.iter().map(|s| s.label as usize).max().unwrap_or(0);
    let mut area = vec![0u64; top + 1];
    for (&o, &t) in outline.iter().zip(territory_img) {
        if o != 0 && (t as usize) <= top {
            area[t as usize] += 1;
        }
    }
    let body_area = |i: usize| area[seeds[i].label as usize];
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
            for (k, x) in m.cargo.iter().enumerate() {
                c.cargo_positive_count[k] += x.positive as u32;
            }
        }
    }
    super::count_released(&mut cells, migrasomes);
    cells
}

#[cfg(test)]
mod tests {
    use super::{UNREACHED, nearest_body_along};

    /// Two bodies (cells 1 and 2) joined by a fiber along row 8, and a hook from its right
    /// end up and back left along row 1: the hook's end lies nearer to body 1 as the crow
    /// flies, nearer to body 2 along the fiber.
    #[test]
    fn a_fiber_belongs_to_the_body_nearest_along_it() {
        let (w, h) = (30, 10);
        let mut bodies = vec![0u32; w * h];
        let mut territory = vec![0u32; w * h];
        let mut network = vec![0u32; w * h];
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                territory[i] = if x < 15 { 1 } else { 2 };
                if x < 3 {
                    bodies[i] = 1;
                }
                if x >= 27 && y >= 5 {
                    bodies[i] = 2;
                }
                let fiber = (y == 8 && (3..27).contains(&x))
                    || (x == 25 && (1..=8).contains(&y))
                    || (y == 1 && (12..=25).contains(&x));
                if fiber || bodies[i] != 0 {
                    network[i] = 1;
                }
            }
        }
        let owner = nearest_body_along(&network, &bodies, &territory, w, h);
        assert_eq!(owner[w + 12], 2, "the hook's end");
        assert_eq!(owner[8 * w + 10], 1, "the fiber near body 1");
        assert_eq!(owner[8 * w + 24], 2, "the fiber near body 2");
        assert_eq!(owner[5 * w + 10], UNREACHED, "off the network");
        assert_eq!(owner[3 * w + 1], 1, "a body pixel: its own cell");
        // a body of no cell (cut by the border without its nucleus) claims its fibers too
        for i in 0..w * h {
            if bodies[i] == 2 {
                territory[i] = 0;
            }
        }
        let owner = nearest_body_along(&network, &bodies, &territory, w, h);
        assert_eq!(owner[w + 12], 0);
        assert_eq!(owner[8 * w + 10], 1);
    }
}
