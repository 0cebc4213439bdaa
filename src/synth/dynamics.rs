//! Live-cell dynamics (`SynthConfig::dynamics`, all off by default): what happens to
//! migrasomes over a movie besides appearing. Attached ones are released when their fiber
//! link breaks and then drift; some disappear; some released ones are taken up by their cell;
//! some blink (one frame dimmed below detection); a few released pairs are made to pass close
//! to each other. Every draw comes from a third ChaCha8 stream of the seed, so the classic
//! scene never moves; the truth of every step is exact (`truth_migrasomes.csv` with
//! `track_id` and `visible`, `truth_events.csv`).
//!
//! The model (every number is in [`MODEL`] and in `truth.json`):
//! - **Release**: with probability `release` an attached migrasome (born before the last
//!   frame) gets a release frame uniform over the frames after its birth; it is `released`
//!   from that frame on and drifts from the next one. Its fiber link breaks: from the release
//!   frame on the fiber is not drawn within `fiber_break_um` of the migrasome's edge (where it
//!   was attached), so the release can be seen; the rest of the fiber stays where it was.
//! - **Drift**: a released migrasome moves each frame by a Gaussian step of SD `drift` µm per
//!   axis plus its own constant bias (`bias_rel` × `drift` µm, random direction). A step is
//!   redrawn (5 tries, else the migrasome stays) unless the migrasome keeps every classic
//!   rule from that frame on: ≥ 1 µm (edge to edge) from other migrasomes (their current
//!   centres, the spots of those born later, and every later point of a scripted encounter
//!   path), ≥ 1 µm from every body, ≥ r + 2 µm inside the image, in its cell's territory; and
//!   it never comes nearer a fiber than min(r + 1.5 µm, where it is) (for a migrasome released
//!   in the movie: the fiber as drawn, without its own break). 1.5 µm is the classic layout's
//!   clearance of a released migrasome from every fiber.
//! - **Disappearance**: with probability `disappear` a migrasome born ≥ 3 frames before the
//!   end gets a last frame uniform over the frames after its birth and before the movie's
//!   last; it is gone from the next frame.
//! - **Uptake**: with probability `uptake` a released migrasome (no other fate) starts, 1–4
//!   frames after it was released, to move straight at its own body's centre at 0.5–1.2 µm
//!   per frame (other rules as for drift, but no fiber rule and no clearance from its own
//!   body; blocked, it tries half a step up to 60° to the side). When its next full step
//!   would bring its edge within 0.5 µm of the body outline, it enters the body (is gone) in
//!   that frame instead: the frame before is its last (it does not slow at the membrane).
//!   Should a shortened or side step still bring it that close, that frame is its last,
//!   unless it is the movie's last frame (then it simply stays there: no uptake).
//! - **Blinking**: each frame strictly between a migrasome's first and last frame (and not
//!   its release frame, and not right after another blink) is, with probability `blink`,
//!   rendered at `blink_dim` × its brightness: the truth keeps the row with `visible` 0.
//! - **Encounters**: up to `encounters` pairs of released migrasomes (no other fate, centres
//!   ≤ 12 µm apart, small enough to keep 0.3 µm edge to edge) move on straight lines at
//!   0.15–0.4 µm per frame each (faster when the frames left are few), in opposite
//!   directions, so that their centres pass 1.5–2.5 µm apart (measured on frames); they stop
//!   4 frames after the closest approach. The whole path keeps every drift rule (1.3 µm from
//!   other migrasomes' spots) except the partner's gap. Pairs that do not fit are skipped
//!   (the ones made are in `truth.json`).
//!
//! Events (`truth_events.csv`): `formation` at the birth frame when > 0, `release` at the
//! release frame, `disappearance` and `uptake` at the last frame the migrasome is present
//! (at its centre there); `cell_id` is the migrasome's cell (for uptake also the cell that
//! takes it up).
//!
//! Not here: the classic layout (see `layout`), pixels (see `render`).

use std::f64::consts::TAU;

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::Serialize;

use super::geometry::P2;
use super::layout::{clear_of_bodies, fiber_dist_cut, frames_from, in_territory};
use super::scene::{Fate, Scene, uni};

