//! Laying out what trails behind the cells: the rear direction of each cell, retraction fibers
//! grown as random walks from the rear, migrasomes on them (tips, branch points, along) and
//! released nearby, and the decorations the renderer needs (textures, Golgi, cargo puncta).
//! Every placement is checked against the constraints in the `synth` module doc, in every
//! frame of `Scene::check_frames` from the object's birth on.
//!
//! Not here: cell bodies and drift (see `scene`), pixels (see `render`).

use std::f64::consts::{PI, TAU};

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, Poisson, StandardNormal};

use super::geometry::{P2, polyline_dist, polyline_minus_disks, seg_dist};
use super::scene::{Fiber, Migrasome, Rod, Scene, uni, waves};

/// Step of the fiber random walk (µm).
const STEP: f64 = 0.5;

/// Angle difference `a - b` wrapped to (-π, π].
fn angdiff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(TAU);
    if d > PI { d - TAU } else { d }
}

/// Frames to check for an object born at `birth`.
pub(super) fn frames_from(scene: &Scene, birth: usize) -> Vec<usize> {
    let mut v = vec![birth];
    v.extend(scene.check_frames.iter().copied().filter(|&t| t > birth));
    v
}

/// Whether a disk of radius `r` at `p` is in cell `ci`'s territory in every frame of `frames`:
/// its own nucleus is `margin` µm nearer than any other, and at most `territory_max_um` away.
pub(super) fn in_territory(
    scene: &Scene,
    ci: usize,
    p: P2,
    r: f64,
    margin: f64,
    frames: &[usize],
) -> bool {
    let own = &scene.cells[ci];
    frames.iter().all(|&t| {
        let d = own.nucleus_dist(p, t);
        d + r <= scene.model.territory_max_um
            && (scene.cells.iter().enumerate())
                .all(|(j, o)| j == ci || o.nucleus_dist(p, t) >= d + margin)
    })
}

/// Whether `p` keeps `clear` µm from every body (but `skip`) in every frame of `frames`.
pub(super) fn clear_of_bodies(
    scene: &Scene,
    p: P2,
    clear: f64,
    skip: Option<usize>,
    frames: &[usize],
) -> bool {
    (scene.cells.iter().enumerate())
        .filter(|(j, _)| Some(*j) != skip)
        .all(|(_, c)| frames.iter().all(|&t| c.body_sdist(p, t) >= clear))
}

/// Distance from `p` to every fiber and tether of every cell.
pub(super) fn fiber_dist(scene: &Scene, p: P2) -> f64 {
    fiber_dist_cut(scene, p, &[])
}

/// Distance from `p` to every fiber and tether of every cell, the fibers without the disks
/// (centre, radius) in `cut`.
pub(super) fn fiber_dist_cut(scene: &Scene, p: P2, cut: &[(P2, f64)]) -> f64 {
    let last = scene.cfg.frames.saturating_sub(1);
    let mut d = f64::INFINITY;
    for c in &scene.cells {
        for f in &c.fibers {
            d = d.min(if cut.is_empty() {
                polyline_dist(p, &f.pts)
            } else {
                (polyline_minus_disks(&f.pts, cut).iter())
                    .map(|&(a, b)| seg_dist(p, a, b))
                    .fold(f64::INFINITY, f64::min)
            });
            if f.tethered && last > 0 {
                d = d.min(seg_dist(
                    p,
                    f.pts[0],
                    f.pts[0].add(c.velocity.scale(last as f64)),
                ));
            }
        }
    }
    d
}

/// Picks each cell's rear: the direction with the most free room behind the body, by a ray
/// march from the outline (plus a little randomness).
pub fn choose_rears(scene: &mut Scene, rng: &mut ChaCha8Rng) {
    for ci in 0..scene.cells.len() {
        let base = uni(rng, (0.0, TAU));
        let mut best = (f64::NEG_INFINITY, base);
        for k in 0..12 {
            let phi = base + TAU * k as f64 / 12.0;
            let dir = P2::polar(phi);
            let c = &scene.cells[ci];
            let start = c.pos(0).add(dir.scale(c.body.radius(phi)));
            let mut free = 0.0;
            while free < 40.0 {
                let p = start.add(dir.scale(free + 1.0));
                let ok = scene.in_field(p, 3.0)
                    && clear_of_bodies(scene, p, 3.0, Some(ci), &[0])
                    && in_territory(scene, ci, p, 0.0, 1.0, &[0]);
                if !ok {
                    break;
                }
                free += 1.0;
            }
            let score = free + uni(rng, (0.0, 4.0));
            if score > best.0 {
                best = (score, phi);
            }
        }
        scene.cells[ci].rear = best.1;
    }
}

