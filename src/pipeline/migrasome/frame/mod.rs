//! One frame (one 2D plane position, all channels) of the migrasome analysis on the GPU.
//!
//! Submission 1 (`begin_frame`) uploads the channels and computes the enhanced images (nuclei
//! blurred, membrane blurred at the cell scale with its block means, spots = difference of
//! Gaussians, fibers = Hessian ridge) and the statistics of their thresholds; the host reads
//! those back, fits the background under the bodies (`illumination`) and settles the
//! thresholds (`continue_frame`). Submission 2 runs the stages (its first part, the nuclei and
//! the bodies at the floor, is submitted alone when a nucleus could lack a body: one word read
//! back says whether the orphan pass must run), each in its own module and
//! each handing the next a named struct: [`cells`] (nuclei, bodies, territories), [`spots`]
//! (candidates outside the body zone, split, measured), [`fibers`] (attachment and the shaft
//! beside each candidate), [`cargo`] (local backgrounds); `finish_frame` reads back only small
//! tables and the label images that are written out, and the host stages judge the candidates
//! (`spots::judge`) and assign them to cells ([`assign`]). With an uptake channel
//! (`--uptake`), [`uptake`] enhances it in submission 1 and counts its puncta inside the
//! cell bodies in submission 2.

mod assign;
mod cargo;
mod cells;
mod fibers;
mod spots;
pub mod uptake;

pub use cargo::LocalBackground;
pub use spots::Prev;
pub use uptake::{CellUptake, FrameUptake, Punctum};

use crate::error::{Error, Result};
use crate::gpu::{Gpu, Readback, Recorder};
use crate::image::Plane;
use crate::ops::measure::{Finished, ObjectStats, PendingObjects};
use crate::ops::moments;
use crate::ops::threshold::{PendingHistogram, compute, record_histogram, threshold_above};
use crate::ops::{GpuPlane, RawKind, filters, to_f32, upload_plane};

use super::config::{PxParams, Rule};
use super::illumination::{self, Background};
use super::shape::{Reject, Shape};

/// Which channel plays which part.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Roles {
    pub nuclei: Option<usize>,
    pub membrane: usize,
    pub cargo: Vec<usize>,
    /// Labelled puncta counted inside the cell bodies (`--uptake`; see `uptake`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptake: Option<usize>,
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
    /// The fiber threshold on the ridge image of the mean of `fibers.contact_frames`
    /// membrane frames (`None`: fewer frames of the plane so far, or off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fiber_window: Option<f64>,
}

/// One detected migrasome (pixel units; the report converts to µm).
#[derive(Clone, Debug)]
pub struct Migrasome {
    pub id: u32,
    pub cell_id: u32,
    pub stats: ObjectStats,
    pub shape: Shape,
    pub released: bool,
    /// The brightest ridge pixel in a ring just beyond the candidate's halo, over the frame's
    /// fiber threshold (see `cargo`): about 1 or less with no fiber running into it; `None`
    /// when the ring is all in the body zone. Tracks call a release where it drops.
    pub fiber_contact: Option<f64>,
    /// The same ring's brightest pixel on the ridge image of the mean of this frame's
    /// membrane and the `fibers.contact_frames` − 1 before it of the same plane, over that
    /// image's fiber threshold: a fiber's pixels add up over the frames, the noise's do not.
    /// `None` in a movie's first frames, in single images, with the ring all in the body
    /// zone, or off.
    pub fiber_contact_window: Option<f64>,
    /// Counted by time-lapse persistence (`spots::persist`): this frame alone took it for a
    /// protrusion's tip or found its mask too small.
    pub persisted: bool,
    /// Per cargo channel.
    pub cargo: Vec<CargoCall>,
}

