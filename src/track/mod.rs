//! Tracking detections over the frames of a movie with the LAP framework of Jaqaman et al.
//! (Nat Methods 2008) as TrackMate poses it (written from the paper and TrackMate's
//! documentation), streaming: a bounded window of frames is held, whatever the movie's length.
//!
//! 1. **Frame to frame**: the spots of frame t−1 and frame t are linked by a linear
//!    assignment ([`lap`]) with cost d² (times TrackMate's feature penalties, [`lap::link_cost`])
//!    for pairs within `linking_max_distance_um`, and "no link" at 1.05 × the largest
//!    candidate cost of the frame pair. Chains of links are *segments*.
//! 2. **Segments**: segment ends are linked to segment starts 1 ≤ Δt ≤ `max_frame_gap`
//!    frames later within `gap_closing_max_distance_um` (gap closing); optionally an end to a
//!    middle spot of another segment one frame later (merging) and a middle spot to the
//!    start of a segment one frame later (splitting), alternatives at 1.05 × the 90th
//!    percentile of the candidate costs. Unlike TrackMate, a segment of one spot can be
//!    gap-closed too (a detection missed in every other frame still joins its track).
//!
//! TrackMate solves step 2 once over the whole movie. Here it is solved over a sliding window
//! (a rolling horizon): after frame t, the segment problem over the ends of frames
//! t−G…t−1 and the starts of frames t−G+1…t (G = `max_frame_gap`) is solved, and the
//! decisions of the ends of frame t−G — whose every candidate has been seen — are kept. A
//! spot's track is then final G−1 frames after its own ([`Tracker::push`] returns it), and a
//! track's end G frames after its last spot. Memory holds 2G+1 frames of spots.
//!
//! Track ids: a spot continues the track of the spot it is linked (or gap-closed) from; a
//! segment that splits off another starts a new track (its parent given); a track that merges
//! into another ends there. The first frame's tracks take the ids the caller proposes (the
//! detection ids), so a single image keeps its ids; later tracks count on from the largest.

pub mod lap;

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// TrackMate's `ALTERNATIVE_LINKING_COST_FACTOR`.
pub const ALTERNATIVE_FACTOR: f64 = 1.05;
/// TrackMate's `CUTOFF_PERCENTILE` of the segment pass.
pub const CUTOFF_PERCENTILE: f64 = 0.9;

/// The smallest alternative cost: a millionth of the largest allowed cost, so a problem whose
/// candidates all cost 0 (spots that did not move) still links them.
fn alt_floor(max_d: f64) -> f64 {
    (1e-6 * max_d * max_d).max(f64::MIN_POSITIVE)
}

/// The linking parameters of one kind of object, in µm and frames, named after TrackMate's
/// settings keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkParams {
    /// Frame-to-frame links up to this distance.
    pub linking_max_distance_um: f64,
    /// Gap closing up to this distance...
    pub gap_closing_max_distance_um: f64,
    /// ...over at most this many frames (frame difference; 1 = no frame missed, 2 = one).
    pub max_frame_gap: u32,
    pub allow_merging: bool,
    pub merging_max_distance_um: f64,
    pub allow_splitting: bool,
    pub splitting_max_distance_um: f64,
    /// `LINKING_FEATURE_PENALTIES` weights on the mean intensity (of the migrasome channel)
    /// and on the diameter; 0 = off. Used for gap closing, merging and splitting too.
    pub penalty_mean_intensity: f64,
    pub penalty_diameter: f64,
}

impl LinkParams {
    /// Migrasomes barely move once formed. Up to 3 frames missed are bridged: a small
    /// migrasome beside a body is taken for a protrusion's tip in some frames and not in
    /// others, and migrasomes blink; bridging 1 frame (TrackMate's default) broke such tracks
    /// into false disappearances and formations (`synth --dynamics` movies 33-36: formation
    /// F1 0.919 -> 0.944, disappearance 0.865 -> 0.914, ID switches 4 -> 1).
    pub fn migrasomes() -> LinkParams {
        LinkParams {
            linking_max_distance_um: 2.0,
            gap_closing_max_distance_um: 3.0,
            max_frame_gap: 4,
            allow_merging: false,
            merging_max_distance_um: 2.0,
            allow_splitting: false,
            splitting_max_distance_um: 2.0,
            penalty_mean_intensity: 0.0,
            penalty_diameter: 0.0,
        }
    }

