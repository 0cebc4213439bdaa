//! Stage "spots": migrasome candidates and the host's verdict on each.
//!
//! On the GPU: the spot mask (difference of Gaussians above its threshold) loses every
//! component that reaches a body's exclusion zone (a spot cut by the zone's edge is the edge of
//! a body, a ruffle or a protrusion, not a migrasome); components too large for one migrasome
//! (clusters) are split at local maxima at least the smallest diameter apart; every candidate is
//! labelled and measured over every raw channel, with the nearby fiber shaft and the attached
//! flag from the fibers stage (see `fibers`). On the host, `judge` rules on size and shape
//! (see `shape`), on protrusion tips, and on faint blobs (far below the frame's median
//! migrasome).

use crate::error::{Error, Result};
use crate::gpu::{Gpu, Readback, Recorder};
use crate::ops::GpuPlane;
use crate::ops::expand::expand_labels;
use crate::ops::label::{KeepRule, Labels, component_any, label_components};
use crate::ops::mask::{and_mask, and_not, fill};
use crate::ops::measure::{ObjectStats, PendingObjects, record_objects};
use crate::ops::peaks::{PeakParams, local_maxima_within};

use super::super::config::PxParams;
use super::super::shape::{
    Reject, Shape, ShapeRules, judge as judge_shape, reject_faint, shapes, typical_peak,
};
use super::cargo::LocalBackground;
use super::fibers::FiberPlanes;
use super::{Capacities, Thresholds};

/// Value given to spot pixels of components without a split marker (kept apart by the
/// equal-value labelling).
const UNMARKED: u32 = u32::MAX - 1;
/// Peak spacing rounds recorded per frame (see `ops::peaks`).
const PEAK_ROUNDS: u32 = 16;

/// The GPU images of the stage.
pub(super) struct SpotPlanes {
    /// Spot pixels outside the body zone (whole components).
    pub outside_zone: GpuPlane,
    /// Spot components dropped for reaching into the body zone (1), for the QC picture.
    pub in_body_zone: GpuPlane,
    /// Candidates, split and labelled (not yet numbered 1..N: see [`Measured`]).
    pub labels: Labels,
}

/// Split work being read back.
pub(super) struct PendingSplit {
    clusters: Option<PendingObjects>,
    /// Nonzero when a plateau needed more spacing rounds than recorded.
    undecided: Option<Readback>,
}

/// Records the candidates. `spots_raw`: the spot mask; `body_zone`: bodies grown by the margin.
pub(super) fn record(
    rec: &mut Recorder,
    spot_img: &GpuPlane,
    spots_raw: &GpuPlane,
    body_zone: &GpuPlane,
    px: &PxParams,
    thr: &Thresholds,
    caps: &Capacities,
) -> Result<(SpotPlanes, PendingSplit)> {
    let sc = label_components(rec, spots_raw, 8)?;
    let in_body_zone = component_any(rec, &sc, body_zone)?;
    let sm = and_not(rec, spots_raw, &in_body_zone)?;
    let (seg, split) = if px.split {
        // the components of `sm` are those of `sc` left whole: no second labelling (labels
        // of dropped components are empty, and the area rule below drops them)
        let cc = Labels {
            plane: and_mask(rec, &sc.plane, &sm)?,
            ..sc.clone()
        };
        let (p_cl, large) = record_objects(
            rec,
            &cc,
            &[],
            caps.spots,
            KeepRule {
                min_area: px.shape_rules.max_area.saturating_add(1),
                ..Default::default()
            },
        )?;
        let pk = local_maxima_within(
            rec,
            spot_img,
            PeakParams {
                min_distance: px.split_distance,
                threshold_abs: Some(thr.spot as f32),
                threshold_rel: None,
                exclude_border: false,
            },
            PEAK_ROUNDS,
            Some(&large.plane),
        )?;
        let markers = and_mask(rec, &pk.mask, &large.plane)?;
        let markers = label_components(rec, &markers, 8)?;
        let nearest = expand_labels(rec, &markers.plane, f64::INFINITY)?;
        let seg = and_mask(rec, &nearest, &large.plane)?;
        (
            fill(rec, &seg, &sm, UNMARKED)?,
            PendingSplit {
                clusters: Some(p_cl),
                undecided: Some(rec.readback(&pk.undecided, 0, 4)),
            },
        )
    } else {
        (
            sm.clone(),
            PendingSplit {
                clusters: None,
                undecided: None,
            },
        )
    };
    let labels = label_components(rec, &seg, 8)?;
    Ok((
        SpotPlanes {
            outside_zone: sm,
            in_body_zone,
            labels,
        },
        split,
    ))
}

impl PendingSplit {
    /// Checks the split; `false` when the clusters' capacity was too small (it has been raised).
    pub fn finish(self, gpu: &Gpu, caps: &mut Capacities) -> Result<bool> {
        let mut grow = false;
        if let Some(c) = self.clusters {
            super::done(c.finish(gpu)?, &mut caps.spots, &mut grow);
        }
        if let Some(u) = self.undecided
            && u.wait_as::<u32>(gpu)?[0] != 0
        {
            return Err(Error::Gpu(
                "local maxima: a plateau needs more spacing rounds than recorded".into(),
            ));
        }
        Ok(!grow)
    }
}

