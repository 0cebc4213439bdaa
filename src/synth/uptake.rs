//! The uptake channel (`SynthConfig::uptake_channel`, off by default): one more channel,
//! `GFP`, after the others, in which some migrasomes are labelled, as in the paper's uptake
//! movies (GFP-labelled migrasomes added to young recipient cells, one frame every 5 min).
//!
//! The model (every number is in [`MODEL`] and in `truth.json`'s `uptake_channel` block):
//! - **Labelled outside cells**: every migrasome with the `Fate::Uptake` fate (dynamics:
//!   `--dynamics` or `--uptake F`), and a fraction `other_labelled` of the other released
//!   migrasomes (released at birth or during the movie, drawn per migrasome), are drawn in
//!   GFP in every frame they exist, like in the membrane channel: a flat-topped dome of their
//!   radius at `amp_rel` × the GFP amplitude (dimmed in a blink frame as in every channel).
//!   The other labelled migrasomes stay outside every body: they are the puncta outside cells
//!   an uptake count must not count.
//! - **Inside the body**: after its last frame (when it enters its body) a taken-up
//!   migrasome stays in the GFP channel only, as a punctum of its own radius at
//!   `inside_dim` × its brightness, at a fixed offset from its cell's centre (it moves with
//!   the cell; bodies are rigid, so its depth is fixed): drawn uniformly over the body, at a
//!   depth ≥ its radius + `inside_depth_um` inside the outline and ≥ `inside_gap_um` (edge to
//!   edge) from the cell's other inside puncta (`place_tries` draws; when none fits, the
//!   deepest-clear of them is taken, counted in `truth.json` as `crowded`).
//! - The GFP channel has no body or nucleus signal: the recipient cells are unlabelled.
//!   Background and camera as the cargo channels (100 photons; the amplitude is `snr` ×
//!   the background SD).
//!
//! Truth: `truth_uptake.csv` (`image,frame,cell_id,puncta_inside`) for every truth cell and
//! frame: the GFP puncta whose centre is inside that cell's outline in that frame (where
//! outlines overlap, the body the centre is deeper in). The uptake events are in
//! `truth_events.csv` (dynamics).
//!
//! Draws come from a fourth ChaCha8 stream of the seed, after the dynamics and the realism,
//! so turning the channel on moves nothing else in the scene.

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use serde::Serialize;

use super::geometry::P2;
use super::scene::{Fate, Scene, uni};

/// The channel's name.
pub const NAME: &str = "GFP";

/// The fixed numbers of the uptake channel (written to `truth.json`).
#[derive(Clone, Debug, Serialize)]
pub struct UptakeModel {
    pub other_labelled: f64,
    pub inside_dim: f64,
    pub inside_depth_um: f64,
    pub inside_gap_um: f64,
    pub place_tries: usize,
}

pub const MODEL: UptakeModel = UptakeModel {
    other_labelled: 0.3,
    inside_dim: 0.6,
    inside_depth_um: 1.0,
    inside_gap_um: 1.0,
    place_tries: 400,
};

/// A taken-up migrasome inside its body.
#[derive(Clone, Debug, Serialize)]
pub struct Inside {
    pub migrasome_id: u32,
    pub cell_id: u32,
    /// First frame inside (the frame after its last one outside).
    pub from_frame: usize,
    /// Centre relative to the cell's body centre (µm).
    pub offset_um: (f64, f64),
    pub radius_um: f64,
    /// Depth of the centre inside the outline (µm).
    pub depth_um: f64,
    /// Peak relative to the GFP amplitude.
    pub peak_rel: f64,
}

/// Which migrasomes are labelled, and the taken-up ones inside their bodies.
#[derive(Clone, Debug, Default)]
pub struct Labels {
    /// Per migrasome (scene order): drawn in GFP while it exists.
    pub outside: Vec<bool>,
    pub inside: Vec<Inside>,
    /// Inside puncta placed without their gap.
    pub crowded: usize,
}

/// One GFP punctum of a frame: centre (µm), radius, peak relative to the amplitude.
#[derive(Clone, Copy, Debug)]
pub struct Punctum {
    pub c: P2,
    pub r: f64,
    pub peak_rel: f64,
}