/// A migrasome's call in one cargo channel.
#[derive(Clone, Copy, Debug)]
pub struct CargoCall {
    /// Mean inside above the local background's mean + k SD.
    pub positive: bool,
    /// The local background (an annulus around it, or the frame's where that is too small).
    pub background: LocalBackground,
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

/// Sets each cell's `released_count` to its migrasomes (by `cell_id`, the cell's index + 1)
/// that are released: the frame's calls in `assign`, the tracks' states in a movie.
pub fn count_released(cells: &mut [Cell], migrasomes: &[Migrasome]) {
    for c in cells.iter_mut() {
        c.released_count = 0;
    }
    for m in migrasomes.iter().filter(|m| m.released && m.cell_id != 0) {
        if let Some(c) = cells.get_mut(m.cell_id as usize - 1) {
            c.released_count += 1;
        }
    }
}

/// Label images read back for writing and pictures.
#[derive(Clone, Debug, Default)]
pub struct FrameLabels {
    pub cells: Vec<u32>,
    pub migrasomes: Vec<u32>,
    /// The bodies' reported outline (`CellParams::body_outline`).
    pub bodies: Vec<u32>,
    /// The linear indices (ascending) of the body mask's pixels outside the outline: with
    /// `bodies`, the mask the detection used (what distances to a body are measured to).
    pub body_band: Vec<u32>,
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
    /// The frame's typical migrasome (median peak above its local background of the
    /// candidates counted before the faint rule and at least the smallest diameter across)
    /// over the spot threshold: how far above the threshold a migrasome stands (`None`: no
    /// candidate counted). Measured at the configured smoothing: for a frame analysed again
    /// (see `MigrasomeParams::adapt_below`) it is the first pass's, which decided it; every
    /// other figure (thresholds included) is the second pass's.
    pub spot_contrast: Option<f64>,
    /// The spot detector's smoothing (px) this frame was analysed with (the configured one,
    /// or larger where the frame was analysed again, see `MigrasomeParams::adapt_below`).
    pub smooth_sigma_px: f64,
    pub cells: Vec<Cell>,
    pub migrasomes: Vec<Migrasome>,
    pub rejected: Vec<Rejected>,
    pub labels: FrameLabels,
    /// With an uptake channel: its puncta and, per cell, those inside the body.
    pub uptake: Option<FrameUptake>,
}

/// Record capacities, carried from frame to frame so steady state needs one pass.
#[derive(Clone, Copy, Debug)]
pub struct Capacities {
    pub nuclei: u32,
    pub bodies: u32,
    pub holes: u32,
    pub spots: u32,
    pub fibers: u32,
    pub uptake: u32,
}

impl Default for Capacities {
    fn default() -> Self {
        Capacities {
            nuclei: 256,
            bodies: 256,
            holes: 256,
            spots: 1024,
            fibers: 1024,
            uptake: 256,
        }
    }
}

/// Sigma-clipping rounds of a `noise:K` threshold. Cell bodies can cover a third of a frame
/// and are far above the background: three rounds at 3 SD left the SD two to three times
/// the background's (thresholds far too high, dim migrasomes and dim bodies lost). A first
/// hard cut at 1 SD drops the bodies at once; three rounds at 3 SD then readmit the
/// background's tails (within 3 % of ten rounds at 3 SD, in half the passes).
const NOISE_CLIPS: [f32; 4] = [1.0, 3.0, 3.0, 3.0];
/// The spot image's: bright, textured bodies (ruffles, puncta, mottling) answer the
/// difference of Gaussians all over and, covering a third of a frame, survive one hard cut
/// (one `--realism` field: SD 11.9 against 4.8 outside the bodies, its threshold so high
/// that 22 of 25 migrasomes were lost); a second cut at 1 SD leaves the background. On
/// fields without such bodies it lowers the SD by about 12 %, which the default K absorbs.
const SPOT_NOISE_CLIPS: [f32; 5] = [1.0, 1.0, 3.0, 3.0, 3.0];
/// The body floor is at least this many SDs of the membrane's pixels. Where the background
/// is smooth, the block residuals' SD is tiny (0.56 counts on the bundled sample) and a
/// corner of the vignette that the surface cannot follow (3-4 counts) would pass a
/// `noise:5` floor as a body cut by the border, taking its neighbours' migrasomes; a cell
/// body, even a dim one at SNR 4 (0.2 x a migrasome), rises 0.8 pixel SDs.
const BODY_FLOOR_MIN_PIXEL_SD: f64 = 0.5;
/// A threshold being computed on the GPU.
enum PendingThreshold {
    Hist(PendingHistogram, crate::ops::threshold::Method),
    Noise(Readback, Readback, RawKind, f64),
    /// `noise:K` on the image of another `noise:` threshold: its moments, another K
    SameImage(f64),
    /// already read
    Done,
}

/// Records what `rule` needs to threshold `img`.
fn record_threshold(rec: &mut Recorder, img: &GpuPlane, rule: Rule) -> Result<PendingThreshold> {
    record_threshold_clipped(rec, img, rule, &NOISE_CLIPS)
}

/// `record_threshold` with its own sigma-clipping schedule for `noise:K`.
fn record_threshold_clipped(
    rec: &mut Recorder,
    img: &GpuPlane,
    rule: Rule,
    clips: &[f32],
) -> Result<PendingThreshold> {
    Ok(match rule {
        Rule::Hist(m) => PendingThreshold::Hist(record_histogram(rec, img)?, m),
        Rule::Noise(k) => {
            let m = moments::record_frame_schedule(rec, img, clips)?;
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

/// Submission 2's results being read back.
struct Pending2 {
    cells: cells::PendingCells,
    fiber_pieces: Option<PendingObjects>,
    split: spots::PendingSplit,
    candidates: spots::Measured,
    cargo: cargo::PendingCargo,
    territory_rb: Readback,
    candidates_rb: Readback,
    /// The outline with `cells::OUTLINE_BAND` on the rest of the mask.
    bodies_rb: Readback,
    network_rb: Readback,
    in_body_zone_rb: Readback,
    /// The uptake puncta, the deep body labels and the threshold.
    uptake: Option<uptake::PendingUptake>,
}

/// The fitted background surface under the cells: block size, grid width and height, fit.
type Surface = (u32, u32, u32, Background);

/// A frame whose first submission (enhanced images, threshold statistics) is on the GPU.
pub struct FrameStage1 {
    w: usize,
    h: usize,
    raws: Vec<GpuPlane>,
    /// The membrane channel as f32 (the spot images, also of the second stage and of
    /// `respot`, are made from it).
    mem: GpuPlane,
    nuc_img: Option<GpuPlane>,
    body_blur: GpuPlane,
    /// Block means of `body_blur` being read back (readback, block size, grid width, height)
    body_blocks: Option<(Readback, u32, u32, u32)>,
    /// The background surface under the bodies, once fitted (block size, grid size, fit).
    body_bg: Option<Surface>,
    /// Block means of `nuc_img` being read back, for its own background surface
    /// (`cells.nucleus_flatten`; readback, block size, grid width, height).
    nuc_blocks: Option<(Readback, u32, u32, u32)>,
    spot_img: GpuPlane,
    /// The membrane smoothed at the spot detector's noise scale (the first term of the spot
    /// image's difference of Gaussians; the tip rule reads peaks and shafts on it).
    mem_smooth: GpuPlane,
    fiber_img: GpuPlane,
    /// The ridge image of the mean of `fibers.contact_frames` membrane frames and its
    /// threshold's statistics (see `Migrasome::fiber_contact_window`).
    fiber_window: Option<GpuPlane>,
    h_fiber_window: Option<PendingThreshold>,
    h_nuc: Option<PendingThreshold>,
    h_spot: PendingThreshold,
    h_fiber: PendingThreshold,
    h_fiber_low: PendingThreshold,
    h_mem_bg: PendingThreshold,
    /// The uptake channel's enhanced image, its threshold's statistics, then the threshold.
    uptake_img: Option<GpuPlane>,
    h_uptake: Option<PendingThreshold>,
    uptake_thr: Option<f64>,
}

impl FrameStage1 {
    /// The membrane channel as f32, for the next frames' windowed fiber contact (see
    /// [`begin_frame`]).
    pub fn membrane(&self) -> &GpuPlane {
        &self.mem
    }
}

/// The spot detector's image on the first stage: the difference of Gaussians of the membrane.
struct SpotImage {
    /// The difference at the smoothing and the background scale.
    img: GpuPlane,
    /// Its first term, the membrane smoothed (kept for the tip rule).
    smooth: GpuPlane,
    /// The statistics of its threshold.
    threshold: PendingThreshold,
}

/// Records the spot image of `mem` (the membrane, f32) at `px`'s scales and its threshold's
/// statistics (what a noisy frame's second pass computes again, see [`respot`]).
fn record_spot_image(rec: &mut Recorder, mem: &GpuPlane, px: &PxParams) -> Result<SpotImage> {
    let smooth = filters::gaussian_blur(rec, mem, [px.smooth_sigma; 2])?;
    // the background scale on block means, like the background outside the bodies
    let bg = filters::gaussian_blur_blocks(rec, mem, px.background_sigma, px.background_block())?;
    let img = filters::subtract(rec, &smooth, &bg)?;
    let threshold = record_threshold_clipped(rec, &img, px.spot_threshold, &SPOT_NOISE_CLIPS)?;
    Ok(SpotImage {
        img,
        smooth,
        threshold,
    })
}

/// Uploads one frame (`planes`: all its channels) and submits the enhanced images and their
/// threshold statistics; returns at once. [`finish_frame`] completes it. Submitting the next
/// frame's first stage before finishing this one keeps the GPU busy. `earlier`: the
/// membranes ([`FrameStage1::membrane`]) of the plane's frames before this one, oldest
/// first; with `fibers.contact_frames` − 1 of them (of this frame's size) the fiber
/// contact is measured on their mean with this one's too.
pub fn begin_frame(
    gpu: &Gpu,
    planes: &[Plane],
    roles: &Roles,
    px: &PxParams,
    earlier: &[GpuPlane],
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
    let SpotImage {
        img: spot_img,
        smooth: mem_smooth,
        threshold: h_spot,
    } = record_spot_image(&mut rec, &mem, px)?;
    let fiber_img = filters::ridge(&mut rec, &mem, px.fiber_sigma)?;
    let k = px.contact_frames as usize;
    let (fiber_window, h_fiber_window) = if k > 1
        && earlier.len() + 1 == k
        && earlier
            .iter()
            .all(|e| (e.width, e.height) == (mem.width, mem.height))
    {
        // the sum of this frame and all but the oldest, then the oldest added with both
        // scaled by 1/k: the mean without a pass of its own (k > 1: there is an oldest)
        let (oldest, rest) = earlier.split_first().expect("k - 1 >= 1 earlier frames");
        let mut sum = mem.clone();
        for e in rest {
            sum = filters::axpby(&mut rec, 1.0, &sum, 1.0, e)?;
        }
        let scale = 1.0 / k as f32;
        let mean = filters::axpby(&mut rec, scale, &sum, scale, oldest)?;
        let img = filters::ridge(&mut rec, &mean, px.fiber_sigma)?;
        let h = record_threshold(&mut rec, &img, px.fiber_threshold)?;
        (Some(img), Some(h))
    } else {
        (None, None)
    };
    // the nuclei: thresholded above their own background surface (its blocks are read back
    // with the bodies'), else on the blurred channel as it is
    let (h_nuc, nuc_blocks) = match &nuc_img {
        Some(n) if px.nucleus_flatten => {
            let b = crate::ops::resample::down_mean(&mut rec, n, block)?;
            let rb = rec.readback(&b.buf, 0, b.len() as u64 * 4);
            (None, Some((rb, block, b.width, b.height)))
        }
        Some(n) => (
            Some(record_threshold(&mut rec, n, px.nucleus_threshold)?),
            None,
        ),
        None => (None, None),
    };
    let h_fiber = record_threshold(&mut rec, &fiber_img, px.fiber_threshold)?;
    // both fiber thresholds on one image: one set of clipped moments serves two `noise:K`
    let h_fiber_low = match (px.fiber_threshold, px.fiber_threshold_low) {
        (Rule::Noise(_), Rule::Noise(k)) => PendingThreshold::SameImage(k),
        (_, low) => record_threshold(&mut rec, &fiber_img, low)?,
    };
    let h_mem_bg = record_threshold(&mut rec, &mem, Rule::Noise(0.0))?;
    let (uptake_img, h_uptake) = match roles.uptake {
        Some(c) => {
            let (img, h) = uptake::record_enhance(&mut rec, &raws[c], px)?;
            (Some(img), Some(h))
        }
        None => (None, None),
    };
    rec.submit();
    Ok(FrameStage1 {
        w,
        h,
        raws,
        mem,
        nuc_img,
        body_blur,
        body_blocks: Some((body_blocks, block, blocks.width, blocks.height)),
        body_bg: None,
        nuc_blocks,
        spot_img,
        mem_smooth,
        fiber_img,
        fiber_window,
        h_fiber_window,
        h_nuc,
        h_spot,
        h_fiber,
        h_fiber_low,
        h_mem_bg,
        uptake_img,
        h_uptake,
        uptake_thr: None,
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
    let bg = illumination::fit(&blocks, gw as usize, gh as usize, px.background_degree);
    let (membrane_background, membrane_stats) = s1.h_mem_bg.finish_with_stats(gpu)?;
    let pixel_sd = membrane_stats.map_or(0.0, |(_, sd)| sd);
    let body_floor = match px.body_threshold {
        Rule::Noise(k) => (k * bg.sd).max(BODY_FLOOR_MIN_PIXEL_SD * pixel_sd),
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
    // the nuclei above their background surface, and their threshold there (one more
    // round trip: the histogram is of the flattened image)
    let (nuc_img, nucleus) = match (s1.nuc_blocks, s1.h_nuc, s1.nuc_img) {
        (Some((rb, nblock, ngw, ngh)), _, Some(n)) => {
            let nblocks: Vec<f32> = rb.wait_as(gpu)?;
            let nbg = illumination::fit(&nblocks, ngw as usize, ngh as usize, px.background_degree);
            let mut rec = Recorder::new(gpu);
            let surface = surface_plane(&mut rec, &(nblock, ngw, ngh, nbg), (s1.w, s1.h))?;
            let flat = filters::subtract(&mut rec, &n, &surface)?;
            let h = record_threshold(&mut rec, &flat, px.nucleus_threshold)?;
            rec.submit();
            (Some(flat), h.finish(gpu)?)
        }
        (_, Some(hn), n) => (n, hn.finish(gpu)?),
        (_, None, n) => (n, f64::NAN),
    };
    let fiber_window = match s1.h_fiber_window {
        Some(h) => Some(h.finish(gpu)?),
        None => None,
    };
    let thr = Thresholds {
        nucleus,
        body: body_floor,
        spot: s1.h_spot.finish(gpu)?,
        fiber,
        fiber_low,
        membrane_background,
        fiber_window,
    };
    let uptake_thr = match s1.h_uptake {
        Some(h) => Some(h.finish(gpu)?),
        None => None,
    };
    let s1 = FrameStage1 {
        h_uptake: None,
        uptake_thr,
        h_nuc: None,
        nuc_img,
        nuc_blocks: None,
        body_blocks: None,
        body_bg: Some((block, gw, gh, bg)),
        h_spot: PendingThreshold::Done,
        h_fiber: PendingThreshold::Done,
        h_fiber_low: PendingThreshold::Done,
        h_mem_bg: PendingThreshold::Done,
        h_fiber_window: None,
        ..s1
    };
    let pending = submit_rest(gpu, &s1, roles, px, &thr, caps)?;
    Ok(FrameStage2 { s1, thr, pending })
}

/// A fitted background surface at full size (`w` x `h`): its block grid uploaded and
/// interpolated bilinearly.
fn surface_plane(rec: &mut Recorder, s: &Surface, (w, h): (usize, usize)) -> Result<GpuPlane> {
    let (block, gw, gh, bg) = s;
    let grid = GpuPlane {
        buf: rec.upload(&bg.grid),
        kind: RawKind::F32,
        width: *gw,
        height: *gh,
    };
    crate::ops::resample::up_bilinear(rec, &grid, w as u32, h as u32, *block)
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
    let body_bg = s1
        .body_bg
        .as_ref()
        .ok_or_else(|| Error::Gpu("body background not fitted".into()))?;
    let surface = surface_plane(&mut rec, body_bg, (s1.w, s1.h))?;
    let body_img = filters::subtract(&mut rec, &s1.body_blur, &surface)?;
    // the outline: the membrane smoothed as for the spots, on the same background
    let fine = if px.body_outline && px.body_edge_fraction > 0.0 {
        Some(filters::subtract(&mut rec, &s1.mem_smooth, &surface)?)
    } else {
        None
    };
    let mut first = cells::record_first(&mut rec, s1.nuc_img.as_ref(), &body_img, px, thr, caps)?;
    // whether any nucleus lacks a body at the floor is read back before the rest is recorded:
    // the orphan pass (a second body mask, labelling and edge test) then runs only on the
    // frames that need it
    let probe = first.take_probe();
    let coarse = first.take_coarse();
    let (mut rec, any_orphan, cut) = if probe.is_some() || coarse.is_some() {
        rec.submit();
        let any_orphan = match probe {
            Some(p) => p.wait_as::<u32>(gpu)?[0] > 0,
            None => false,
        };
        let cut = match coarse {
            Some(c) => c.finish(gpu, thr.body, px)?,
            None => None,
        };
        (Recorder::new(gpu), any_orphan, cut)
    } else {
        (rec, false, None)
    };
    let p2 = record_rest(
        &mut rec,
        s1,
        first,
        any_orphan,
        cut,
        &body_img,
        fine.as_ref(),
        roles,
        px,
        thr,
        caps,
    )?;
    rec.submit();
    Ok(p2)
}

/// Waits for a frame's results (recording its second stage again, with room, when it had
/// more objects than the capacities). `prev`: the migrasomes counted in the previous frame
/// of the same plane, for time-lapse persistence (`spots::persist`; empty for a first frame
/// or a single image); returned with the result: this frame's, for the next frame.
pub fn finish_frame(
    gpu: &Gpu,
    s2: FrameStage2,
    roles: &Roles,
    px: &PxParams,
    caps: &mut Capacities,
    prev: &[Prev],
) -> Result<(FrameResult, Vec<Prev>)> {
    let (r, next, _) = finish_frame_kept(gpu, s2, roles, px, caps, prev)?;
    Ok((r, next))
}

/// A finished frame's first stage and thresholds, kept for a second pass with another spot
/// smoothing ([`respot`]) or for finishing it again with another `prev` ([`refinish`]).
pub struct FrameKept {
    s1: FrameStage1,
    thr: Thresholds,
}

/// [`finish_frame`], also returning the frame's first stage for [`respot`] or [`refinish`].
pub fn finish_frame_kept(
    gpu: &Gpu,
    mut s2: FrameStage2,
    roles: &Roles,
    px: &PxParams,
    caps: &mut Capacities,
    prev: &[Prev],
) -> Result<(FrameResult, Vec<Prev>, FrameKept)> {
    loop {
        match finish(
            gpu,
            s2.pending,
            roles,
            px,
            caps,
            (s2.s1.w, s2.s1.h),
            s2.s1.body_bg.as_ref(),
            s2.thr,
            prev,
        )? {
            Some((r, next)) => {
                let kept = FrameKept {
                    s1: s2.s1,
                    thr: s2.thr,
                };
                return Ok((r, next, kept));
            }
            None => s2.pending = submit_rest(gpu, &s2.s1, roles, px, &s2.thr, caps)?,
        }
    }
}

/// Time-lapse persistence backward (`spots::back_prevs`): the migrasomes `after` (the next
/// frame of the same plane) counted by the rules that nothing of `this` frame accounts for
/// (`known`: `this` frame's persistence result, the `prev` `after` was finished with) and
/// that have a candidate of `this` frame rejected as a protrusion's tip or too small nearby.
/// Non-empty: finish `this` frame again ([`refinish`]) with its own `prev` and these after
/// it. `radius`: `PxParams::persist`.
pub fn back_prevs(
    this: &FrameResult,
    after: &FrameResult,
    known: &[Prev],
    radius: f64,
) -> Vec<Prev> {
    let blob = |s: &ObjectStats| (s.centroid_x, s.centroid_y, s.equivalent_diameter());
    let counted: Vec<spots::Blob> = after
        .migrasomes
        .iter()
        .filter(|m| !m.persisted)
        .map(|m| blob(&m.stats))
        .collect();
    let rejected: Vec<spots::Blob> = this
        .rejected
        .iter()
        .filter(|r| spots::persists(Some(r.reason)))
        .map(|r| blob(&r.stats))
        .collect();
    spots::back_prevs(&counted, known, &rejected, radius)
}

/// A finished frame's second stage submitted again from its kept first stage and finished
/// with another `prev` (time-lapse persistence backward, see [`back_prevs`]); `px` is the
/// one the frame was finished with (the second pass's for a noisy frame). Everything but the
/// persistence is what the first finish gave.
pub fn refinish(
    gpu: &Gpu,
    kept: FrameKept,
    roles: &Roles,
    px: &PxParams,
    caps: &mut Capacities,
    prev: &[Prev],
) -> Result<(FrameResult, Vec<Prev>, FrameKept)> {
    let FrameKept { s1, thr } = kept;
    let pending = submit_rest(gpu, &s1, roles, px, &thr, caps)?;
    finish_frame_kept(gpu, FrameStage2 { s1, thr, pending }, roles, px, caps, prev)
}

/// The second stage of a finished frame submitted again with `px`'s spot smoothing
/// (`MigrasomeParams::adapt_below`): of the first stage only the spot image (the difference
/// of Gaussians and its first term) and its threshold are computed again; the upload, the
/// blurred nuclei (less their background surface) and bodies, the body background surface,
/// the ridge image and every other
/// threshold are the first pass's (none depends on the smoothing), so the result is the one
/// [`begin_frame`] and [`continue_frame`] with `px` give. The second stage (segmentation,
/// spots, fibers, measurement) runs again whole: it is most of the cost (BENCHMARKS, Stop
/// 24). [`finish_frame`] completes it.
pub fn respot(
    gpu: &Gpu,
    kept: FrameKept,
    roles: &Roles,
    px: &PxParams,
    caps: &Capacities,
) -> Result<FrameStage2> {
    let FrameKept { s1, mut thr } = kept;
    let mut rec = Recorder::new(gpu);
    let spot = record_spot_image(&mut rec, &s1.mem, px)?;
    rec.submit();
    thr.spot = spot.threshold.finish(gpu)?;
    let s1 = FrameStage1 {
        spot_img: spot.img,
        mem_smooth: spot.smooth,
        ..s1
    };
    let pending = submit_rest(gpu, &s1, roles, px, &thr, caps)?;
    Ok(FrameStage2 { s1, thr, pending })
}

/// Runs the analysis on one frame alone (no previous frame, so no time-lapse persistence);
/// `planes` are all channels of that frame.
pub fn analyze_frame(
    gpu: &Gpu,
    planes: &[Plane],
    roles: &Roles,
    px: &PxParams,
    caps: &mut Capacities,
) -> Result<FrameResult> {
    let s1 = begin_frame(gpu, planes, roles, px, &[])?;
    let s2 = continue_frame(gpu, s1, roles, px, caps)?;
    Ok(finish_frame(gpu, s2, roles, px, caps, &[])?.0)
}

/// The spot image with its background from the membrane outside `zone` (the bodies grown by
/// `SPOT_BACKGROUND_MARGIN_UM`): the smoothed membrane less the normalised blur of the pixels
/// there (`MigrasomeParams::background_outside_bodies`); inside the zone the first stage's
/// plain difference of Gaussians.
fn spot_outside_bodies(
    rec: &mut Recorder,
    s1: &FrameStage1,
    zone: &GpuPlane,
    px: &PxParams,
) -> Result<GpuPlane> {
    let bg = filters::gaussian_outside(
        rec,
        &s1.mem,
        zone,
        px.background_sigma,
        px.background_block(),
    )?;
    let outside = filters::subtract(rec, &s1.mem_smooth, &bg)?;
    filters::select_masked(rec, &outside, &s1.spot_img, zone)
}

#[allow(clippy::too_many_arguments)]
fn record_rest(
    rec: &mut Recorder,
    s1: &FrameStage1,
    first: cells::BodiesFirst,
    any_orphan: bool,
    cut: Option<cells::PlateauCut>,
    body_img: &GpuPlane,
    fine: Option<&GpuPlane>,
    roles: &Roles,
    px: &PxParams,
    thr: &Thresholds,
    caps: &Capacities,
) -> Result<Pending2> {
    let (cell_planes, p_cells) =
        cells::record(rec, first, any_orphan, cut, body_img, fine, px, thr, caps)?;
    let spot_img = match &cell_planes.spot_background_zone {
        Some(zone) => spot_outside_bodies(rec, s1, zone, px)?,
        None => s1.spot_img.clone(),
    };
    let spots_raw = threshold_above(rec, &spot_img, thr.spot)?;
    let (spot_planes, split) = spots::record(
        rec,
        &spot_img,
        &spots_raw,
        &cell_planes.body_zone,
        px,
        thr,
        caps,
    )?;
    // the tip rule compares the brightest shaft pixel with the candidate's peak: both on
    // the membrane smoothed at the spot detector's noise scale, so that neither is a maximum
    // of pixel noise
    let fiber_planes = fibers::record(
        rec,
        &s1.fiber_img,
        &s1.mem_smooth,
        &spots_raw,
        &spot_planes.outside_zone,
        &cell_planes.bodies,
        &cell_planes.body_zone,
        cell_planes.protrusion_zones.as_ref(),
        px,
        thr,
        caps,
    )?;
    let candidates = spots::record_measure(
        rec,
        &spot_planes.labels,
        &s1.raws,
        &s1.mem_smooth,
        &fiber_planes,
        caps,
    )?;
    // the cargo channels' local backgrounds, and the membrane's last (for the tip rule)
    let local_channels: Vec<usize> = roles
        .cargo
        .iter()
        .copied()
        .chain(std::iter::once(roles.membrane))
        .collect();
    let cargo = cargo::record(
        rec,
        &candidates.labels,
        &cell_planes.body_zone,
        &s1.raws,
        &local_channels,
        &s1.fiber_img,
        s1.fiber_window.as_ref(),
        px,
        caps.spots,
    )?;
    let uptake = match (roles.uptake, &s1.uptake_img, s1.uptake_thr) {
        (Some(c), Some(img), Some(t)) => {
            Some(uptake::record(rec, img, &s1.raws[c], t, px, caps.uptake)?)
        }
        _ => None,
    };
    let n = candidates.labels.len() as u64 * 4;
    Ok(Pending2 {
        uptake,
        fiber_pieces: fiber_planes.pieces,
        cells: p_cells,
        split,
        territory_rb: rec.readback(&cell_planes.territory.buf, 0, n),
        candidates_rb: rec.readback(&candidates.labels.buf, 0, n),
        bodies_rb: rec.readback(&cell_planes.shown.buf, 0, n),
        network_rb: rec.readback(&fiber_planes.network.buf, 0, n),
        in_body_zone_rb: rec.readback(&spot_planes.in_body_zone.buf, 0, n),
        candidates,
        cargo,
    })
}

/// Objects of a finished table, or `None` after raising the capacity (`grow` set).
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
    (w, h): (usize, usize),
    surface: Option<&Surface>,
    thr: Thresholds,
    prev: &[Prev],
) -> Result<Option<(FrameResult, Vec<Prev>)>> {
    let cell_objects = p.cells.finish(gpu, caps)?;
    let split_ok = p.split.finish(gpu, caps)?;
    let candidates = p.candidates.finish(gpu, caps)?;
    let mut pieces_grow = false;
    if let Some(f) = p.fiber_pieces {
        done(f.finish(gpu)?, &mut caps.fibers, &mut pieces_grow);
    }
    let pieces_ok = !pieces_grow;
    let mut uptake_grow = false;
    let uptake_objects = match p.uptake {
        Some(u) => done(u.objects.finish(gpu)?, &mut caps.uptake, &mut uptake_grow)
            .map(|o| (o, u.threshold)),
        None => None,
    };
    let (Some(cell_objects), true, true, Some(candidates), false) =
        (cell_objects, split_ok, pieces_ok, candidates, uptake_grow)
    else {
        return Ok(None);
    };
    let candidate_img: Vec<u32> = p.candidates_rb.wait_as(gpu)?;
    let mut territory: Vec<u32> = p.territory_rb.wait_as(gpu)?;
    for t in territory.iter_mut().filter(|t| **t == cells::NOT_A_CELL) {
        *t = 0;
    }
    let cargo::Backgrounds {
        local: mut cargo,
        contact,
        window,
    } = p.cargo.finish(gpu)?;
    let membrane_local = cargo.pop().expect("the membrane's local background");
    // how far each candidate's surroundings stand above the background surface (the
    // plateau rule; none without a surface)
    let raised: Vec<f64> = candidates
        .iter()
        .map(|c| match surface {
            Some((block, gw, gh, bg)) => {
                let s = &c.stats;
                membrane_local[s.label as usize - 1].mean
                    - crate::cpu::resample::bilinear_at(
                        &bg.grid,
                        *gw as usize,
                        *gh as usize,
                        *block as usize,
                        s.centroid_x,
                        s.centroid_y,
                    )
            }
            None => f64::NEG_INFINITY,
        })
        .collect();
    let spots::Judged {
        shapes,
        mut verdicts,
        peaks,
        faint_floor,
        typical_peak,
        small_only,
    } = spots::judge(
        &candidates,
        &candidate_img,
        w,
        spots::Surroundings {
            background: &membrane_local,
            contact: &contact,
            fiber_threshold: thr.fiber,
            raised: &raised,
        },
        px,
    );
    let blobs: Vec<spots::Blob> = candidates
        .iter()
        .map(|c| {
            let s = &c.stats;
            (s.centroid_x, s.centroid_y, s.equivalent_diameter())
        })
        .collect();
    // what persistence counts must not be faint either (the frame's floor, unchanged), nor
    // a mask too small that another rule also rejects
    let barred: Vec<bool> = (0..verdicts.len())
        .map(|i| {
            faint_floor.is_some_and(|f| peaks[i] < f)
                || (verdicts[i] == Some(Reject::TooSmall) && !small_only[i])
        })
        .collect();
    // what persistence counts (a tip, a mask too small) is marked (`Migrasome::persisted`)
    let persistable: Vec<bool> = verdicts.iter().map(|v| spots::persists(*v)).collect();
    let next = spots::persist(&blobs, &mut verdicts, |i| barred[i], prev, px.persist);
    let (kept_id, rejected_id) = spots::renumber(&verdicts);
    let bodies: Vec<u32> = p.bodies_rb.wait_as(gpu)?;
    // the network only matters for whose an attached migrasome is; unread, its staging
    // buffer goes back to the pool unmapped
    let network: Option<Vec<u32>> = if candidates.iter().any(|c| c.context.attached) {
        Some(p.network_rb.wait_as(gpu)?)
    } else {
        None
    };
    // the reported outline: the mask less its band (`cells::OUTLINE_BAND`) and specks
    let (outline, body_band) =
        cells::outline_labels(&bodies, w, px.body_min_area, px.body_max_hole);
    let (cells, migrasomes, rejected) = assign::assign(
        assign::Found {
            candidates,
            shapes,
            verdicts,
            kept_id: &kept_id,
            rejected_id: &rejected_id,
            cargo,
            contact: &contact,
            window: &window,
            fiber_threshold: thr.fiber,
            window_threshold: thr.fiber_window,
            persistable: &persistable,
            cells: cell_objects,
            territory: &territory,
            bodies: &bodies,
            outline: &outline,
            network: network.as_deref(),
            width: w,
            height: h,
        },
        roles,
        px,
    );
    let uptake = match uptake_objects {
        Some((objects, threshold)) => {
            let (puncta, per_cell) = uptake::assign(
                objects,
                &bodies,
                &territory,
                w,
                px.uptake_edge_margin,
                &cells,
            );
            Some(FrameUptake {
                threshold,
                puncta,
                cells: per_cell,
            })
        }
        None => None,
    };
    let labels = FrameLabels {
        migrasomes: spots::relabel(&candidate_img, &kept_id),
        rejected: spots::relabel(&candidate_img, &rejected_id),
        bodies: outline,
        body_band,
        cells: territory,
        in_body_zone: p.in_body_zone_rb.wait_as(gpu)?,
    };
    Ok(Some((
        FrameResult {
            width: w,
            height: h,
            spot_contrast: typical_peak.map(|p| p / thr.spot),
            smooth_sigma_px: px.smooth_sigma,
            thresholds: thr,
            cells,
            migrasomes,
            rejected,
            labels,
            uptake,
        },
        next,
    )))
}