/// Per cell: (attached, released) migrasomes to place.
pub fn draw_counts(scene: &mut Scene, rng: &mut ChaCha8Rng) -> Vec<(usize, usize)> {
    let m = &scene.model;
    let pois = Poisson::new(m.migrasomes_per_cell_mean).expect("positive mean");
    let counts: Vec<(usize, usize)> = (0..scene.cells.len())
        .map(|_| {
            let n = pois.sample(rng) as u64;
            let rel = Binomial::new(n, m.released_fraction)
                .expect("fraction in [0,1]")
                .sample(rng);
            ((n - rel) as usize, rel as usize)
        })
        .collect();
    scene.drawn = counts.iter().map(|(a, r)| a + r).sum();
    counts
}

/// Whether a fiber point at arc length `s` of a new fiber of cell `ci` is valid.
fn fiber_point_ok(scene: &Scene, ci: usize, p: P2, s: f64, own: &[Fiber], branch: bool) -> bool {
    let m = &scene.model;
    let near_start = s < 2.5;
    scene.in_field(p, m.border_clearance_um)
        && clear_of_bodies(
            scene,
            p,
            m.fiber_body_clearance_um,
            Some(ci),
            &scene.check_frames,
        )
        && (branch || {
            // Leaving its own body: the clearance ramps up over the first 2 µm.
            let own_clear = m.fiber_body_clearance_um.min(0.7 * s);
            let c = &scene.cells[ci];
            scene
                .check_frames
                .iter()
                .all(|&t| c.body_sdist(p, t) >= own_clear)
        })
        && in_territory(scene, ci, p, 0.0, 1.0, &scene.check_frames)
        && (near_start || own.iter().all(|f| polyline_dist(p, &f.pts) >= 1.5))
        && (near_start || fiber_dist(scene, p) >= 1.5)
}

/// Random walk from `start` along `heading` for up to `length` µm, drifting towards `rear`.
#[allow(clippy::too_many_arguments)]
fn walk(
    scene: &Scene,
    ci: usize,
    start: P2,
    mut heading: f64,
    length: f64,
    own: &[Fiber],
    branch: bool,
    rng: &mut ChaCha8Rng,
) -> Vec<P2> {
    let rear = scene.cells[ci].rear;
    let mut pts = vec![start];
    let mut s = 0.0;
    while s + STEP <= length {
        let last = *pts.last().expect("non-empty");
        let mut next = None;
        for attempt in 0..8 {
            let h = if attempt == 0 {
                heading + 0.08 * rng.sample::<f64, _>(StandardNormal)
            } else {
                heading + uni(rng, (-0.7, 0.7))
            };
            let p = last.add(P2::polar(h).scale(STEP));
            if fiber_point_ok(scene, ci, p, s + STEP, own, branch) {
                next = Some((p, h));
                break;
            }
        }
        let Some((p, h)) = next else { break };
        pts.push(p);
        heading = h + 0.04 * angdiff(rear, h);
        s += STEP;
    }
    pts
}

fn arc_length(pts: &[P2]) -> f64 {
    pts.windows(2).map(|w| w[0].dist(w[1])).sum()
}