/// Every candidate measured: over the raw channels, plus the two context planes of the fibers
/// stage (measured in the same pass, then taken off into [`Context`]).
pub(super) struct Measured {
    pending: PendingObjects,
    n_raw: usize,
    /// Candidates numbered 1..N in raster order.
    pub labels: GpuPlane,
}

/// What the fibers stage says of one candidate.
#[derive(Clone, Copy, Debug)]
pub(super) struct Context {
    /// The candidate's brightest pixel of the smoothed membrane.
    pub peak: f64,
    /// Brightest fiber-shaft pixel (smoothed membrane) just beyond the candidate's halo
    /// (membrane units; 0 if none).
    pub shaft_peak: f64,
    /// The candidate lies on the network of fibers that reaches a body.
    pub attached: bool,
    /// The protrusion (a short piece of ridge from a body) it lies on (its label; 0: none).
    pub protrusion: u32,
}

/// One candidate, measured.
pub(super) struct Candidate {
    /// Area, box, centroid and one entry per raw channel.
    pub stats: ObjectStats,
    pub context: Context,
}

pub(super) fn record_measure(
    rec: &mut Recorder,
    labels: &Labels,
    raws: &[GpuPlane],
    mem_smooth: &GpuPlane,
    fibers: &FiberPlanes,
    caps: &Capacities,
) -> Result<Measured> {
    let mut chans: Vec<&GpuPlane> = raws.iter().collect();
    chans.push(mem_smooth);
    chans.push(&fibers.shaft_near);
    chans.push(&fibers.attached);
    if let Some(p) = &fibers.protrusion {
        chans.push(p);
    }
    let (pending, kept) = record_objects(rec, labels, &chans, caps.spots, KeepRule::default())?;
    Ok(Measured {
        pending,
        n_raw: raws.len(),
        labels: kept.plane,
    })
}

impl Measured {
    /// The candidates; `None` when the capacity was too small (it has been raised).
    pub fn finish(self, gpu: &Gpu, caps: &mut Capacities) -> Result<Option<Vec<Candidate>>> {
        let mut grow = false;
        let Some(objects) = super::done(self.pending.finish(gpu)?, &mut caps.spots, &mut grow)
        else {
            return Ok(None);
        };
        let n_raw = self.n_raw;
        Ok(Some(
            objects
                .into_iter()
                .map(|mut stats| {
                    let peak = stats.channels[n_raw].max;
                    let attached = stats.channels[n_raw + 2].max >= 1.0;
                    let shaft_peak = stats.channels[n_raw + 1].max;
                    // the protrusion plane, measured last when protrusions are on
                    let protrusion = stats.channels.get(n_raw + 3).map_or(0, |c| c.max as u32);
                    stats.channels.truncate(n_raw);
                    Candidate {
                        stats,
                        context: Context {
                            peak,
                            shaft_peak,
                            attached,
                            protrusion,
                        },
                    }
                })
                .collect(),
        ))
    }
}

/// What the host knows of each candidate's surroundings, for [`judge`].
pub(super) struct Surroundings<'a> {
    /// The membrane's local background around each candidate (index = label - 1):
    /// out-of-focus haze and uneven illumination lift a shaft and a peak alike, and must not
    /// make a migrasome on a faint fiber look like a protrusion's tip.
    pub background: &'a [LocalBackground],
    /// Each candidate's fiber contact (ridge units, see `cargo`; index = label - 1), and the
    /// frame's fiber threshold.
    pub contact: &'a [Option<f64>],
    pub fiber_threshold: f64,
    /// How far each candidate's local background stands above the frame's background
    /// surface (index = candidate; `-inf`: no surface).
    pub raised: &'a [f64],
}

