//! One frame (one 2D plane position, all channels) of the migrasome analysis on the GPU.
//!
//! Submission 1 computes the four enhanced images and their histograms (nuclei blurred, cell
//! bodies blurred, spots = difference of Gaussians, fibers = Hessian ridge) and reads the
//! histograms back; the host turns them into thresholds. Submission 2 does everything else
//! and reads back only small tables and the label images that are written out:
//! nuclei (threshold, label, area filter) → territories (expand_labels) · bodies (threshold,
//! label, area filter, margin) · spots (threshold, minus bodies, split at local maxima,
//! label, size filter, measure every channel) · network (fibers ∪ bodies ∪ spots, grown by
//! the fiber distance, components touching a body = attached) · annuli around spots (outside
//! other spots and bodies) → sigma-clipped background of each cargo channel.

use crate::error::{Error, Result};
use crate::gpu::{Gpu, Readback, Recorder};
use crate::image::Plane;
use crate::ops::expand::expand_labels;
use crate::ops::label::{KeepRule, Labels, component_any, label_components};
use crate::ops::mask::{and_mask, and_not, fill, neither, or_nonzero};
use crate::ops::measure::{Finished, ObjectStats, PendingObjects, record_objects};
use crate::ops::moments::{self, MomentsBufs, record_clipped_moments};
use crate::ops::morphology::binary_opening;
use crate::ops::peaks::{PeakParams, local_maxima_within};
use crate::ops::threshold::{PendingHistogram, compute, record_histogram, threshold_above};
use crate::ops::{GpuPlane, RawKind, filters, to_f32, upload_plane};

use super::config::{PxParams, Rule};
use super::illumination::{self, Background};
use super::shape::{Reject, Shape, judge, shapes};

/// Which channel plays which part.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Roles {
    pub nuclei: Option<usize>,
    pub membrane: usize,
    pub cargo: Vec<usize>,
}

/// Thresholds chosen for this frame (in the units of each enhanced image).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Thresholds {
    pub nucleus: f64,
    pub body: f64,
    pub spot: f64,
    pub fiber: f64,
    /// Hysteresis: weaker ridge pixels join the fibers when connected to a strong one.
    pub fiber_low: f64,
    /// Background level of the membrane channel (sigma-clipped mean of the frame).
    pub membrane_background: f64,
}

/// One detected migrasome (pixel units; the report converts to µm).
#[derive(Clone, Debug)]
pub struct Migrasome {
    pub id: u32,
    pub cell_id: u32,
    pub stats: ObjectStats,
    pub shape: Shape,
    pub released: bool,
    /// Per cargo channel: (positive, background mean, background SD, background pixels).
    pub cargo: Vec<(bool, f64, f64, u32)>,
}

/// One cell (territory of one nucleus, or of one body without a nuclei channel).
#[derive(Clone, Debug)]
pub struct Cell {
    pub id: u32,
    pub x: f64,
    pub y: f64,
    pub body_area: u64,
    pub territory_area: u64,
    pub migrasome_count: u32,
    pub released_count: u32,
    pub cargo_positive_count: Vec<u32>,
}

/// Label images read back for writing and pictures.
#[derive(Clone, Debug)]
pub struct FrameLabels {
    pub cells: Vec<u32>,
    pub migrasomes: Vec<u32>,
    pub bodies: Vec<u32>,
    /// Candidates that were not counted (numbered as `FrameResult::rejected`), and spot
    /// pixels dropped for reaching into a body's exclusion zone (1).
    pub rejected: Vec<u32>,
    pub in_body_zone: Vec<u32>,
}

/// A candidate that was not counted, and why.
#[derive(Clone, Debug)]
pub struct Rejected {
    pub stats: ObjectStats,
    pub shape: Shape,
    pub reason: Reject,
}

#[derive(Clone, Debug)]
pub struct FrameResult {
    pub width: usize,
    pub height: usize,
    pub thresholds: Thresholds,
    pub cells: Vec<Cell>,
    pub migrasomes: Vec<Migrasome>,
    pub rejected: Vec<Rejected>,
    pub labels: FrameLabels,
}

/// Record capacities, carried from frame to frame so steady state needs one pass.
#[derive(Clone, Copy, Debug)]
pub struct Capacities {
    pub nuclei: u32,
    pub bodies: u32,
    pub holes: u32,
    pub spots: u32,
}