/// Labels the scene's migrasomes (see the module doc).
pub fn label(scene: &Scene, rng: &mut ChaCha8Rng) -> Labels {
    let mut out = Labels::default();
    for m in &scene.migrasomes {
        let u = rng.random::<f64>();
        let uptake = matches!(m.end, Some((_, Fate::Uptake)));
        let released = m.released || m.release.is_some();
        out.outside
            .push(uptake || (released && u < MODEL.other_labelled));
    }
    let frames = scene.cfg.frames;
    for m in &scene.migrasomes {
        let Some((last, Fate::Uptake)) = m.end else {
            continue;
        };
        if last + 1 >= frames {
            continue;
        }
        let Some(cell) = scene.cells.iter().find(|c| c.id == m.cell) else {
            continue;
        };
        let r = 0.5 * m.diameter;
        let rm = cell.body.r_max;
        let others: Vec<(P2, f64)> = (out.inside.iter())
            .filter(|p| p.cell_id == cell.id)
            .map(|p| (P2::new(p.offset_um.0, p.offset_um.1), p.radius_um))
            .collect();
        let clearance = |q: P2| {
            (others.iter())
                .map(|&(o, ro)| q.dist(o) - r - ro)
                .fold(f64::INFINITY, f64::min)
        };
        let mut best: Option<(f64, P2)> = None;
        let mut placed = None;
        for _ in 0..MODEL.place_tries {
            let q = P2::new(uni(rng, (-rm, rm)), uni(rng, (-rm, rm)));
            if -cell.body.sdist(q) < r + MODEL.inside_depth_um {
                continue;
            }
            let gap = clearance(q);
            if gap >= MODEL.inside_gap_um {
                placed = Some(q);
                break;
            }
            if best.is_none_or(|(g, _)| gap > g) {
                best = Some((gap, q));
            }
        }
        let q = match (placed, best) {
            (Some(q), _) => q,
            (None, Some((_, q))) => {
                out.crowded += 1;
                q
            }
            // no point deep enough: the body's centre
            (None, None) => {
                out.crowded += 1;
                P2::default()
            }
        };
        out.inside.push(Inside {
            migrasome_id: m.id,
            cell_id: cell.id,
            from_frame: last + 1,
            offset_um: (q.x, q.y),
            radius_um: r,
            depth_um: -cell.body.sdist(q),
            peak_rel: m.amp_rel * MODEL.inside_dim,
        });
    }
    out
}

/// The GFP puncta of frame `t`: labelled migrasomes that exist (blink-dimmed as in every
/// channel), then the taken-up ones inside their bodies.
pub fn puncta(scene: &Scene, labels: &Labels, t: usize, blink_dim: f64) -> Vec<Punctum> {
    let mut v = Vec::new();
    for (m, &on) in scene.migrasomes.iter().zip(&labels.outside) {
        if on && m.exists(t) {
            let dim = if m.visible(t) { 1.0 } else { blink_dim };
            v.push(Punctum {
                c: m.pos_at(t),
                r: 0.5 * m.diameter,
                peak_rel: m.amp_rel * dim,
            });
        }
    }
    for p in labels.inside.iter().filter(|p| t >= p.from_frame) {
        if let Some(cell) = scene.cells.iter().find(|c| c.id == p.cell_id) {
            v.push(Punctum {
                c: cell.pos(t).add(P2::new(p.offset_um.0, p.offset_um.1)),
                r: p.radius_um,
                peak_rel: p.peak_rel,
            });
        }
    }
    v
}

/// Per cell (scene order), the puncta of `puncta` whose centre is inside its outline in
/// frame `t` (a centre inside two outlines goes to the body it is deeper in).
pub fn inside_counts(scene: &Scene, puncta: &[Punctum], t: usize) -> Vec<usize> {
    let mut n = vec![0; scene.cells.len()];
    for p in puncta {
        let deepest = (scene.cells.iter().enumerate())
            .map(|(i, c)| (i, c.body_sdist(p.c, t)))
            .filter(|&(_, d)| d < 0.0)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, _)) = deepest {
            n[i] += 1;
        }
    }
    n
}