    /// Cells (nuclei centroids, or bodies) glide up to several µm per frame; they divide.
    pub fn cells() -> LinkParams {
        LinkParams {
            linking_max_distance_um: 15.0,
            gap_closing_max_distance_um: 15.0,
            max_frame_gap: 2,
            allow_merging: false,
            merging_max_distance_um: 15.0,
            allow_splitting: true,
            splitting_max_distance_um: 15.0,
            penalty_mean_intensity: 0.0,
            penalty_diameter: 0.0,
        }
    }

    /// Checks every value; the error names the parameter (`prefix`.key).
    pub fn validate(&self, prefix: &str) -> Result<()> {
        for (k, v) in [
            ("linking_max_distance_um", self.linking_max_distance_um),
            (
                "gap_closing_max_distance_um",
                self.gap_closing_max_distance_um,
            ),
            ("merging_max_distance_um", self.merging_max_distance_um),
            ("splitting_max_distance_um", self.splitting_max_distance_um),
            ("penalty_mean_intensity", self.penalty_mean_intensity),
            ("penalty_diameter", self.penalty_diameter),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::invalid(format!(
                    "{prefix}.{k} must be >= 0 (got {v})"
                )));
            }
        }
        if self.max_frame_gap < 1 || self.max_frame_gap > 100 {
            return Err(Error::invalid(format!(
                "{prefix}.max_frame_gap must be 1 to 100 (got {})",
                self.max_frame_gap
            )));
        }
        Ok(())
    }
}

/// One detection given to the tracker (positions in µm).
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    /// Mean intensity and diameter (for the feature penalties).
    pub features: [f64; 2],
    /// The id a track starting here in the first frame takes (its detection id; 0: none).
    pub id: u32,
}

/// How two spots are linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// Frame to frame.
    Link,
    /// Gap closing (a segment end to a segment start).
    Gap,
    /// A segment split off another (mother's middle spot → daughter's start).
    Split,
    /// A segment merged into another (end → middle spot).
    Merge,
}

/// A link of the track graph; spots by their global number (0, 1, ... in the order pushed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Edge {
    pub source: u64,
    pub target: u64,
    /// The source spot's frame and track.
    pub source_frame: usize,
    pub source_track: u32,
    pub cost: f64,
    pub kind: LinkKind,
}

/// A spot whose track is final.
#[derive(Clone, Debug)]
pub struct Final {
    pub frame: usize,
    /// Its place among its frame's points.
    pub index: usize,
    /// Global spot number.
    pub spot: u64,
    pub track: u32,
    /// A track starts here: `Some(parent)`, the parent being the track it split off.
    pub starts: Option<Option<u32>>,
    /// The links ending at this spot.
    pub incoming: Vec<Edge>,
}

/// A track that ended.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackEnd {
    pub track: u32,
    pub last_frame: usize,
    pub last_spot: u64,
    /// The track it merged into.
    pub merged_into: Option<u32>,
}

/// What a [`Tracker::push`] or [`Tracker::finish`] made final, in frame order.
#[derive(Clone, Debug, Default)]
pub struct Output {
    pub spots: Vec<Final>,
    pub ends: Vec<TrackEnd>,
}

#[derive(Clone, Debug)]
struct Node {
    frame: usize,
    index: usize,
    p: Point,
    pred: Option<(u64, f64, LinkKind)>,
    succ: bool,
    split_from: Option<(u64, f64)>,
    split_out: bool,
    merges_in: Vec<(u64, f64)>,
    merged_into: Option<u64>,
    /// Its decision as a source of the segment pass is kept.
    row_done: bool,
    ended: bool,
    /// 0 until final.
    track: u32,
}