impl Default for Capacities {
    fn default() -> Self {
        Capacities {
            nuclei: 256,
            bodies: 256,
            holes: 256,
            spots: 1024,
        }
    }
}

/// Value given to spot pixels of components without a split marker (kept apart by the
/// equal-value labelling).
const UNMARKED: u32 = u32::MAX - 1;
/// Sigma-clipping rounds of a `noise:K` threshold. Cell bodies can cover a third of a frame
/// and are far above the background: three rounds at 3 SD left the SD two to three times
/// the background's (thresholds far too high, dim migrasomes and dim bodies lost). A first
/// hard cut at 1 SD drops the bodies at once; three rounds at 3 SD then readmit the
/// background's tails (within 3 % of ten rounds at 3 SD, in half the passes).
const NOISE_CLIPS: [f32; 4] = [1.0, 3.0, 3.0, 3.0];
/// Peak spacing rounds recorded per frame (see `ops::peaks`).
const PEAK_ROUNDS: u32 = 16;

/// A threshold being computed on the GPU.
enum PendingThreshold {
    Hist(PendingHistogram, crate::ops::threshold::Method),
    Noise(Readback, Readback, RawKind, f64),
    /// `noise:K` on the image of another `noise:` threshold: its moments, another K
    SameImage(f64),
    /// already read
    Done,
}

/// Records what `rule` needs to threshold `img` (`ones`: a plane of 1s, the whole frame).
fn record_threshold(
    rec: &mut Recorder,
    img: &GpuPlane,
    rule: Rule,
    ones: &GpuPlane,
) -> Result<PendingThreshold> {
    Ok(match rule {
        Rule::Hist(m) => PendingThreshold::Hist(record_histogram(rec, img)?, m),
        Rule::Noise(k) => {
            let m = moments::record_clipped_schedule(rec, ones, img, 1, &NOISE_CLIPS)?;
            PendingThreshold::Noise(
                rec.readback(&m.records, 0, moments::REC as u64 * 4),
                rec.readback(&m.range, 0, 8),
                img.kind,
                k,
            )
        }
    })
}

impl PendingThreshold {
    fn finish(self, gpu: &Gpu) -> Result<f64> {
        Ok(self.finish_with_stats(gpu)?.0)
    }

    /// The threshold, and for `noise:K` the clipped mean and SD it came from.
    fn finish_with_stats(self, gpu: &Gpu) -> Result<(f64, Option<(f64, f64)>)> {
        match self {
            PendingThreshold::Hist(h, m) => Ok((compute(m, &h.finish(gpu)?), None)),
            PendingThreshold::Noise(recs, range, kind, k) => {
                let r: Vec<u32> = recs.wait_as(gpu)?;
                let range: Vec<u32> = range.wait_as(gpu)?;
                let (_, mean, sd) = moments::decode(&r, [range[0], range[1]], kind)[0];
                Ok((mean + k * sd, Some((mean, sd))))
            }
            PendingThreshold::SameImage(_) | PendingThreshold::Done => {
                Err(Error::Gpu("threshold read twice".into()))
            }
        }
    }
}

struct Pending2 {
    nuclei: Option<PendingObjects>,
    bodies: PendingObjects,
    holes: PendingObjects,
    regions: Option<PendingObjects>,
    spots: PendingObjects,
    clusters: Option<PendingObjects>,
    territory: Option<PendingObjects>,
    cargo: Vec<(MomentsBufs, Readback, Readback, RawKind)>,
    cargo_bg: Vec<(Readback, Readback)>,
    undecided: Option<Readback>,
    cells_rb: Readback,
    spots_rb: Readback,
    bodies_rb: Readback,
    zone_rb: Readback,
}