/// The fixed numbers of the dynamics model (written to `truth.json` when dynamics are on).
#[derive(Clone, Debug, Serialize)]
pub struct DynamicsModel {
    pub bias_rel: f64,
    pub step_tries: usize,
    pub gap_um: f64,
    pub body_clearance_um: f64,
    pub fiber_clearance_um: f64,
    pub fiber_break_um: f64,
    pub uptake_delay_frames: (usize, usize),
    pub uptake_speed_um_per_frame: (f64, f64),
    pub uptake_reach_um: f64,
    pub uptake_touch_um: f64,
    pub blink_dim: f64,
    pub encounter_distance_um: (f64, f64),
    pub encounter_speed_um_per_frame: (f64, f64),
    pub encounter_reach_um: f64,
    pub encounter_partner_gap_um: f64,
    pub encounter_margin_um: f64,
}

pub const MODEL: DynamicsModel = DynamicsModel {
    bias_rel: 0.3,
    step_tries: 5,
    gap_um: 1.0,
    body_clearance_um: 1.0,
    fiber_clearance_um: 1.5,
    fiber_break_um: 1.5,
    uptake_delay_frames: (1, 4),
    uptake_speed_um_per_frame: (0.5, 1.2),
    uptake_reach_um: 15.0,
    uptake_touch_um: 0.5,
    blink_dim: 0.1,
    encounter_distance_um: (1.5, 2.5),
    encounter_speed_um_per_frame: (0.15, 0.4),
    encounter_reach_um: 12.0,
    encounter_partner_gap_um: 0.3,
    encounter_margin_um: 0.3,
};

/// A mover's state in the frame loop.
#[derive(Clone, Copy, PartialEq)]
enum Motion {
    Still,
    /// Brownian from this frame on (exclusive).
    Drift(usize),
    /// Drift from the first frame on (exclusive) until the second, then at the body at
    /// this speed.
    Uptake(usize, usize, f64),
    Scripted,
}

/// The frame from which a migrasome is released (`None`: never).
fn released_from(scene: &Scene, i: usize) -> Option<usize> {
    let m = &scene.migrasomes[i];
    if m.released { Some(m.birth) } else { m.release }
}