#[derive(Clone, Copy, PartialEq)]
enum Row {
    End,
    SplitSource,
}

#[derive(Clone, Copy, PartialEq)]
enum Col {
    Start,
    MergeTarget,
}

/// The streaming tracker of one kind of object in one plane sequence.
pub struct Tracker {
    p: LinkParams,
    g: usize,
    weights: [f64; 2],
    nodes: VecDeque<Node>,
    first_gid: u64,
    /// Per frame held: first global spot number and count; `frames[0]` is `first_frame`.
    frames: VecDeque<(u64, usize)>,
    first_frame: usize,
    next_frame: usize,
    next_final: usize,
    next_id: u32,
    pending_ends: Vec<u64>,
}

impl Tracker {
    pub fn new(p: &LinkParams) -> Tracker {
        Tracker {
            g: p.max_frame_gap.max(1) as usize,
            weights: [p.penalty_mean_intensity, p.penalty_diameter],
            p: p.clone(),
            nodes: VecDeque::new(),
            first_gid: 0,
            frames: VecDeque::new(),
            first_frame: 0,
            next_frame: 0,
            next_final: 0,
            next_id: 1,
            pending_ends: Vec::new(),
        }
    }

    /// Frames whose spots' tracks are all final: those before this one.
    pub fn final_before(&self) -> usize {
        self.next_final
    }

    fn node(&self, gid: u64) -> &Node {
        &self.nodes[(gid - self.first_gid) as usize]
    }

    fn node_mut(&mut self, gid: u64) -> &mut Node {
        &mut self.nodes[(gid - self.first_gid) as usize]
    }

    /// Global spot numbers of frame `f` (empty when not held).
    fn frame_gids(&self, f: usize) -> std::ops::Range<u64> {
        if f < self.first_frame || f >= self.first_frame + self.frames.len() {
            return 0..0;
        }
        let (s, n) = self.frames[f - self.first_frame];
        s..s + n as u64
    }

    fn cost(&self, a: &Point, b: &Point, max_d: f64) -> Option<f64> {
        let d2 = (a.x - b.x).powi(2) + (a.y - b.y).powi(2);
        (d2 <= max_d * max_d).then(|| lap::link_cost(d2, &a.features, &b.features, &self.weights))
    }

    /// Adds the next frame's detections; returns what became final.
    pub fn push(&mut self, points: &[Point]) -> Output {
        let t = self.next_frame;
        self.next_frame += 1;
        let start = self.first_gid + self.nodes.len() as u64;
        if self.frames.is_empty() {
            self.first_frame = t;
        }
        for (i, p) in points.iter().enumerate() {
            self.nodes.push_back(Node {
                frame: t,
                index: i,
                p: *p,
                pred: None,
                succ: false,
                split_from: None,
                split_out: false,
                merges_in: Vec::new(),
                merged_into: None,
                row_done: false,
                ended: false,
                track: 0,
            });
        }
        self.frames.push_back((start, points.len()));
        if t > 0 {
            self.link_frames(t - 1, t);
        }
        let mut out = Output::default();
        self.segments(t, false);
        if t + 1 >= self.g {
            self.finalize_through(t + 1 - self.g, &mut out);
        }
        self.emit_ends(&mut out);
        // keep what later frames may still refer to
        let keep_from = (t + 1).saturating_sub(2 * self.g + 1);
        while self.first_frame < keep_from && self.first_frame < self.next_final {
            let (_, n) = self.frames.pop_front().expect("held");
            for _ in 0..n {
                self.nodes.pop_front();
            }
            self.first_gid += n as u64;
            self.first_frame += 1;
        }
        out
    }

    /// The movie ended: every decision is taken, every track ends.
    pub fn finish(&mut self) -> Output {
        let mut out = Output::default();
        if self.next_frame == 0 {
            return out;
        }
        let last = self.next_frame - 1;
        self.segments(last, true);
        self.finalize_through(last, &mut out);
        for i in 0..self.nodes.len() {
            let n = &mut self.nodes[i];
            if !n.succ && n.merged_into.is_none() && !n.ended {
                n.ended = true;
                let gid = self.first_gid + i as u64;
                self.pending_ends.push(gid);
            }
        }
        self.emit_ends(&mut out);
        out
    }