/// The host's verdict on every candidate (`None`: a migrasome), with its shape.
pub(super) fn judge(
    candidates: &[Candidate],
    label_img: &[u32],
    width: usize,
    around: Surroundings<'_>,
    px: &PxParams,
) -> Judged {
    let Surroundings {
        background,
        contact,
        fiber_threshold,
        raised,
    } = around;
    let mut cand_shapes = shapes(label_img, width, candidates.len());
    let level = |c: &Candidate| background[c.stats.label as usize - 1].mean;
    let peak = |c: &Candidate| c.context.peak - level(c);
    for (c, sh) in candidates.iter().zip(cand_shapes.iter_mut()) {
        let (pk, shaft) = (peak(c), c.context.shaft_peak - level(c));
        sh.tip_ratio = if pk > 0.0 { shaft.max(0.0) / pk } else { 0.0 };
    }
    // the verdict by shape alone, then a small candidate on a protrusion is its tip
    let by_shape: Vec<Option<Reject>> = candidates
        .iter()
        .zip(&cand_shapes)
        .map(|(c, sh)| judge_shape(c.stats.area, sh, &px.shape_rules))
        .collect();
    let tip_by_size = |c: &Candidate| {
        c.context.protrusion > 0 && c.stats.equivalent_diameter() <= px.protrusion_tip_max
    };
    let mut verdicts: Vec<Option<Reject>> = candidates
        .iter()
        .zip(&by_shape)
        .map(|(c, v)| v.or(tip_by_size(c).then_some(Reject::ProtrusionTip)))
        .collect();
    // a protrusion has one tip (see `fiber_sites`)
    if px.protrusion_sites > 0.0 {
        let sites: Vec<Site> = candidates
            .iter()
            .zip(&cand_shapes)
            .zip(&by_shape)
            .map(|((c, sh), &shape)| Site {
                piece: c.context.protrusion,
                shape,
                tip_ratio: sh.tip_ratio,
                x: c.stats.centroid_x,
                y: c.stats.centroid_y,
            })
            .collect();
        fiber_sites(&sites, px.protrusion_sites, &mut verdicts);
    }
    // a bright protrusion breaks into fragments at the spot threshold: a round candidate
    // beside a fragment (too small or elongated) nearly as bright as itself is its tip
    let fragments: Vec<usize> = (0..candidates.len())
        .filter(|&i| matches!(verdicts[i], Some(Reject::TooSmall | Reject::Elongated)))
        .collect();
    let reach = px.fragment_reach as i64;
    for i in 0..candidates.len() {
        if verdicts[i].is_some() {
            continue;
        }
        let (a, pa) = (&candidates[i].stats.bbox, peak(&candidates[i]));
        let beside = fragments.iter().any(|&j| {
            let b = &candidates[j].stats.bbox;
            let gap_x = (b[0] as i64 - a[2] as i64).max(a[0] as i64 - b[2] as i64);
            let gap_y = (b[1] as i64 - a[3] as i64).max(a[1] as i64 - b[3] as i64);
            gap_x.max(gap_y) <= reach && peak(&candidates[j]) > px.shape_rules.max_tip_ratio * pa
        });
        if beside && pa > 0.0 {
            verdicts[i] = Some(Reject::ProtrusionTip);
        }
    }
    // what the surroundings say: a bright ridge runs into it (a filopodium, as bright as
    // the body, ends there; no retraction fiber, 0.1-0.3 of a migrasome, starts there), or it
    // sits on a plateau higher above the background than itself above the plateau (inside a
    // dim part of a body that the mask missed, or on debris)
    let by_surroundings = |i: usize, c: &Candidate| {
        let ridge = contact[c.stats.label as usize - 1];
        if bright_ridge_runs_in(ridge, peak(c), fiber_threshold, px) {
            Some(Reject::ProtrusionTip)
        } else if on_plateau(raised[i], peak(c), px.max_plateau_ratio) {
            Some(Reject::OnPlateau)
        } else {
            None
        }
    };
    for (i, c) in candidates.iter().enumerate() {
        if verdicts[i].is_none() {
            verdicts[i] = by_surroundings(i, c);
        }
    }
    // faint blobs: far below the frame's typical counted candidate
    let peaks: Vec<f64> = candidates.iter().map(peak).collect();
    // the spot contrast's typical migrasome: counted and at least the smallest diameter
    // across (specks of a few pixels that pass the size tolerance are no measure of it)
    let typical_peak = typical_peak(&peaks, |i| {
        verdicts[i].is_none() && candidates[i].stats.equivalent_diameter() >= px.diameter_min
    });
    // a mask too small that breaks no other rule of a single candidate (by shape, at a
    // protrusion's tip by size, by its surroundings): what time-lapse persistence may count
    let unsized_rules = ShapeRules {
        min_area: 0,
        ..px.shape_rules
    };
    let small_only: Vec<bool> = candidates
        .iter()
        .zip(&cand_shapes)
        .enumerate()
        .map(|(i, (c, sh))| {
            by_shape[i] == Some(Reject::TooSmall)
                && judge_shape(c.stats.area, sh, &unsized_rules).is_none()
                && !tip_by_size(c)
                && by_surroundings(i, c).is_none()
        })
        .collect();
    let faint_floor = reject_faint(&peaks, &mut verdicts, px.min_relative_peak);
    Judged {
        shapes: cand_shapes,
        verdicts,
        small_only,
        peaks,
        faint_floor,
        typical_peak,
    }
}

/// A ridge runs into the candidate (its fiber contact `ridge`, ridge units; `None`: its ring
/// is all in the body zone) at least `fibers.tip_contact` fiber thresholds high and at least
/// `fibers.tip_contact_ratio` of its peak `pk` above its local background: surely a ridge,
/// and far brighter than a retraction fiber beside a migrasome.
fn bright_ridge_runs_in(ridge: Option<f64>, pk: f64, fiber_threshold: f64, px: &PxParams) -> bool {
    let (k, ratio) = (px.tip_contact, px.tip_contact_ratio);
    match ridge {
        Some(r) if k > 0.0 && ratio > 0.0 && fiber_threshold > 0.0 && pk > 0.0 => {
            r >= k * fiber_threshold && r >= ratio * pk
        }
        _ => false,
    }
}