/// Grows each cell's primary fibers from the rear of the body, and some branches.
pub fn grow_fibers(scene: &mut Scene, counts: &[(usize, usize)], rng: &mut ChaCha8Rng) {
    for (ci, &(n_att, _)) in counts.iter().enumerate() {
        let m = scene.model.clone();
        let (lo, hi) = m.fibers_per_cell;
        let n = (2 + n_att / 4).clamp(lo, hi);
        let mut own: Vec<Fiber> = Vec::new();
        for k in 0..n {
            let c = &scene.cells[ci];
            let th = c.rear - 0.9 + 1.8 * (k as f64 + 0.5) / n as f64 + uni(rng, (-0.15, 0.15));
            let root = c.pos(0).add(P2::polar(th).scale(c.body.radius(th)));
            // Outward normal of the polar outline r(θ): r·e_r − r'·e_θ.
            let (r, dr) = (
                c.body.radius(th),
                (c.body.radius(th + 1e-4) - c.body.radius(th - 1e-4)) / 2e-4,
            );
            let nrm = P2::polar(th)
                .scale(r)
                .sub(P2::polar(th + PI / 2.0).scale(dr));
            let normal = nrm.y.atan2(nrm.x);
            let heading = normal + 0.5 * angdiff(c.rear, normal);
            let len = uni(rng, m.fiber_length_um);
            let pts = walk(scene, ci, root, heading, len, &own, false, rng);
            let fiber = Fiber {
                pts,
                width: uni(rng, m.fiber_width_um),
                peak_rel: uni(rng, m.fiber_peak_rel),
                tethered: true,
            };
            if arc_length(&fiber.pts) < 4.0 {
                continue;
            }
            let mut branches = Vec::new();
            if rng.random_bool(m.branch_probability) {
                let nb = if rng.random_bool(0.3) { 2 } else { 1 };
                for _ in 0..nb {
                    let npts = fiber.pts.len();
                    let (i0, i1) = (
                        (4.0 / STEP) as usize,
                        npts.saturating_sub((3.0 / STEP) as usize),
                    );
                    if i1 <= i0 {
                        break;
                    }
                    let i = rng.random_range(i0..i1);
                    let dir = fiber.pts[i + 1].sub(fiber.pts[i - 1]);
                    let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                    let h = dir.y.atan2(dir.x) + side * uni(rng, (0.35, 0.9));
                    let mut all = own.clone();
                    all.push(fiber.clone());
                    all.extend(branches.iter().cloned());
                    let len = uni(rng, m.branch_length_um);
                    let pts = walk(scene, ci, fiber.pts[i], h, len, &all, true, rng);
                    if arc_length(&pts) >= 3.0 {
                        branches.push(Fiber {
                            pts,
                            width: uni(rng, (m.fiber_width_um.0, fiber.width)),
                            peak_rel: fiber.peak_rel * uni(rng, (0.8, 1.0)),
                            tethered: false,
                        });
                    }
                }
            }
            own.push(fiber);
            own.extend(branches);
        }
        scene.cells[ci].fibers = own;
    }
}

/// A point at arc length `s` along `pts`.
fn point_at(pts: &[P2], mut s: f64) -> P2 {
    for w in pts.windows(2) {
        let l = w[0].dist(w[1]);
        if s <= l && l > 0.0 {
            return w[0].add(w[1].sub(w[0]).scale(s / l));
        }
        s -= l;
    }
    *pts.last().expect("non-empty")
}