/// A frame whose first submission (enhanced images, threshold statistics) is on the GPU.
pub struct FrameStage1 {
    w: usize,
    h: usize,
    raws: Vec<GpuPlane>,
    nuc_img: Option<GpuPlane>,
    mem: GpuPlane,
    body_blur: GpuPlane,
    /// Block means of `body_blur` being read back (readback, block size, grid width, height)
    body_blocks: Option<(Readback, u32, u32, u32)>,
    /// The background surface under the bodies, once fitted (block size, grid size, fit).
    body_bg: Option<(u32, u32, u32, Background)>,
    spot_img: GpuPlane,
    fiber_img: GpuPlane,
    h_nuc: Option<PendingThreshold>,
    h_spot: PendingThreshold,
    h_fiber: PendingThreshold,
    h_fiber_low: PendingThreshold,
    h_mem_bg: PendingThreshold,
}

/// Uploads one frame (`planes`: all its channels) and submits the enhanced images and their
/// threshold statistics; returns at once. [`finish_frame`] completes it. Submitting the next
/// frame's first stage before finishing this one keeps the GPU busy.
pub fn begin_frame(
    gpu: &Gpu,
    planes: &[Plane],
    roles: &Roles,
    px: &PxParams,
) -> Result<FrameStage1> {
    let (w, h) = (planes[roles.membrane].width, planes[roles.membrane].height);
    for p in planes {
        if (p.width, p.height) != (w, h) {
            return Err(Error::invalid("channels of one frame differ in size"));
        }
    }
    let mut rec = Recorder::new(gpu);
    let raws: Vec<GpuPlane> = planes
        .iter()
        .map(|p| upload_plane(&mut rec, p))
        .collect::<Result<_>>()?;
    let mem = to_f32(&mut rec, &raws[roles.membrane])?;
    let nuc_img = match roles.nuclei {
        Some(c) => {
            let f = to_f32(&mut rec, &raws[c])?;
            Some(filters::gaussian_blur(&mut rec, &f, [px.nucleus_sigma; 2])?)
        }
        None => None,
    };
    // bodies: the membrane blurred at the cell scale; its block means go to the host, which
    // fits the background surface under the cells (see `illumination`)
    let body_blur = filters::gaussian_blur(&mut rec, &mem, [px.body_sigma; 2])?;
    let block = px.body_sigma.round().max(1.0) as u32;
    let blocks = crate::ops::resample::down_mean(&mut rec, &body_blur, block)?;
    let body_blocks = rec.readback(&blocks.buf, 0, blocks.len() as u64 * 4);
    let spot_img =
        filters::difference_of_gaussians(&mut rec, &mem, px.smooth_sigma, px.background_sigma)?;
    let fiber_img = filters::ridge(&mut rec, &mem, px.fiber_sigma)?;
    let zero = GpuPlane {
        buf: rec.zeroed(mem.len() as u64 * 4),
        kind: RawKind::U32,
        width: mem.width,
        height: mem.height,
    };
    let ones = neither(&mut rec, &zero, &zero)?;
    let h_nuc = nuc_img
        .as_ref()
        .map(|n| record_threshold(&mut rec, n, px.nucleus_threshold, &ones))
        .transpose()?;
    let h_spot = record_threshold(&mut rec, &spot_img, px.spot_threshold, &ones)?;
    let h_fiber = record_threshold(&mut rec, &fiber_img, px.fiber_threshold, &ones)?;
    // both fiber thresholds on one image: one set of clipped moments serves two `noise:K`
    let h_fiber_low = match (px.fiber_threshold, px.fiber_threshold_low) {
        (Rule::Noise(_), Rule::Noise(k)) => PendingThreshold::SameImage(k),
        (_, low) => record_threshold(&mut rec, &fiber_img, low, &ones)?,
    };
    let h_mem_bg = record_threshold(&mut rec, &mem, Rule::Noise(0.0), &ones)?;
    rec.submit();
    Ok(FrameStage1 {
        w,
        h,
        raws,
        nuc_img,
        mem,
        body_blur,
        body_blocks: Some((body_blocks, block, blocks.width, blocks.height)),
        body_bg: None,
        spot_img,
        fiber_img,
        h_nuc,
        h_spot,
        h_fiber,
        h_fiber_low,
        h_mem_bg,
    })
}

/// A frame whose second submission (everything else) is on the GPU.
pub struct FrameStage2 {
    s1: FrameStage1,
    thr: Thresholds,
    pending: Pending2,
}