/// The candidate's surroundings stand `raised` above the background surface, more than
/// `ratio` times its own peak `pk` above them (`MigrasomeParams::max_plateau_ratio`; 0: off).
fn on_plateau(raised: f64, pk: f64, ratio: f64) -> bool {
    ratio > 0.0 && pk > 0.0 && raised > ratio * pk
}

/// A candidate for [`fiber_sites`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Site {
    /// The protrusion it lies on (0: none).
    pub piece: u32,
    /// Its verdict by shape alone (`None`: round and of a migrasome's size).
    pub shape: Option<Reject>,
    /// Its shaft over its peak (`shape::Shape::tip_ratio`).
    pub tip_ratio: f64,
    /// Centroid (px).
    pub x: f64,
    pub y: f64,
}

/// A site on a fiber has a shaft at most this bright against its peak: retraction fibers are
/// 0.1-0.3 of a migrasome's brightness, a filopodium's shaft nearly as bright as its tip (the
/// tips that `fiber_sites` counted on `synth --filopodia` seed 101 where two filopodia cross
/// had 0.33-0.38; the migrasomes it found on independent fields 11-40, 0.06-0.24).
pub(super) const FIBER_SITE_MAX_TIP_RATIO: f64 = 0.3;

/// A protrusion has one tip: a short piece of ridge from a body that holds two round
/// candidates on a faint shaft ([`FIBER_SITE_MAX_TIP_RATIO`]) at least `separation` px apart
/// is a retraction fiber with migrasomes on it (a faint fiber breaks up within the
/// protrusion length), unless it also holds an elongated candidate (a bright protrusion's
/// shaft broken up at the spot threshold). Its round candidates on a faint shaft called
/// protrusion tips are counted again (`verdicts` set to `None`).
pub(super) fn fiber_sites(sites: &[Site], separation: f64, verdicts: &mut [Option<Reject>]) {
    let shafts: std::collections::HashSet<u32> = sites
        .iter()
        .filter(|s| s.piece > 0 && s.shape == Some(Reject::Elongated))
        .map(|s| s.piece)
        .collect();
    let round: Vec<usize> = (0..sites.len())
        .filter(|&i| sites[i].piece > 0 && sites[i].shape.is_none())
        .filter(|&i| sites[i].tip_ratio <= FIBER_SITE_MAX_TIP_RATIO)
        .filter(|&i| !shafts.contains(&sites[i].piece))
        .collect();
    for &i in &round {
        let a = &sites[i];
        let fiber = round.iter().any(|&j| {
            let b = &sites[j];
            b.piece == a.piece && (b.x - a.x).hypot(b.y - a.y) >= separation
        });
        if fiber && verdicts[i] == Some(Reject::ProtrusionTip) {
            verdicts[i] = None;
        }
    }
}

/// The verdicts on a frame's candidates.
pub(super) struct Judged {
    pub shapes: Vec<Shape>,
    pub verdicts: Vec<Option<Reject>>,
    /// Per candidate: too small, and no other rule against it (time-lapse persistence
    /// counts only such a mask too small).
    pub small_only: Vec<bool>,
    /// Each candidate's peak above its local background, and the faint rule's floor.
    pub peaks: Vec<f64>,
    pub faint_floor: Option<f64>,
    /// The median peak of the candidates counted before the faint rule and at least
    /// `diameter_min` across (`None`: none).
    pub typical_peak: Option<f64>,
}

/// A candidate counted by persistence is at least this fraction of the size of the last
/// detection of that migrasome counted by the rules: it is the same vesicle, while what is
/// left of a migrasome in a blink (dimmed to a tenth) is a speck a fifth of its size. 0.4
/// since stop 31 (0.7 before, from the 1st percentile of a track's frame-to-frame ratio,
/// 0.89–0.94 on `synth --dynamics` movies 33, 34, 36): at SNR 4 the noise cuts the masks of
/// the smallest migrasomes (0.5–0.6 µm) to 0.3–0.65 of their last counted size, and of the
/// 69 detections missed as too small on the 12 tuning movies at SNR 4–6, 18 were such cuts
/// right after a counted frame. Detections missed 150 → 140 there, none false (0.3: 139).
pub(super) const PERSIST_MIN_SIZE_RATIO: f64 = 0.4;
/// At most this many frames in a row (an hour at 5 min per frame) are counted by persistence
/// alone: a wrongly counted tip cannot keep itself counted for ever. A freed migrasome's last
/// stretch into its cell along its fiber took 4 frames in uptake movie 22 and 6 in movie 38
/// (4 lost the second one's uptake).
pub(super) const PERSIST_MAX_FRAMES: u32 = 12;

/// A candidate for `persist`: centroid and equivalent diameter (px).
pub(super) type Blob = (f64, f64, f64);

/// A migrasome of the previous frame (or of the one before, carried over a missed frame),
/// for `persist`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prev {
    pub x: f64,
    pub y: f64,
    /// Equivalent diameter (px) of its last detection counted by the rules.
    pub size: f64,
    /// Frames in a row it has been counted by persistence alone (0: by the rules).
    pub held: u32,
    /// Frames it has not been seen since (0: seen in the previous frame).
    pub missed: u32,
}