    /// Frame-to-frame assignment between frames `a` and `b`.
    fn link_frames(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.frame_gids(a), self.frame_gids(b));
        let mut candidates = Vec::new();
        for (i, ga) in ra.clone().enumerate() {
            for (j, gb) in rb.clone().enumerate() {
                let (pa, pb) = (self.node(ga).p, self.node(gb).p);
                if let Some(c) = self.cost(&pa, &pb, self.p.linking_max_distance_um) {
                    candidates.push((i, j, c));
                }
            }
        }
        let max = candidates.iter().map(|c| c.2).fold(0.0, f64::max);
        let prob = lap::Problem {
            rows: ra.clone().count(),
            cols: rb.clone().count(),
            candidates,
            // never 0: spots that did not move (cost 0) are still linked
            alternative: (ALTERNATIVE_FACTOR * max).max(alt_floor(self.p.linking_max_distance_um)),
        };
        let links = lap::solve(&prob);
        for (i, l) in links.into_iter().enumerate() {
            if let Some(j) = l {
                let cost = prob
                    .candidates
                    .iter()
                    .find(|c| c.0 == i && c.1 == j)
                    .expect("a candidate")
                    .2;
                let (ga, gb) = (ra.start + i as u64, rb.start + j as u64);
                self.node_mut(ga).succ = true;
                self.node_mut(gb).pred = Some((ga, cost, LinkKind::Link));
            }
        }
    }

    /// The segment pass over the window ending at frame `t`; keeps the decisions of the
    /// sources of frame t−G (all of them when `all`).
    fn segments(&mut self, t: usize, all: bool) {
        let g = self.g;
        let mut rows: Vec<(u64, Row)> = Vec::new();
        for f in t.saturating_sub(g)..t {
            for gid in self.frame_gids(f) {
                let n = self.node(gid);
                if n.row_done {
                    continue;
                }
                if !n.succ && n.merged_into.is_none() && !n.ended {
                    rows.push((gid, Row::End));
                } else if n.succ && self.p.allow_splitting && !n.split_out {
                    rows.push((gid, Row::SplitSource));
                }
            }
        }
        let mut cols: Vec<(u64, Col)> = Vec::new();
        for f in (t + 1).saturating_sub(g)..=t {
            for gid in self.frame_gids(f) {
                let n = self.node(gid);
                if n.pred.is_none() && n.split_from.is_none() {
                    cols.push((gid, Col::Start));
                } else if n.pred.is_some() && self.p.allow_merging && n.merges_in.is_empty() {
                    cols.push((gid, Col::MergeTarget));
                }
            }
        }
        let mut candidates = Vec::new();
        for (i, &(rg, rk)) in rows.iter().enumerate() {
            let r = self.node(rg);
            for (j, &(cg, ck)) in cols.iter().enumerate() {
                let c = self.node(cg);
                if c.frame <= r.frame {
                    continue;
                }
                let dt = c.frame - r.frame;
                let max_d = match (rk, ck) {
                    (Row::End, Col::Start) if dt <= g => self.p.gap_closing_max_distance_um,
                    (Row::End, Col::MergeTarget) if dt == 1 => self.p.merging_max_distance_um,
                    (Row::SplitSource, Col::Start) if dt == 1 => self.p.splitting_max_distance_um,
                    _ => continue,
                };
                if let Some(cost) = self.cost(&r.p, &c.p, max_d) {
                    candidates.push((i, j, cost));
                }
            }
        }
        let links = if candidates.is_empty() {
            vec![None; rows.len()]
        } else {
            let mut costs: Vec<f64> = candidates.iter().map(|c| c.2).collect();
            costs.sort_by(f64::total_cmp);
            let k =
                ((CUTOFF_PERCENTILE * costs.len() as f64).ceil() as usize).clamp(1, costs.len());
            let prob = lap::Problem {
                rows: rows.len(),
                cols: cols.len(),
                candidates: candidates.clone(),
                alternative: (ALTERNATIVE_FACTOR * costs[k - 1])
                    .max(alt_floor(self.p.gap_closing_max_distance_um)),
            };
            lap::solve(&prob)
        };
        let cost_of = |i: usize, j: usize| {
            candidates
                .iter()
                .find(|c| c.0 == i && c.1 == j)
                .expect("a candidate")
                .2
        };
        for (i, l) in links.into_iter().enumerate() {
            let (rg, rk) = rows[i];
            if !all && self.node(rg).frame + g > t {
                continue;
            }
            self.node_mut(rg).row_done = true;
            match (rk, l) {
                (Row::End, Some(j)) => {
                    let (cg, ck) = cols[j];
                    let cost = cost_of(i, j);
                    if ck == Col::Start {
                        self.node_mut(rg).succ = true;
                        self.node_mut(cg).pred = Some((rg, cost, LinkKind::Gap));
                    } else {
                        self.node_mut(rg).merged_into = Some(cg);
                        self.node_mut(cg).merges_in.push((rg, cost));
                        self.pending_ends.push(rg);
                    }
                }
                (Row::End, None) => {
                    self.node_mut(rg).ended = true;
                    self.pending_ends.push(rg);
                }
                (Row::SplitSource, Some(j)) => {
                    let cg = cols[j].0;
                    let cost = cost_of(i, j);
                    self.node_mut(rg).split_out = true;
                    self.node_mut(cg).split_from = Some((rg, cost));
                }
                (Row::SplitSource, None) => {}
            }
        }
    }

    /// The link from `src` (its track already final) to `target`.
    fn edge_from(&self, src: u64, target: u64, cost: f64, kind: LinkKind) -> Edge {
        let s = self.node(src);
        Edge {
            source: src,
            target,
            source_frame: s.frame,
            source_track: s.track,
            cost,
            kind,
        }
    }

    /// Gives every spot of the frames up to `last` its track.
    fn finalize_through(&mut self, last: usize, out: &mut Output) {
        while self.next_final <= last && self.next_final < self.next_frame {
            let f = self.next_final;
            let gids = self.frame_gids(f);
            if f == 0 {
                let max = gids.clone().map(|g| self.node(g).p.id).max().unwrap_or(0);
                self.next_id = self.next_id.max(max.saturating_add(1));
            }
            let mut used = std::collections::HashSet::new();
            for gid in gids {
                let n = self.node(gid).clone();
                let mut incoming = Vec::new();
                let (track, starts) = if let Some((src, cost, kind)) = n.pred {
                    incoming.push(self.edge_from(src, gid, cost, kind));
                    (self.node(src).track, None)
                } else {
                    let parent = n.split_from.map(|(src, cost)| {
                        incoming.push(self.edge_from(src, gid, cost, LinkKind::Split));
                        self.node(src).track
                    });
                    let id = if f == 0 && n.p.id != 0 && used.insert(n.p.id) {
                        n.p.id
                    } else {
                        let id = self.next_id;
                        self.next_id += 1;
                        id
                    };
                    (id, Some(parent))
                };
                for &(src, cost) in &n.merges_in {
                    incoming.push(self.edge_from(src, gid, cost, LinkKind::Merge));
                }
                self.node_mut(gid).track = track;
                out.spots.push(Final {
                    frame: f,
                    index: n.index,
                    spot: gid,
                    track,
                    starts,
                    incoming,
                });
            }
            self.next_final += 1;
        }
    }

    fn emit_ends(&mut self, out: &mut Output) {
        let mut ends = std::mem::take(&mut self.pending_ends);
        ends.sort_unstable();
        for gid in ends {
            let n = self.node(gid);
            out.ends.push(TrackEnd {
                track: n.track,
                last_frame: n.frame,
                last_spot: gid,
                merged_into: n.merged_into.map(|m| self.node(m).track),
            });
        }
    }
}

#[cfg(test)]
mod tests;