/// Reads the thresholds of a frame's first stage and submits its second stage.
pub fn continue_frame(
    gpu: &Gpu,
    s1: FrameStage1,
    roles: &Roles,
    px: &PxParams,
    caps: &Capacities,
) -> Result<FrameStage2> {
    let (rb, block, gw, gh) = s1
        .body_blocks
        .ok_or_else(|| Error::Gpu("body blocks read twice".into()))?;
    let blocks: Vec<f32> = rb.wait_as(gpu)?;
    let bg = illumination::fit(&blocks, gw as usize, gh as usize);
    let body_floor = match px.body_threshold {
        Rule::Noise(k) => k * bg.sd,
        Rule::Hist(crate::ops::threshold::Method::Value(v)) => v,
        Rule::Hist(m) => {
            return Err(Error::invalid(format!(
                "cells.body_threshold {}: only noise:K or a number (above the fitted background)",
                m.name()
            )));
        }
    };
    let (fiber, fiber_stats) = s1.h_fiber.finish_with_stats(gpu)?;
    let fiber_low = match (s1.h_fiber_low, fiber_stats) {
        (PendingThreshold::SameImage(k), Some((mean, sd))) => mean + k * sd,
        (low, _) => low.finish(gpu)?,
    };
    let thr = Thresholds {
        nucleus: match s1.h_nuc {
            Some(hn) => hn.finish(gpu)?,
            None => f64::NAN,
        },
        body: body_floor,
        spot: s1.h_spot.finish(gpu)?,
        fiber,
        fiber_low,
        membrane_background: s1.h_mem_bg.finish(gpu)?,
    };
    let s1 = FrameStage1 {
        h_nuc: None,
        body_blocks: None,
        body_bg: Some((block, gw, gh, bg)),
        h_spot: PendingThreshold::Done,
        h_fiber: PendingThreshold::Done,
        h_fiber_low: PendingThreshold::Done,
        h_mem_bg: PendingThreshold::Done,
        ..s1
    };
    let pending = submit_rest(gpu, &s1, roles, px, &thr, caps)?;
    Ok(FrameStage2 { s1, thr, pending })
}

fn submit_rest(
    gpu: &Gpu,
    s1: &FrameStage1,
    roles: &Roles,
    px: &PxParams,
    thr: &Thresholds,
    caps: &Capacities,
) -> Result<Pending2> {
    let mut rec = Recorder::new(gpu);
    let (block, gw, gh, bg) = s1
        .body_bg
        .as_ref()
        .ok_or_else(|| Error::Gpu("body background not fitted".into()))?;
    let grid = GpuPlane {
        buf: rec.upload(&bg.grid),
        kind: RawKind::F32,
        width: *gw,
        height: *gh,
    };
    let surface =
        crate::ops::resample::up_bilinear(&mut rec, &grid, s1.w as u32, s1.h as u32, *block)?;
    let body_img = filters::subtract(&mut rec, &s1.body_blur, &surface)?;
    let p2 = record_rest(
        &mut rec,
        &s1.raws,
        &s1.mem,
        s1.nuc_img.as_ref(),
        &body_img,
        &s1.spot_img,
        &s1.fiber_img,
        roles,
        px,
        thr,
        caps,
    )?;
    rec.submit();
    Ok(p2)
}

/// Waits for a frame's results (recording its second stage again, with room, when it had
/// more objects than the capacities).
pub fn finish_frame(
    gpu: &Gpu,
    mut s2: FrameStage2,
    roles: &Roles,
    px: &PxParams,
    caps: &mut Capacities,
) -> Result<FrameResult> {
    loop {
        match finish(gpu, s2.pending, roles, px, caps, s2.s1.w, s2.s1.h, s2.thr)? {
            Some(r) => return Ok(r),
            None => s2.pending = submit_rest(gpu, &s2.s1, roles, px, &s2.thr, caps)?,
        }
    }
}

/// Runs the analysis on one frame; `planes` are all channels of that frame.
pub fn analyze_frame(
    gpu: &Gpu,
    planes: &[Plane],
    roles: &Roles,
    px: &PxParams,
    caps: &mut Capacities,
) -> Result<FrameResult> {
    let s1 = begin_frame(gpu, planes, roles, px)?;
    let s2 = continue_frame(gpu, s1, roles, px, caps)?;
    finish_frame(gpu, s2, roles, px, caps)
}