/// A migrasome not seen in one frame (a blink) is still looked for in the next, within
/// `radius` times (1 + frames missed).
pub(super) const PERSIST_MAX_MISSED: u32 = 1;

/// Time-lapse persistence: for each migrasome counted in the previous frame (`prev`, taken in
/// order) with no counted candidate of this frame within `radius` px (for one carried over a
/// missed frame: none within `radius`, and none within its reach nearer than the candidate
/// found below), held fewer than
/// [`PERSIST_MAX_FRAMES`] frames, the nearest candidate within `radius` rejected as a
/// protrusion's tip or as too small ([`persists`]), at least [`PERSIST_MIN_SIZE_RATIO`] of
/// its size and not `barred` (faint, or too small and breaking another rule too), is counted
/// after all (it is that migrasome: a freed one moving
/// along the rest of its fiber, a small one on a dim fiber whose tip ratio wavers from frame
/// to frame, or one whose mask the noise cuts under the smallest area). A migrasome of
/// `prev` that finds neither a counted candidate nor one that [`persists`] allows is carried
/// to the next frame, once
/// ([`PERSIST_MAX_MISSED`]), and looked for there within `radius` times (1 + frames missed):
/// a mover that blinks (one frame dimmed below detection) moves on meanwhile (uptake movies
/// 21 and 24: the mover was lost after a blink). Returns this frame's counted candidates, in
/// order, then the carried ones, as the next frame's `prev`.
pub(super) fn persist(
    candidates: &[Blob],
    verdicts: &mut [Option<Reject>],
    barred: impl Fn(usize) -> bool,
    prev: &[Prev],
    radius: f64,
) -> Vec<Prev> {
    let mut from = vec![None; candidates.len()];
    let mut unseen = Vec::new();
    for (k, p) in prev.iter().enumerate() {
        if radius <= 0.0 {
            continue;
        }
        let reach = radius * (1 + p.missed) as f64;
        let r2 = reach * reach;
        let d2 = |i: usize| (candidates[i].0 - p.x).powi(2) + (candidates[i].1 - p.y).powi(2);
        let near = |i: &usize| d2(*i) <= r2;
        // the nearest counted candidate within reach: within `radius` it is the migrasome;
        // beyond (a carried one's reach) only where no tip lies nearer (a neighbour 1.5-3 µm
        // off must not hide a migrasome that blinked and stayed)
        let counted = (0..candidates.len())
            .filter(near)
            .filter(|&i| verdicts[i].is_none())
            .map(d2)
            .min_by(f64::total_cmp);
        if counted.is_some_and(|c| c <= radius * radius) {
            continue;
        }
        if p.held >= PERSIST_MAX_FRAMES {
            continue;
        }
        let tip = (0..candidates.len())
            .filter(near)
            .filter(|&i| {
                persists(verdicts[i])
                    && candidates[i].2 >= PERSIST_MIN_SIZE_RATIO * p.size
                    && !barred(i)
            })
            .min_by(|&i, &j| d2(i).total_cmp(&d2(j)));
        if counted.is_some_and(|c| tip.is_none_or(|i| c <= d2(i))) {
            continue;
        }
        if let Some(i) = tip {
            verdicts[i] = None;
            from[i] = Some(k);
        } else if p.missed < PERSIST_MAX_MISSED {
            unseen.push(Prev {
                missed: p.missed + 1,
                ..*p
            });
        }
    }
    (0..candidates.len())
        .filter(|&i| verdicts[i].is_none())
        .map(|i| {
            let (x, y, d) = candidates[i];
            let (size, held) = from[i].map_or((d, 0), |k| (prev[k].size, prev[k].held + 1));
            Prev {
                x,
                y,
                size,
                held,
                missed: 0,
            }
        })
        .chain(unseen)
        .collect()
}

/// Time-lapse persistence backward, one frame: the migrasomes counted by the rules in frame
/// t + 1 (`counted`: centroid and equivalent diameter, px) that nothing of frame t accounts
/// for (none of `known`, frame t's [`persist`] result, within `radius` times (1 + frames
/// missed)), and that have a candidate of frame t rejected for a reason persistence
/// overrides within `radius` (`rejected`) and at least [`PERSIST_MIN_SIZE_RATIO`] of its
/// size (else [`persist`] would not count it: no frame finished again for nothing), as
/// `Prev`s with which frame t is finished again
/// (appended to its own `prev`, so a migrasome seen before keeps its candidate). A migrasome
/// present from a movie's first frame, or from before the frame it is first counted in, whose
/// first frame took it for a protrusion's tip (its tip ratio wavers on a dim fiber) or cut
/// its mask too small, is counted there too; [`persist`] judges it as forwards (size, faint).
/// A migrasome carried over a missed frame (a blink) accounts for what lies within its whole
/// reach: a speck where a migrasome blinked is no migrasome. Empty when `radius` is 0
/// (persistence off).
pub(super) fn back_prevs(
    counted: &[Blob],
    known: &[Prev],
    rejected: &[Blob],
    radius: f64,
) -> Vec<Prev> {
    if radius <= 0.0 {
        return Vec::new();
    }
    let within =
        |(x, y): (f64, f64), (u, v): (f64, f64), r: f64| (x - u).powi(2) + (y - v).powi(2) <= r * r;
    counted
        .iter()
        .filter(|&&(x, y, _)| {
            !known
                .iter()
                .any(|p| within((x, y), (p.x, p.y), radius * (1 + p.missed) as f64))
        })
        .filter(|&&(x, y, size)| {
            rejected.iter().any(|&(u, v, d)| {
                within((x, y), (u, v), radius) && d >= PERSIST_MIN_SIZE_RATIO * size
            })
        })
        .map(|&(x, y, size)| Prev {
            x,
            y,
            size,
            held: 0,
            missed: 0,
        })
        .collect()
}