/// Adds the dynamics to the scene's migrasomes (see the module doc).
pub fn run(scene: &mut Scene, rng: &mut ChaCha8Rng) {
    let d = scene.cfg.dynamics.clone();
    let frames = scene.cfg.frames;
    let n = scene.migrasomes.len();
    // Releases, then disappearances: two draws per migrasome each, always.
    for m in &mut scene.migrasomes {
        let (u, f) = (rng.random::<f64>(), rng.random::<f64>());
        if !m.released && m.birth + 1 < frames && u < d.release {
            let k = frames - 1 - m.birth;
            m.release = Some(m.birth + 1 + ((f * k as f64) as usize).min(k - 1));
        }
    }
    for m in &mut scene.migrasomes {
        let (u, f) = (rng.random::<f64>(), rng.random::<f64>());
        if m.birth + 3 <= frames && u < d.disappear {
            let k = frames - 2 - m.birth;
            let last = m.birth + 1 + ((f * k as f64) as usize).min(k - 1);
            m.end = Some((last, Fate::Disappearance));
            if m.release.is_some_and(|r| r >= last) {
                m.release = None;
            }
        }
    }
    let mut motion = vec![Motion::Still; n];
    let mut scripts: Vec<Option<Vec<P2>>> = vec![None; n];
    encounters(scene, &d, &mut motion, &mut scripts, rng);
    for (i, mo) in motion.iter_mut().enumerate() {
        let (u, delay, speed) = (
            rng.random::<f64>(),
            rng.random_range(MODEL.uptake_delay_frames.0..=MODEL.uptake_delay_frames.1),
            uni(rng, MODEL.uptake_speed_um_per_frame),
        );
        if *mo == Motion::Scripted || scene.migrasomes[i].end.is_some() {
            continue;
        }
        let Some(from) = released_from(scene, i) else {
            continue;
        };
        let start = from + delay;
        let near = start < frames && {
            let (m, c) = (&scene.migrasomes[i], &scene.cells[cell_index(scene, i)]);
            c.body_sdist(m.pos, start) - 0.5 * m.diameter <= MODEL.uptake_reach_um
        };
        *mo = if u < d.uptake && near {
            Motion::Uptake(from, start, speed)
        } else {
            Motion::Drift(from)
        };
    }
    let bias: Vec<P2> = (0..n)
        .map(|_| P2::polar(uni(rng, (0.0, TAU))).scale(MODEL.bias_rel * d.drift))
        .collect();
    // The frame loop: each mover steps in id order, checked against the others' current spots.
    let mut cur: Vec<P2> = scene.migrasomes.iter().map(|m| m.pos).collect();
    let mut paths: Vec<Vec<P2>> = cur.iter().map(|&p| vec![p]).collect();
    for t in 1..frames {
        for i in 0..n {
            let m = &scene.migrasomes[i];
            if !m.exists(t) || t <= m.birth {
                continue;
            }
            match motion[i] {
                Motion::Scripted => {
                    cur[i] = scripts[i].as_ref().expect("script")[t - m.birth];
                }
                Motion::Uptake(_, start, speed) if t > start => {
                    // a step that would bring it to the body: it enters the body instead,
                    // its last frame was the previous one (it does not slow at the membrane)
                    if touches_after_step(scene, i, t, speed, &cur) {
                        scene.migrasomes[i].end = Some((t - 1, Fate::Uptake));
                        continue;
                    }
                    if let Some(p) = uptake_step(scene, i, t, speed, &cur, &scripts) {
                        cur[i] = p;
                    }
                    let cell = cell_index(scene, i);
                    let gap = scene.cells[cell].body_sdist(cur[i], t) - 0.5 * m.diameter;
                    if gap <= MODEL.uptake_touch_um && t + 1 < frames {
                        scene.migrasomes[i].end = Some((t, Fate::Uptake));
                    }
                }
                Motion::Drift(from) | Motion::Uptake(from, _, _) if t > from => {
                    for _ in 0..MODEL.step_tries {
                        let step = P2::new(
                            rng.sample::<f64, _>(StandardNormal),
                            rng.sample::<f64, _>(StandardNormal),
                        );
                        let p = cur[i].add(step.scale(d.drift)).add(bias[i]);
                        if allowed(scene, i, p, cur[i], t, &cur, &scripts, true) {
                            cur[i] = p;
                            break;
                        }
                    }
                }
                _ => {}
            }
            paths[i].push(cur[i]);
        }
    }
    for (m, p) in scene.migrasomes.iter_mut().zip(paths) {
        m.path = p;
    }
    // Blinking, last: it needs the final lifetimes.
    for m in &mut scene.migrasomes {
        let last = m.end.map_or(frames - 1, |(l, _)| l);
        let mut prev = false;
        for t in m.birth + 1..last {
            let u = rng.random::<f64>();
            let hide = !prev && m.release != Some(t) && u < d.blink;
            if hide {
                m.hidden.push(t);
            }
            prev = hide;
        }
    }
}

fn cell_index(scene: &Scene, i: usize) -> usize {
    let id = scene.migrasomes[i].cell;
    (scene.cells.iter().position(|c| c.id == id)).expect("own cell")
}

/// Whether migrasome `i` may stand at `p` from frame `t` on (coming from `from`); `drift`:
/// the fiber rule and the clearance from its own body apply (not so for uptake).
#[allow(clippy::too_many_arguments)]
fn allowed(
    scene: &Scene,
    i: usize,
    p: P2,
    from: P2,
    t: usize,
    cur: &[P2],
    scripts: &[Option<Vec<P2>>],
    drift: bool,
) -> bool {
    let m = &scene.migrasomes[i];
    let r = 0.5 * m.diameter;
    let ci = cell_index(scene, i);
    let frames = frames_from(scene, t);
    let model = &scene.model;
    scene.in_field(p, r + model.border_clearance_um)
        && clear_of_bodies(
            scene,
            p,
            r + MODEL.body_clearance_um,
            (!drift).then_some(ci),
            &frames,
        )
        && in_territory(scene, ci, p, r, model.territory_margin_um, &frames)
        && (!drift || {
            let cut = scene.own_break(i);
            let d = |q| fiber_dist_cut(scene, q, cut.as_slice());
            d(p) >= (r + MODEL.fiber_clearance_um).min(d(from))
        })
        && (scene.migrasomes.iter().enumerate()).all(|(k, o)| {
            if k == i || o.end.is_some_and(|(last, _)| last < t) {
                return true;
            }
            let need = r + 0.5 * o.diameter + MODEL.gap_um;
            match &scripts[k] {
                Some(path) => (t.max(o.birth)..=o.birth + path.len() - 1)
                    .all(|s| path[s - o.birth].dist(p) >= need),
                None => cur[k].dist(p) >= need,
            }
        })
}