#[allow(clippy::too_many_arguments)]
fn record_rest(
    rec: &mut Recorder,
    raws: &[GpuPlane],
    mem: &GpuPlane,
    nuc_img: Option<&GpuPlane>,
    body_img: &GpuPlane,
    spot_img: &GpuPlane,
    fiber_img: &GpuPlane,
    roles: &Roles,
    px: &PxParams,
    thr: &Thresholds,
    caps: &Capacities,
) -> Result<Pending2> {
    // nuclei
    let nuclei = match nuc_img {
        Some(n) => {
            let nm = threshold_above(rec, n, thr.nucleus)?;
            let nl = label_components(rec, &nm, 8)?;
            Some(record_objects(
                rec,
                &nl,
                &[],
                caps.nuclei,
                KeepRule {
                    min_area: px.nucleus_min_area,
                    ..Default::default()
                },
            )?)
        }
        None => None,
    };
    // cell bodies, found at the cell scale and independently of the spots: the blurred,
    // background-subtracted membrane above the floor and above a fraction of its local level
    // (a half-maximum edge whatever the body's brightness), opened with a disk larger than
    // any migrasome (cuts off fibers, filopodia and migrasome clusters), holes filled, and
    // (with a nuclei channel) only the regions that hold a nucleus
    let spots_raw = threshold_above(rec, spot_img, thr.spot)?;
    let bm = threshold_above(rec, body_img, thr.body)?;
    let bm = if px.body_edge_fraction > 0.0 {
        let level = crate::ops::resample::local_level(
            rec,
            body_img,
            px.body_opening,
            px.body_local_radius,
        )?;
        let rel = filters::axpby(rec, 1.0, body_img, -(px.body_edge_fraction as f32), &level)?;
        let rel = threshold_above(rec, &rel, 0.0)?;
        and_mask(rec, &bm, &rel)?
    } else {
        bm
    };
    let bm = binary_opening(rec, &bm, px.body_opening)?;
    let outside = neither(rec, &bm, &bm)?;
    let outside = label_components(rec, &outside, 4)?;
    let (p_holes, holes) = record_objects(
        rec,
        &outside,
        &[],
        caps.holes,
        KeepRule {
            min_area: 0,
            max_area: px.body_max_hole,
            exclude_edges: true,
        },
    )?;
    let bm = or_nonzero(rec, &bm, &holes.plane)?;
    // a body cut by the image border may have its nucleus outside the field: it is kept as
    // a body (its edge must not count as migrasomes), though it is no cell of this frame
    let mut p_regions = None;
    let bm = match &nuclei {
        Some((_, kept)) => {
            let regions = label_components(rec, &bm, 8)?;
            let (p_reg, inner) = record_objects(
                rec,
                &regions,
                &[],
                caps.bodies,
                KeepRule {
                    exclude_edges: true,
                    ..Default::default()
                },
            )?;
            p_regions = Some(p_reg);
            let with_nucleus = component_any(rec, &regions, &kept.plane)?;
            let at_border = and_not(rec, &bm, &inner.plane)?;
            let keep = or_nonzero(rec, &with_nucleus, &at_border)?;
            and_mask(rec, &bm, &keep)?
        }
        None => bm,
    };
    let bl = label_components(rec, &bm, 8)?;
    let (p_bodies, bodies) = record_objects(
        rec,
        &bl,
        &[],
        caps.bodies,
        KeepRule {
            min_area: px.body_min_area,
            ..Default::default()
        },
    )?;
    let body_zone = expand_labels(rec, &bodies.plane, px.body_margin)?;
    let (p_nuclei, seeds) = match nuclei {
        Some((p, kept)) => (Some(p), kept),
        None => (None, bodies.clone()),
    };
    let territory = expand_labels(rec, &seeds.plane, px.max_distance)?;
    // spots: whole components outside the body zone (a spot cut by the zone's edge is the
    // edge of a body, a ruffle or a protrusion, not a migrasome)
    let sc = label_components(rec, &spots_raw, 8)?;
    let touching = component_any(rec, &sc, &body_zone)?;
    let sm = and_not(rec, &spots_raw, &touching)?;
    // split only components too large for one migrasome (clusters), at local maxima at least
    // the smallest diameter apart; every other component stays whole
    let (seg, undecided, p_clusters) = if px.split {
        let cc = label_components(rec, &sm, 8)?;
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
            Some(rec.readback(&pk.undecided, 0, 4)),
            Some(p_cl),
        )
    } else {
        (sm.clone(), None, None)
    };
    let sl = label_components(rec, &seg, 8)?;
    // network of fibers, bodies and spots; components touching a body are attached
    // fibers by hysteresis: weak ridge regions that hold a strong ridge pixel
    let strong = threshold_above(rec, fiber_img, thr.fiber)?;
    let weak = threshold_above(rec, fiber_img, thr.fiber_low.min(thr.fiber))?;
    let weak = label_components(rec, &weak, 8)?;
    let fm = component_any(rec, &weak, &strong)?;
    let net = or_nonzero(rec, &fm, &bodies.plane)?;
    let net = or_nonzero(rec, &net, &sm)?;
    let net = expand_labels(rec, &net, px.fiber_distance)?;
    let nl = label_components(rec, &net, 8)?;
    let attached = component_any(rec, &nl, &bodies.plane)?;
    // the brightest ridge pixel just outside each candidate: a protrusion's tip sits on a
    // shaft nearly as bright as itself, a migrasome on a fiber far dimmer than itself
    // (beyond the candidate's own blurred edge: the ridge filter answers a blob's rim too)
    let own_edge = expand_labels(rec, &spots_raw, px.shaft_gap)?;
    let shaft = and_not(rec, &fm, &own_edge)?;
    let shaft = and_not(rec, &shaft, &body_zone)?;
    let off_shaft = neither(rec, &shaft, &shaft)?;
    let shaft_img = filters::replace_masked(rec, mem, &off_shaft, 0.0)?;
    // the value of the nearest shaft pixel within reach, carried by the exact distance
    // transform: a non-negative f32 read as u32 bits is a nonzero "label" wherever it is
    // above 0, so `expand_labels` spreads the bits unchanged (about 8x cheaper than a grey
    // dilation of the same radius on lavapipe)
    let shaft_bits = GpuPlane {
        kind: RawKind::U32,
        ..shaft_img
    };
    let shaft_near = expand_labels(rec, &shaft_bits, px.shaft_reach as f64)?;
    let shaft_near = GpuPlane {
        kind: RawKind::F32,
        ..shaft_near
    };
    // measure spots over every raw channel, the nearby shaft and the attached flag
    let mut chans: Vec<&GpuPlane> = raws.iter().collect();
    chans.push(&shaft_near);
    chans.push(&attached);
    // every candidate is measured; the host judges size and shape (see `shape`)
    let (p_spots, spots) = record_objects(rec, &sl, &chans, caps.spots, KeepRule::default())?;
    // body area per territory
    let p_territory = if nuc_img.is_some() {
        let terr = Labels {
            plane: territory.clone(),
            count: seeds.count.clone(),
            parent: seeds.parent.clone(),
            rank: seeds.rank.clone(),
        };
        let body_mask = or_nonzero(rec, &bodies.plane, &bodies.plane)?;
        Some(record_objects(rec, &terr, &[&body_mask], caps.nuclei, KeepRule::default())?.0)
    } else {
        None
    };
    // cargo: annuli outside other spots and bodies, and the frame's background
    let outer = expand_labels(rec, &spots.plane, px.annulus_outer)?;
    let inner = expand_labels(rec, &spots.plane, px.annulus_gap)?;
    let ann = and_not(rec, &outer, &inner)?;
    let ann = and_not(rec, &ann, &body_zone)?;
    let bg = neither(rec, &inner, &body_zone)?;
    let mut cargo = Vec::new();
    let mut cargo_bg = Vec::new();
    for &c in &roles.cargo {
        let m = record_clipped_moments(rec, &ann, &raws[c], caps.spots, px.cargo_clip as f32)?;
        let rrec = rec.readback(
            &m.records,
            0,
            caps.spots.max(1) as u64 * moments::REC as u64 * 4,
        );
        let rrange = rec.readback(&m.range, 0, 8);
        cargo.push((m, rrec, rrange, raws[c].kind));
        let b = record_clipped_moments(rec, &bg, &raws[c], 1, px.cargo_clip as f32)?;
        cargo_bg.push((
            rec.readback(&b.records, 0, moments::REC as u64 * 4),
            rec.readback(&b.range, 0, 8),
        ));
    }
    let n = spots.plane.len() as u64 * 4;
    Ok(Pending2 {
        nuclei: p_nuclei,
        bodies: p_bodies,
        holes: p_holes,
        regions: p_regions,
        spots: p_spots,
        clusters: p_clusters,
        territory: p_territory,
        cargo,
        cargo_bg,
        undecided,
        cells_rb: rec.readback(&territory.buf, 0, n),
        spots_rb: rec.readback(&spots.plane.buf, 0, n),
        bodies_rb: rec.readback(&bodies.plane.buf, 0, n),
        zone_rb: rec.readback(&touching.buf, 0, n),
    })
}