/// The reasons time-lapse persistence overrides: a protrusion's tip (a small migrasome on a
/// dim fiber whose tip ratio wavers from frame to frame), and a mask under the smallest
/// area (at SNR 4-8 the noise cuts a 0.5 µm migrasome's mask under its disk from frame to
/// frame; the size ratio keeps a blink's speck out, and `Judged::small_only` one that
/// another rule rejects too).
pub(super) fn persists(v: Option<Reject>) -> bool {
    matches!(v, Some(Reject::ProtrusionTip | Reject::TooSmall))
}

/// Kept candidates renumbered 1..K and rejected ones 1..R, both in raster order: the new id of
/// candidate label l in each (0 where it is in the other set).
pub(super) fn renumber(verdicts: &[Option<Reject>]) -> (Vec<u32>, Vec<u32>) {
    let n = verdicts.len();
    let (mut kept_id, mut rej_id) = (vec![0u32; n + 1], vec![0u32; n + 1]);
    let (mut k, mut r) = (0, 0);
    for (i, v) in verdicts.iter().enumerate() {
        if v.is_none() {
            k += 1;
            kept_id[i + 1] = k;
        } else {
            r += 1;
            rej_id[i + 1] = r;
        }
    }
    (kept_id, rej_id)
}

/// A label image through a lookup table (labels beyond it become 0).
pub(super) fn relabel(img: &[u32], ids: &[u32]) -> Vec<u32> {
    img.iter()
        .map(|&l| ids.get(l as usize).copied().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prev(x: f64, y: f64, size: f64) -> Prev {
        Prev {
            x,
            y,
            size,
            held: 0,
            missed: 0,
        }
    }

    #[test]
    fn a_candidate_on_a_plateau_higher_than_itself_is_rejected() {
        // its surroundings 120 above the background, its peak 100 above them
        assert!(on_plateau(120.0, 100.0, 1.0));
        // a migrasome beside a body's glow: surroundings 40 up
        assert!(!on_plateau(40.0, 100.0, 1.0));
        assert!(!on_plateau(100.0, 100.0, 1.0));
        // off, no peak, no surface
        assert!(!on_plateau(120.0, 100.0, 0.0));
        assert!(!on_plateau(120.0, 0.0, 1.0));
        assert!(!on_plateau(f64::NEG_INFINITY, 100.0, 1.0));
    }

    #[test]
    fn a_bright_ridge_running_in_needs_both_tests() {
        use crate::pipeline::migrasome::config::AnalyzeParams;
        let px = PxParams::new(&AnalyzeParams::default(), 0.11).unwrap();
        assert_eq!((px.tip_contact, px.tip_contact_ratio), (3.0, 0.3));
        // fiber threshold 2 (ridge units), peak 100 above the local background
        let runs_in = |ridge, px: &PxParams| bright_ridge_runs_in(ridge, 100.0, 2.0, px);
        // a filopodium: 23 thresholds, 0.46 of the peak
        assert!(runs_in(Some(46.0), &px));
        // exactly at the ratio's limit (15 thresholds), and at both limits
        assert!(runs_in(Some(30.0), &px));
        assert!(bright_ridge_runs_in(Some(6.0), 20.0, 2.0, &px));
        assert!(!bright_ridge_runs_in(Some(5.99), 19.0, 2.0, &px));
        // a retraction fiber as bright as a fiber gets: 0.25 of the peak, 12.5 thresholds
        assert!(!runs_in(Some(25.0), &px));
        // a bright ratio from a noise ridge under a dim candidate: under 3 thresholds
        assert!(!bright_ridge_runs_in(Some(5.9), 10.0, 2.0, &px));
        // no ring outside the body zone, no peak, no fiber threshold: no verdict
        assert!(!runs_in(None, &px));
        assert!(!bright_ridge_runs_in(Some(46.0), 0.0, 2.0, &px));
        assert!(!bright_ridge_runs_in(Some(46.0), 100.0, 0.0, &px));
        // either knob at 0 turns the rule off
        for (k, r) in [(0.0, 0.3), (3.0, 0.0)] {
            let mut off = px.clone();
            (off.tip_contact, off.tip_contact_ratio) = (k, r);
            assert!(!runs_in(Some(46.0), &off));
        }
    }

    #[test]
    fn a_migrasome_first_counted_after_a_tip_persists_backwards() {
        // frame t+1 counts two migrasomes: one frame t counted too, one new
        let counted = [(100.0, 100.0, 10.0), (200.0, 100.0, 8.0)];
        let known = [prev(101.0, 100.0, 10.0)];
        // frame t rejected a tip beside each, and one far from both
        let rejected = [
            (100.0, 102.0, 9.0),
            (203.0, 100.0, 7.0),
            (300.0, 300.0, 9.0),
        ];
        let back = back_prevs(&counted, &known, &rejected, 10.0);
        assert_eq!(back, [prev(200.0, 100.0, 8.0)]);
        // finished again with it, frame t counts the tip beside the new one (held one frame)
        let tip = Some(Reject::ProtrusionTip);
        let mut v = [tip, tip, tip];
        let p: Vec<Prev> = known.iter().chain(&back).copied().collect();
        let next = persist(&rejected, &mut v, |_| false, &p, 10.0);
        assert_eq!(v, [None, None, tip]);
        assert_eq!(next[1].held, 1);
        // a migrasome that frame t missed in a blink (carried, twice the reach) is known
        let carried = [Prev {
            missed: 1,
            ..prev(215.0, 100.0, 8.0)
        }];
        assert!(back_prevs(&counted[1..], &carried, &rejected, 10.0).is_empty());
        // a speck under 0.4 of its size (persistence would not count it): none
        assert!(back_prevs(&counted, &known, &[(203.0, 100.0, 3.0)], 10.0).is_empty());
        // nothing rejected near it, or persistence off: none
        assert!(back_prevs(&counted, &known, &rejected[2..], 10.0).is_empty());
        assert!(back_prevs(&counted, &known, &rejected, 0.0).is_empty());
    }

    #[test]
    fn a_tip_where_a_migrasome_was_counted_persists() {
        let tip = Some(Reject::ProtrusionTip);
        let none = |_: usize| false;
        // candidates: a tip 5 px from the previous migrasome, a tip 20 px away, one too small
        let cands = [
            (105.0, 100.0, 9.0),
            (120.0, 100.0, 10.0),
            (100.0, 103.0, 2.0),
        ];
        let p = [prev(100.0, 100.0, 10.0)];
        let mut v = [tip, tip, Some(Reject::TooSmall)];
        let next = persist(&cands, &mut v, none, &p, 10.0);
        assert_eq!(v, [None, tip, Some(Reject::TooSmall)]);
        // the next frame compares with the size counted by the rules, one frame held
        assert_eq!(
            next,
            [Prev {
                x: 105.0,
                y: 100.0,
                size: 10.0,
                held: 1,
                missed: 0
            }]
        );
        // off, or nothing counted before: nothing changes
        let mut v = [tip, tip, None];
        persist(&cands, &mut v, none, &p, 0.0);
        let next = persist(&cands, &mut v, none, &[], 10.0);
        assert_eq!(v, [tip, tip, None]);
        assert_eq!(next, [prev(100.0, 103.0, 2.0)]);
        // a speck far smaller than the migrasome (what a blink leaves) is not it, nor a faint
        // tip, nor one held too long already
        let held = [Prev {
            held: PERSIST_MAX_FRAMES,
            ..p[0]
        }];
        for (c, faint, p) in [
            ((101.0, 100.0, 2.0), false, &p),
            ((101.0, 100.0, 10.0), true, &p),
            ((101.0, 100.0, 10.0), false, &held),
        ] {
            let mut v = [tip];
            // nothing counted; the migrasome is looked for again in the next frame (not when
            // held too long)
            let next = persist(&[c], &mut v, |_| faint, p, 10.0);
            assert!(next.iter().all(|q| q.missed == 1), "{next:?}");
            assert_eq!(v, [tip]);
        }
    }

    #[test]
    fn a_mask_too_small_where_a_migrasome_was_counted_persists() {
        let small = Some(Reject::TooSmall);
        let none = |_: usize| false;
        // a 0.5 um migrasome at SNR 4: counted at 3.4 px across, its mask cut to 2.6 px by
        // the noise in the next frame (0.76 of it), 2 px from where it was
        let p = [prev(100.0, 100.0, 3.4)];
        let mut v = [small];
        persist(&[(102.0, 100.0, 2.6)], &mut v, none, &p, 10.0);
        assert_eq!(v, [None]);
        // cut to half of it (at SNR 4 the cuts measured 0.3-0.65): still it
        let mut v = [small];
        persist(&[(102.0, 100.0, 1.7)], &mut v, none, &p, 10.0);
        assert_eq!(v, [None]);
        // a speck of a blink (a fifth of its size), a faint one, and other reasons: not it
        for (c, faint, r) in [
            ((102.0, 100.0, 0.7), false, small),
            ((102.0, 100.0, 1.3), false, small),
            ((102.0, 100.0, 2.6), true, small),
            ((102.0, 100.0, 2.6), false, Some(Reject::Elongated)),
            ((102.0, 100.0, 2.6), false, Some(Reject::InBodyZone)),
        ] {
            let mut v = [r];
            persist(&[c], &mut v, |_| faint, &p, 10.0);
            assert_eq!(v, [r]);
        }
        assert!(persists(small) && persists(Some(Reject::ProtrusionTip)));
        assert!(!persists(None) && !persists(Some(Reject::TooLarge)));
    }

    #[test]
    fn a_migrasome_missed_in_one_frame_is_looked_for_in_the_next() {
        let tip = Some(Reject::ProtrusionTip);
        let none = |_: usize| false;
        // frame t: nothing near the migrasome (a blink); it is carried, one frame missed
        let p = [prev(100.0, 100.0, 10.0)];
        let mut v = [None];
        let next = persist(&[(200.0, 100.0, 10.0)], &mut v, none, &p, 10.0);
        assert_eq!(next.len(), 2);
        assert_eq!(next[1], Prev { missed: 1, ..p[0] });
        // frame t + 1: a tip 15 px on (within twice the radius) is that migrasome
        let cands = [(115.0, 100.0, 9.0), (200.0, 100.0, 10.0)];
        let mut v = [tip, None];
        let after = persist(&cands, &mut v, none, &next, 10.0);
        assert_eq!(v, [None, None]);
        assert_eq!((after[0].held, after[0].missed, after.len()), (1, 0, 2));
        // a counted neighbour 15 px off (within twice the radius, not within it) does not
        // hide the migrasome's tip where it was; nearer than the tip, it is the migrasome
        let cands = [(102.0, 100.0, 9.0), (115.0, 100.0, 10.0)];
        let mut v = [tip, None];
        persist(&cands, &mut v, none, &next, 10.0);
        assert_eq!(v, [None, None]);
        let cands = [(100.0, 117.0, 9.0), (115.0, 100.0, 10.0)];
        let mut v = [tip, None];
        let after = persist(&cands, &mut v, none, &next, 10.0);
        assert_eq!((v, after.len()), ([tip, None], 2));
        // not found then either: it is not carried a second time
        let mut v = [tip, None];
        let cands = [(125.0, 100.0, 9.0), (200.0, 100.0, 10.0)];
        let after = persist(&cands, &mut v, none, &next, 10.0);
        assert_eq!(v, [tip, None]);
        assert_eq!(after.len(), 1);
    }

    #[test]
    fn a_protrusion_with_two_round_candidates_apart_is_a_fiber() {
        let tip = Some(Reject::ProtrusionTip);
        let site = |piece, shape, x| Site {
            piece,
            shape,
            tip_ratio: 0.1,
            x,
            y: 50.0,
        };
        // piece 1: two round candidates 20 px apart, both called tips -> both counted;
        // piece 2: two round ones 5 px apart (one blob split) -> still tips;
        // piece 3: two round ones apart but also an elongated fragment (a bright shaft);
        // piece 0: not on a protrusion
        let sites = [
            site(1, None, 0.0),
            site(1, None, 20.0),
            site(2, None, 100.0),
            site(2, None, 105.0),
            site(3, None, 200.0),
            site(3, None, 230.0),
            site(3, Some(Reject::Elongated), 215.0),
            site(0, None, 300.0),
        ];
        let mut v = [tip, tip, tip, tip, tip, tip, Some(Reject::Elongated), None];
        fiber_sites(&sites, 10.0, &mut v);
        assert_eq!(
            v,
            [
                None,
                None,
                tip,
                tip,
                tip,
                tip,
                Some(Reject::Elongated),
                None
            ]
        );
        // only a tip verdict is lifted: a faint candidate stays faint
        let mut v = [Some(Reject::Faint), tip];
        fiber_sites(&sites[..2], 10.0, &mut v);
        assert_eq!(v, [Some(Reject::Faint), None]);
        // two filopodia crossing: tips on shafts nearly as bright as themselves stay tips
        let bright = [
            Site {
                tip_ratio: 0.35,
                ..sites[0]
            },
            sites[1],
        ];
        let mut v = [tip, tip];
        fiber_sites(&bright, 10.0, &mut v);
        assert_eq!(v, [tip, tip]);
    }

    #[test]
    fn a_migrasome_still_counted_keeps_the_tip_beside_it_rejected() {
        let tip = Some(Reject::ProtrusionTip);
        let none = |_: usize| false;
        let cands = [(104.0, 100.0, 8.0), (98.0, 100.0, 8.0)];
        let mut v = [tip, None];
        persist(&cands, &mut v, none, &[prev(100.0, 100.0, 8.0)], 10.0);
        assert_eq!(v, [tip, None]);
        // three migrasomes before, two tips now: in order, each the nearest tip left within
        // reach (the second finds the first's tip counted beside it and takes none)
        let cands = [(101.0, 100.0, 8.0), (131.0, 100.0, 8.0)];
        let mut v = [tip, tip];
        let p = [
            prev(100.0, 100.0, 8.0),
            prev(102.0, 100.0, 8.0),
            prev(130.0, 100.0, 8.0),
        ];
        let next = persist(&cands, &mut v, none, &p, 10.0);
        assert_eq!(v, [None, None]);
        assert_eq!(next.iter().map(|p| p.held).collect::<Vec<_>>(), [1, 1]);
    }
}