/// Whether migrasome `i`'s full straight step in frame `t` towards its body's centre would
/// bring its edge within `uptake_touch_um` of the body.
fn touches_after_step(scene: &Scene, i: usize, t: usize, speed: f64, cur: &[P2]) -> bool {
    let cell = &scene.cells[cell_index(scene, i)];
    let r = 0.5 * scene.migrasomes[i].diameter;
    let to = cell.pos(t).sub(cur[i]);
    let len = to.norm();
    len <= 0.0 || {
        let p = cur[i].add(to.scale(speed.min(len) / len));
        cell.body_sdist(p, t) - r <= MODEL.uptake_touch_um
    }
}

/// One uptake step of migrasome `i` in frame `t` towards its body's centre (halved up to 6
/// times while it would overlap the body or break a rule); `None`: it stays.
fn uptake_step(
    scene: &Scene,
    i: usize,
    t: usize,
    speed: f64,
    cur: &[P2],
    scripts: &[Option<Vec<P2>>],
) -> Option<P2> {
    let cell = &scene.cells[cell_index(scene, i)];
    let r = 0.5 * scene.migrasomes[i].diameter;
    let to = cell.pos(t).sub(cur[i]);
    let len = to.norm();
    if len <= 0.0 {
        return None;
    }
    let ok = |p: P2| {
        cell.body_sdist(p, t) - r >= 0.0 && allowed(scene, i, p, cur[i], t, cur, scripts, false)
    };
    let mut step = speed.min(len);
    for _ in 0..7 {
        let p = cur[i].add(to.scale(step / len));
        if ok(p) {
            return Some(p);
        }
        step *= 0.5;
    }
    // Blocked straight ahead: a side step, up to 60° off.
    let dir = to.y.atan2(to.x);
    [0.5, -0.5, 1.0, -1.0]
        .into_iter()
        .map(|a| cur[i].add(P2::polar(dir + a).scale(0.5 * speed)))
        .find(|&p| ok(p))
}