fn done(f: Finished, cap: &mut u32, grow: &mut bool) -> Option<Vec<ObjectStats>> {
    match f {
        Finished::Done(v) => Some(v),
        Finished::NeedCapacity(n) => {
            *cap = n.next_power_of_two().max(*cap * 2);
            *grow = true;
            None
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    gpu: &Gpu,
    p: Pending2,
    roles: &Roles,
    px: &PxParams,
    caps: &mut Capacities,
    w: usize,
    h: usize,
    thr: Thresholds,
) -> Result<Option<FrameResult>> {
    let mut grow = false;
    let bodies = done(p.bodies.finish(gpu)?, &mut caps.bodies, &mut grow);
    let nuclei = match p.nuclei {
        Some(n) => done(n.finish(gpu)?, &mut caps.nuclei, &mut grow),
        None => None,
    };
    done(p.holes.finish(gpu)?, &mut caps.holes, &mut grow);
    if let Some(r) = p.regions {
        done(r.finish(gpu)?, &mut caps.bodies, &mut grow);
    }
    let spots = done(p.spots.finish(gpu)?, &mut caps.spots, &mut grow);
    if let Some(c) = p.clusters {
        done(c.finish(gpu)?, &mut caps.spots, &mut grow);
    }
    let territory = match p.territory {
        Some(t) => done(t.finish(gpu)?, &mut caps.nuclei, &mut grow),
        None => None,
    };
    if let Some(u) = p.undecided
        && u.wait_as::<u32>(gpu)?[0] != 0
    {
        return Err(Error::Gpu(
            "local maxima: a plateau needs more spacing rounds than recorded".into(),
        ));
    }
    if grow {
        return Ok(None);
    }
    let (bodies, spots) = (bodies.unwrap_or_default(), spots.unwrap_or_default());
    let candidates: Vec<u32> = p.spots_rb.wait_as(gpu)?;
    let cells_img: Vec<u32> = p.cells_rb.wait_as(gpu)?;
    let mut cand_shapes = shapes(&candidates, w, spots.len());
    // channels measured per candidate: the raw ones, then the nearby shaft, then attached
    let n_raw = spots.first().map_or(0, |s| s.channels.len() - 2);
    let (shaft_ch, attached_ch) = (n_raw, n_raw + 1);
    for (s, sh) in spots.iter().zip(cand_shapes.iter_mut()) {
        let peak = s.channels[roles.membrane].max - thr.membrane_background;
        let shaft = s.channels[shaft_ch].max - thr.membrane_background;
        sh.tip_ratio = if peak > 0.0 {
            shaft.max(0.0) / peak
        } else {
            0.0
        };
    }
    let mut verdicts: Vec<Option<Reject>> = spots
        .iter()
        .zip(&cand_shapes)
        .map(|(s, sh)| judge(s.area, sh, &px.shape_rules))
        .collect();
    // a bright protrusion breaks into fragments at the spot threshold: a round candidate
    // beside a fragment (too small or elongated) nearly as bright as itself is its tip
    let peak = |s: &ObjectStats| s.channels[roles.membrane].max - thr.membrane_background;
    let fragments: Vec<usize> = (0..spots.len())
        .filter(|&i| matches!(verdicts[i], Some(Reject::TooSmall | Reject::Elongated)))
        .collect();
    let reach = px.shaft_reach as i64;
    for i in 0..spots.len() {
        if verdicts[i].is_some() {
            continue;
        }
        let (a, pa) = (&spots[i].bbox, peak(&spots[i]));
        let beside = fragments.iter().any(|&j| {
            let b = &spots[j].bbox;
            let gap_x = (b[0] as i64 - a[2] as i64).max(a[0] as i64 - b[2] as i64);
            let gap_y = (b[1] as i64 - a[3] as i64).max(a[1] as i64 - b[3] as i64);
            gap_x.max(gap_y) <= reach && peak(&spots[j]) > px.shape_rules.max_tip_ratio * pa
        });
        if beside && pa > 0.0 {
            verdicts[i] = Some(Reject::ProtrusionTip);
        }
    }
    // kept candidates renumbered 1..K and rejected ones 1..R, both in raster order
    let (mut kept_id, mut rej_id) = (vec![0u32; spots.len() + 1], vec![0u32; spots.len() + 1]);
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
    let lut = |ids: &[u32]| -> Vec<u32> {
        candidates
            .iter()
            .map(|&l| ids.get(l as usize).copied().unwrap_or(0))
            .collect()
    };
    let labels = FrameLabels {
        migrasomes: lut(&kept_id),
        rejected: lut(&rej_id),
        bodies: p.bodies_rb.wait_as(gpu)?,
        cells: cells_img,
        in_body_zone: p.zone_rb.wait_as(gpu)?,
    };
    // cargo backgrounds
    let mut cargo_rows: Vec<Vec<(u32, f64, f64)>> = Vec::new();
    for ((_, rrec, rrange, kind), (brec, brange)) in p.cargo.into_iter().zip(p.cargo_bg) {
        let r: Vec<u32> = rrec.wait_as(gpu)?;
        let range: Vec<u32> = rrange.wait_as(gpu)?;
        let mut rows = moments::decode(&r, [range[0], range[1]], kind);
        let br: Vec<u32> = brec.wait_as(gpu)?;
        let brange: Vec<u32> = brange.wait_as(gpu)?;
        let frame_bg = moments::decode(&br, [brange[0], brange[1]], kind)[0];
        for row in rows.iter_mut() {
            // too few annulus pixels for a local estimate: use the frame's background
            if row.0 < 8 {
                *row = frame_bg;
            }
        }
        cargo_rows.push(rows);
    }
    let mut rejected = Vec::new();
    let mut migrasomes = Vec::new();
    for ((s, shape), verdict) in spots.into_iter().zip(cand_shapes).zip(verdicts) {
        if let Some(reason) = verdict {
            let mut stats = s;
            stats.label = rej_id[stats.label as usize];
            stats.channels.truncate(n_raw);
            rejected.push(Rejected {
                stats,
                shape,
                reason,
            });
            continue;
        }
        migrasomes.push({
            let (cx, cy) = (s.centroid_x.round() as usize, s.centroid_y.round() as usize);
            let cell_id = labels.cells[cy.min(h - 1) * w + cx.min(w - 1)];
            let released = s.channels[attached_ch].max < 1.0;
            let cargo = roles
                .cargo
                .iter()
                .enumerate()
                .map(|(k, &c)| {
                    let (n, mean, sd) = cargo_rows[k][s.label as usize - 1];
                    let inside = s.channels[c].mean;
                    (inside > mean + px.cargo_k * sd, mean, sd, n)
                })
                .collect();
            let mut stats = s;
            stats.label = kept_id[stats.label as usize];
            stats.channels.truncate(n_raw);
            Migrasome {
                id: stats.label,
                cell_id,
                stats,
                shape,
                released,
                cargo,
            }
        });
    }
    let seeds = if roles.nuclei.is_some() {
        nuclei.unwrap_or_default()
    } else {
        bodies.clone()
    };
    let territory = territory.unwrap_or_default();
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
    for m in &migrasomes {
        if m.cell_id == 0 {
            continue;
        }
        if let Some(c) = cells.get_mut(m.cell_id as usize - 1) {
            c.migrasome_count += 1;
            c.released_count += m.released as u32;
            for (k, x) in m.cargo.iter().enumerate() {
                c.cargo_positive_count[k] += x.0 as u32;
            }
        }
    }
    Ok(Some(FrameResult {
        width: w,
        height: h,
        thresholds: thr,
        cells,
        migrasomes,
        rejected,
        labels,
    }))
}