/// Places each cell's attached and released migrasomes; those that find no valid place in
/// 60 tries are dropped (counted in `scene.dropped`).
pub fn place_migrasomes(scene: &mut Scene, counts: &[(usize, usize)], rng: &mut ChaCha8Rng) {
    let m = scene.model.clone();
    let frames = scene.cfg.frames;
    let ncargo = scene.cfg.cargo.len();
    for (ci, &(n_att, n_rel)) in counts.iter().enumerate() {
        let cell = scene.cells[ci].clone();
        let mut tips: Vec<P2> = cell
            .fibers
            .iter()
            .map(|f| *f.pts.last().expect("pts"))
            .collect();
        let all_tips = tips.clone();
        let mut branch_pts: Vec<P2> = cell
            .fibers
            .iter()
            .filter(|f| !f.tethered)
            .map(|f| f.pts[0])
            .collect();
        let lengths: Vec<f64> = cell.fibers.iter().map(|f| arc_length(&f.pts)).collect();
        let total: f64 = lengths.iter().sum();
        for k in 0..n_att + n_rel {
            let released = k >= n_att;
            let (dlo, dhi) = m.diameter_um;
            let d = dlo + (dhi - dlo) * rng.random::<f64>().powf(m.diameter_skew_exponent);
            let r = 0.5 * d;
            let birth = if frames < 2 || rng.random_bool(m.birth_at_frame0) {
                0
            } else {
                rng.random_range(1..frames)
            };
            let amp_rel = uni(rng, m.migrasome_amplitude_rel);
            let cargo = (0..ncargo)
                .map(|_| {
                    let pos = rng.random_bool(m.cargo_positive_fraction);
                    let fill = uni(rng, m.cargo_fill_rel);
                    pos.then_some(fill)
                })
                .collect();
            let check = frames_from(scene, birth);
            let mut placed = None;
            for _try in 0..60 {
                let p = if released {
                    if all_tips.is_empty() {
                        break;
                    }
                    let tip = all_tips[rng.random_range(0..all_tips.len())];
                    let dist = uni(rng, (r + 2.0, m.released_max_from_tip_um));
                    tip.add(P2::polar(uni(rng, (0.0, TAU))).scale(dist))
                } else {
                    if total <= 0.0 {
                        break;
                    }
                    let (wt, wb, _) = m.site_weights_tip_branch_along;
                    let u = rng.random::<f64>();
                    if u < wt && !tips.is_empty() {
                        tips.swap_remove(rng.random_range(0..tips.len()))
                    } else if u < wt + wb && !branch_pts.is_empty() {
                        branch_pts.swap_remove(rng.random_range(0..branch_pts.len()))
                    } else {
                        let mut s = uni(rng, (0.0, total));
                        let mut f = 0;
                        while f + 1 < lengths.len() && s > lengths[f] {
                            s -= lengths[f];
                            f += 1;
                        }
                        point_at(
                            &cell.fibers[f].pts,
                            s.clamp(2.0_f64.min(lengths[f]), lengths[f]),
                        )
                    }
                };
                let ok = scene.in_field(p, r + m.border_clearance_um)
                    && scene
                        .migrasomes
                        .iter()
                        .all(|o| o.pos.dist(p) >= r + 0.5 * o.diameter + m.migrasome_gap_um)
                    && clear_of_bodies(scene, p, r + m.migrasome_body_clearance_um, None, &check)
                    && in_territory(scene, ci, p, r, m.territory_margin_um, &check)
                    && (!released || fiber_dist(scene, p) >= r + m.released_fiber_clearance_um);
                if ok {
                    placed = Some(p);
                    break;
                }
            }
            match placed {
                Some(pos) => {
                    let id = scene.migrasomes.len() as u32 + 1;
                    scene.migrasomes.push(Migrasome {
                        id,
                        cell: cell.id,
                        pos,
                        diameter: d,
                        released,
                        birth,
                        amp_rel,
                        cargo,
                        path: Vec::new(),
                        release: None,
                        end: None,
                        hidden: Vec::new(),
                    });
                }
                None => scene.dropped += 1,
            }
        }
    }
}

/// Textures, Golgi and cargo puncta, drawn after the layout so it does not shift them.
pub fn decorate(scene: &mut Scene, rng: &mut ChaCha8Rng) {
    let m = scene.model.clone();
    let ncargo = scene.cfg.cargo.len();
    for cell in &mut scene.cells {
        cell.body_texture = waves(rng, 4, (3.0, 8.0));
        cell.chromatin = waves(rng, 5, (1.0, 3.0));
        cell.golgi = cell
            .nucleus_offset
            .add(P2::polar(cell.rear + PI + uni(rng, (-0.5, 0.5))).scale(cell.nucleus.a));
        let area = PI * cell.body.a * cell.body.b;
        let n = (area * m.cargo_puncta_per_um2).round() as usize;
        let rmax = cell.body.r_max;
        cell.puncta = (0..ncargo)
            .map(|_| {
                let mut rods = Vec::with_capacity(n);
                for _ in 0..n {
                    for _try in 0..20 {
                        let q = P2::new(uni(rng, (-rmax, rmax)), uni(rng, (-rmax, rmax)));
                        let half = P2::polar(uni(rng, (0.0, PI))).scale(0.5 * uni(rng, (0.5, 2.5)));
                        let (a, b) = (q.sub(half), q.add(half));
                        let inside = cell.body.sdist(a) <= -0.8 && cell.body.sdist(b) <= -0.8;
                        let off_nucleus = cell.nucleus.level(q.sub(cell.nucleus_offset)) > 1.15;
                        if inside && off_nucleus {
                            rods.push(Rod {
                                a,
                                b,
                                width: 0.3,
                                peak: uni(rng, m.cargo_puncta_rel),
                            });
                            break;
                        }
                    }
                }
                rods
            })
            .collect();
    }
}