/// Makes up to `d.encounters` pairs of released migrasomes pass close (see the module doc).
fn encounters(
    scene: &mut Scene,
    d: &super::Dynamics,
    motion: &mut [Motion],
    scripts: &mut [Option<Vec<P2>>],
    rng: &mut ChaCha8Rng,
) {
    let frames = scene.cfg.frames;
    let cand: Vec<usize> = (0..scene.migrasomes.len())
        .filter(|&i| released_from(scene, i).is_some() && scene.migrasomes[i].end.is_none())
        .collect();
    if cand.len() < 2 {
        return;
    }
    // Every pair near enough, in a random order (one draw per pair, so the order is fixed).
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (k, &a) in cand.iter().enumerate() {
        for &b in &cand[k + 1..] {
            let (ma, mb) = (&scene.migrasomes[a], &scene.migrasomes[b]);
            let dist = ma.pos.dist(mb.pos);
            if dist <= MODEL.encounter_reach_um && ma.diameter + mb.diameter < 4.4 {
                pairs.push((rng.random::<f64>(), a, b));
            }
        }
    }
    pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut made = 0;
    for (_, a, b) in pairs {
        if made >= d.encounters {
            break;
        }
        let dmin = uni(rng, MODEL.encounter_distance_um);
        let v0 = uni(rng, MODEL.encounter_speed_um_per_frame);
        let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let slack_u = rng.random::<f64>();
        if scripts[a].is_some() || scripts[b].is_some() {
            continue;
        }
        let (ma, mb) = (&scene.migrasomes[a], &scene.migrasomes[b]);
        let (ra, rb) = (0.5 * ma.diameter, 0.5 * mb.diameter);
        let delta = mb.pos.sub(ma.pos);
        let dist = delta.norm();
        if ra + rb + MODEL.encounter_partner_gap_um > dmin
            || dist <= dmin + 0.5
            || dist > MODEL.encounter_reach_um
        {
            continue;
        }
        // Relative velocity w of b against a: |w| = 2v, at angle θ off -û with sin θ = dmin/dist.
        let u = delta.scale(1.0 / dist);
        let nrm = P2::new(-u.y, u.x).scale(side);
        let sin = dmin / dist;
        let cos = (1.0 - sin * sin).sqrt();
        let start = released_from(scene, a)
            .unwrap_or(0)
            .max(released_from(scene, b).unwrap_or(0));
        if start + 3 > frames {
            continue;
        }
        // They move until 4 frames past the closest approach; faster (up to the range's top)
        // when that would not fit in the frames left.
        let avail = (frames - 2 - start) as f64 - 5.0;
        if avail < 1.0 {
            continue;
        }
        let v = v0.max(dist * cos / (2.0 * avail));
        if v > MODEL.encounter_speed_um_per_frame.1 {
            continue;
        }
        let tc = dist * cos / (2.0 * v);
        let len = tc.ceil() as usize + 4;
        if start + len + 1 > frames - 1 {
            continue;
        }
        let w = u.scale(-cos).add(nrm.scale(sin)).scale(2.0 * v);
        let t0 = start + 1 + ((slack_u * (frames - 1 - len - start) as f64) as usize);
        let at = |m: &super::Migrasome, vel: P2, t: usize| {
            m.pos.add(vel.scale((t.clamp(t0, t0 + len) - t0) as f64))
        };
        let pa: Vec<P2> = (ma.birth..frames)
            .map(|t| at(ma, w.scale(-0.5), t))
            .collect();
        let pb: Vec<P2> = (mb.birth..frames)
            .map(|t| at(mb, w.scale(0.5), t))
            .collect();
        let (close_t, close_d) = (ma.birth.max(mb.birth)..frames)
            .map(|t| (t, pa[t - ma.birth].dist(pb[t - mb.birth])))
            .fold((0, f64::INFINITY), |x, y| if y.1 < x.1 { y } else { x });
        if close_d > MODEL.encounter_distance_um.1
            || close_d < ra + rb + MODEL.encounter_partner_gap_um
        {
            continue;
        }
        if !script_ok(scene, a, &pa, b, scripts) || !script_ok(scene, b, &pb, a, scripts) {
            continue;
        }
        scene
            .encounters
            .push((ma.id, mb.id, close_t, (close_d * 1e4).round() / 1e4));
        scripts[a] = Some(pa);
        scripts[b] = Some(pb);
        motion[a] = Motion::Scripted;
        motion[b] = Motion::Scripted;
        made += 1;
    }
}

/// Whether the scripted path of migrasome `i` (from its birth) keeps every rule in every frame,
/// but against `partner`.
fn script_ok(
    scene: &Scene,
    i: usize,
    path: &[P2],
    partner: usize,
    scripts: &[Option<Vec<P2>>],
) -> bool {
    let m = &scene.migrasomes[i];
    let r = 0.5 * m.diameter;
    let ci = cell_index(scene, i);
    let model = &scene.model;
    let cut = scene.own_break(i);
    let fiber_dist = |q| fiber_dist_cut(scene, q, cut.as_slice());
    let fiber0 = fiber_dist(m.pos);
    path.iter().enumerate().all(|(k, &p)| {
        let t = m.birth + k;
        scene.in_field(p, r + model.border_clearance_um)
            && clear_of_bodies(scene, p, r + MODEL.body_clearance_um, None, &[t])
            && in_territory(scene, ci, p, r, model.territory_margin_um, &[t])
            && (k == 0
                || p == path[k - 1]
                || fiber_dist(p) >= (r + MODEL.fiber_clearance_um).min(fiber0))
            && (scene.migrasomes.iter().enumerate()).all(|(j, o)| {
                if j == i || j == partner || !o.exists(t) {
                    return true;
                }
                let need = r + 0.5 * o.diameter + MODEL.gap_um;
                match &scripts[j] {
                    Some(q) => q[t - o.birth].dist(p) >= need,
                    None => o.pos.dist(p) >= need + MODEL.encounter_margin_um,
                }
            })
    })
}
