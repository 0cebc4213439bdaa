//! Stage "cells": nuclei, cell bodies and territories.
//!
//! Nuclei: the blurred nuclear channel above its threshold, labelled, small ones dropped.
//! Bodies are found at the cell scale and independently of the spots: the blurred,
//! background-subtracted membrane above the floor and above a fraction of its local level (a
//! half-maximum edge whatever the body's brightness), opened with a disk larger than any
//! migrasome (cuts off fibers, filopodia and migrasome clusters), holes filled, and (with a
//! nuclei channel) only the regions that hold a nucleus or are cut by the image border.
//! Territories: every pixel within reach of a nucleus (or a body without a nuclei channel)
//! takes the nearest one's label; a body cut by the border without its nucleus competes from
//! where it leaves the field (the nearest its unseen nucleus can be), and what it wins is no
//! cell's.

use crate::error::Result;
use crate::gpu::{Buf, Gpu, Readback, Recorder};
use crate::ops::expand::{Shell, expand_labels, expand_labels_by, expand_shells};
use crate::ops::label::{KeepRule, Labels, component_any, label_components};
use crate::ops::mask::{and_mask, and_not, fill, lookup, neither, or_nonzero};
use crate::ops::measure::{ObjectStats, PendingObjects, record_objects};
use crate::ops::moments;
use crate::ops::morphology::binary_opening;
use crate::ops::{GpuPlane, RawKind, filters, threshold::threshold_above};

use super::super::config::PxParams;
use super::{Capacities, Thresholds};

/// Territory label of a body cut by the image border whose nucleus is outside the field (no
/// cell of this frame; above every record capacity, so never measured).
pub(super) const NOT_A_CELL: u32 = u32::MAX - 1;

/// In [`CellPlanes::shown`]: a pixel of the body mask outside the reported outline (above
/// every record capacity and [`NOT_A_CELL`], so never a label).
pub(super) const OUTLINE_BAND: u32 = u32::MAX - 2;

/// Regions of the body mask measured for the edge contrast of border regions without a
/// nucleus (labels beyond it are kept unmeasured).
const CONTRAST_CAPACITY: u32 = 4096;

/// The ring of the edge test: its mean clipped at mean ± this many SDs, this many rounds.
const RING_CLIP_K: f32 = 2.0;
const RING_CLIP_ROUNDS: usize = 3;

/// The GPU images later stages use.
pub(super) struct CellPlanes {
    /// Bodies, labelled 1..B: the mask at the cell scale, which the zones grow from.
    pub bodies: GpuPlane,
    /// The bodies' outline (`CellParams::body_outline`), labelled as `bodies`, and
    /// [`OUTLINE_BAND`] on the mask's pixels outside it: the outline is what is reported;
    /// the host's assignment along the network and the uptake still see the whole mask.
    pub shown: GpuPlane,
    /// Bodies grown by the body margin: no migrasome starts inside it.
    pub body_zone: GpuPlane,
    /// With protrusions on: bodies grown by the protrusion root and by the protrusion
    /// length (from the same feature transform as the body zone).
    pub protrusion_zones: Option<(GpuPlane, GpuPlane)>,
    /// With `MigrasomeParams::background_outside_bodies`: the bodies grown by
    /// `SPOT_BACKGROUND_MARGIN_UM`, left out of the spot background.
    pub spot_background_zone: Option<GpuPlane>,
    /// Territory of each seed (nucleus, or body without a nuclei channel), labelled 1..S, and
    /// [`NOT_A_CELL`] on and around bodies cut by the border without a nucleus (grown from
    /// their pixels on the image edge).
    pub territory: GpuPlane,
}

/// Object tables being read back.
pub(super) struct PendingCells {
    nuclei: Option<PendingObjects>,
    bodies: PendingObjects,
    holes: PendingObjects,
    /// Per territory (with a nuclei channel): its area.
    territory: Option<PendingObjects>,
}

/// The objects of the stage, read back.
#[derive(Default)]
pub(super) struct CellObjects {
    pub nuclei: Option<Vec<ObjectStats>>,
    pub bodies: Vec<ObjectStats>,
    pub territory: Vec<ObjectStats>,
}

/// The bodies at the floor, recorded before the rest of the stage: whether any nucleus lies
/// outside them decides whether the orphan pass (a second, lower floor) runs at all.
pub(super) struct BodiesFirst {
    nuclei: Option<(PendingObjects, Labels)>,
    rel: Option<GpuPlane>,
    /// The local level the half-maximum edge is taken against (with `body_edge_fraction`).
    level: Option<GpuPlane>,
    bm: GpuPlane,
    /// The body image's min/max (both edge tests).
    range: Option<Buf>,
    /// The pixels of the nuclei that touch no region at the floor, when the orphan pass is on.
    orphans: Option<GpuPlane>,
    /// The readback of their max (any such pixel at all).
    probe: Option<Readback>,
    /// With `body_plateau_cut` and a nuclei channel: the block means of the body image, of
    /// the nuclei and of the body mask, read back for the watershed on the host (with the
    /// probe; without one, a wait of their own).
    coarse: Option<Coarse>,
}

/// Block means of the body image, of the nuclei's labels and of the body mask at the floor
/// being read back.
pub(super) struct Coarse {
    body: Readback,
    nuclei: Readback,
    /// The body mask's share of each block.
    mask: Readback,
    w: u32,
    h: u32,
    block: u32,
}

/// The plateau cut on the coarse grid, from [`Coarse::finish`].
pub(super) struct PlateauCut {
    grid: Vec<f32>,
    w: u32,
    h: u32,
    block: u32,
}

impl Coarse {
    /// Reads the block means back and runs the watershed (`plateau::cut`); `None` when there
    /// is nothing to cut.
    pub fn finish(self, gpu: &Gpu, floor: f64, px: &PxParams) -> Result<Option<PlateauCut>> {
        let body: Vec<f32> = self.body.wait_as(gpu)?;
        let nuclei: Vec<f32> = self.nuclei.wait_as(gpu)?;
        let nuclei: Vec<bool> = nuclei.iter().map(|&v| v > 0.0).collect();
        let mask: Vec<f32> = self.mask.wait_as(gpu)?;
        let mask: Vec<bool> = mask.iter().map(|&v| v >= 0.5).collect();
        let (w, h) = (self.w as usize, self.h as usize);
        let open = px.body_opening / f64::from(self.block);
        Ok(
            crate::pipeline::migrasome::plateau::cut(&body, &nuclei, &mask, w, h, floor, open).map(
                |grid| PlateauCut {
                    grid,
                    w: self.w,
                    h: self.h,
                    block: self.block,
                },
            ),
        )
    }
}

impl BodiesFirst {
    /// The readback that says whether any nucleus has no region (`None`: no orphan pass).
    pub fn take_probe(&mut self) -> Option<Readback> {
        self.probe.take()
    }

    /// The block means for the plateau cut (`None`: no cut).
    pub fn take_coarse(&mut self) -> Option<Coarse> {
        self.coarse.take()
    }
}

/// Records the nuclei and the bodies at the floor (the first part of the stage).
pub(super) fn record_first(
    rec: &mut Recorder,
    nuc_img: Option<&GpuPlane>,
    body_img: &GpuPlane,
    px: &PxParams,
    thr: &Thresholds,
    caps: &Capacities,
) -> Result<BodiesFirst> {
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
    let (rel, level) = if px.body_edge_fraction > 0.0 {
        let level = crate::ops::resample::local_level(
            rec,
            body_img,
            px.body_opening,
            px.body_local_radius,
        )?;
        let rel = filters::axpby(rec, 1.0, body_img, -(px.body_edge_fraction as f32), &level)?;
        (Some(threshold_above(rec, &rel, 0.0)?), Some(level))
    } else {
        (None, None)
    };
    let bm = body_mask(rec, body_img, rel.as_ref(), thr.body, px)?;
    // the body image's range, once for both edge tests (it fixes their moments' exponent)
    let range = if nuclei.is_some() && px.body_min_contrast > 0.0 {
        Some(crate::ops::minmax(rec, body_img)?)
    } else {
        None
    };
    let (orphans, probe) = match (&nuclei, &range) {
        (Some((_, kept)), Some(_)) if px.body_orphan_floor > 0.0 => {
            let held = component_any(rec, kept, &bm)?;
            let orphans = and_not(rec, &kept.plane, &held)?;
            let any = crate::ops::minmax(rec, &orphans)?;
            (Some(orphans), Some(rec.readback(&any, 4, 4)))
        }
        _ => (None, None),
    };
    // the plateau cut's watershed runs on block means on the host
    let coarse = match &nuclei {
        Some((_, kept)) if px.body_plateau_cut => {
            // 0.4 body_sigma (4 px at 0.1 um), and a grid of at most 512 blocks a side (the
            // host's flood and opening grow with it)
            let side = body_img.width.max(body_img.height);
            let block = ((px.body_sigma / 2.5).round().max(1.0) as u32).max(side.div_ceil(512));
            let body = crate::ops::resample::down_mean(rec, body_img, block)?;
            let nf = crate::ops::to_f32(rec, &kept.plane)?;
            let nuc = crate::ops::resample::down_mean(rec, &nf, block)?;
            let mf = crate::ops::to_f32(rec, &bm)?;
            let share = crate::ops::resample::down_mean(rec, &mf, block)?;
            Some(Coarse {
                body: rec.readback(&body.buf, 0, body.len() as u64 * 4),
                nuclei: rec.readback(&nuc.buf, 0, nuc.len() as u64 * 4),
                mask: rec.readback(&share.buf, 0, share.len() as u64 * 4),
                w: body.width,
                h: body.height,
                block,
            })
        }
        _ => None,
    };
    Ok(BodiesFirst {
        nuclei,
        rel,
        level,
        bm,
        range,
        orphans,
        probe,
        coarse,
    })
}

/// 1 on the pixels of `bodies` (labels) farther than about `reach` px from every pixel
/// outside them (the image's edge is no outside), else 0: blocks of `k` = reach / 3 px (at
/// least 1) that hold an outside pixel, grown by reach / k blocks (an exact distance
/// transform on the k²-times smaller grid: at full size it cost 3 % of a frame on
/// lavapipe), the blocks left interpolated back and cut at one half. The band so left out
/// of the core is `reach` wide to within about 2 `k`.
fn inner_core(rec: &mut Recorder, bodies: &GpuPlane, reach: f64) -> Result<GpuPlane> {
    let k = ((reach / 3.0).floor() as u32).max(1);
    let outside = neither(rec, bodies, bodies)?;
    let outside = crate::ops::to_f32(rec, &outside)?;
    let blocks = crate::ops::resample::down_mean(rec, &outside, k)?;
    let blocks = threshold_above(rec, &blocks, 0.0)?;
    let near = expand_labels(rec, &blocks, (reach / f64::from(k)).round())?;
    let far = neither(rec, &near, &near)?;
    let far = crate::ops::to_f32(rec, &far)?;
    let far = crate::ops::resample::up_bilinear(rec, &far, bodies.width, bodies.height, k)?;
    threshold_above(rec, &far, 0.5)
}

/// The membrane's body mask at `floor`: above the floor and the local half-maximum edge,
/// opened with the body disk.
fn body_mask(
    rec: &mut Recorder,
    body_img: &GpuPlane,
    rel: Option<&GpuPlane>,
    floor: f64,
    px: &PxParams,
) -> Result<GpuPlane> {
    let bm = threshold_above(rec, body_img, floor)?;
    let bm = match rel {
        Some(r) => and_mask(rec, &bm, r)?,
        None => bm,
    };
    binary_opening(rec, &bm, px.body_opening)
}

/// Records the rest of the stage. `any_orphan`: what [`BodiesFirst::take_probe`] read
/// (false skips the orphan pass, which would change nothing then); `cut`: the plateau cut;
/// `fine`: the membrane smoothed as for the spots, less the background surface (`None`: the
/// outline is the mask).
#[allow(clippy::too_many_arguments)]
pub(super) fn record(
    rec: &mut Recorder,
    first: BodiesFirst,
    any_orphan: bool,
    cut: Option<PlateauCut>,
    body_img: &GpuPlane,
    fine: Option<&GpuPlane>,
    px: &PxParams,
    thr: &Thresholds,
    caps: &Capacities,
) -> Result<(CellPlanes, PendingCells)> {
    let BodiesFirst {
        nuclei,
        rel,
        level,
        bm,
        range,
        orphans,
        probe: _,
        coarse: _,
    } = first;
    let with_nuclei = nuclei.is_some();
    // a plateau that the background's flood wins is cut (the host chose only pieces of
    // regions holding a nucleus), and the mask opened again: the coarse cut leaves slivers,
    // and fingers along fibers that the plateau held up (a fragment left without a nucleus
    // is dropped below with every such region, or, cut by the image border, must pass the
    // border regions' edge test). The orphans were found before the cut: a dim body that
    // the cut and the opening left without a region around its nucleus gets no orphan pass
    // (not seen on seeds 101-105 and 201-203 at SNR 4-12).
    let mut cut_plane = None;
    let bm = match &cut {
        Some(c) => {
            let grid = GpuPlane {
                buf: rec.upload(&c.grid),
                kind: RawKind::F32,
                width: c.w,
                height: c.h,
            };
            let up = crate::ops::resample::up_bilinear(rec, &grid, bm.width, bm.height, c.block)?;
            let cut = threshold_above(rec, &up, 0.5)?;
            let bm = and_not(rec, &bm, &cut)?;
            cut_plane = Some(cut);
            binary_opening(rec, &bm, px.body_opening)?
        }
        _ => bm,
    };
    // a nucleus that no region holds (a dim body under the floor, which uneven illumination
    // and haze raise) gets its body from the same rules at a lower floor, when that region
    // has an edge (a plateau reaching the nucleus does not)
    let bm = match (orphans, &range) {
        (Some(orphans), Some(range)) if any_orphan => {
            let low = body_mask(
                rec,
                body_img,
                rel.as_ref(),
                thr.body * px.body_orphan_floor,
                px,
            )?;
            let low = and_not(rec, &low, &bm)?;
            // what the plateau cut took stays out
            let low = match &cut_plane {
                Some(c) => and_not(rec, &low, c)?,
                None => low,
            };
            // only the orphan's share: the pixels nearer its nucleus than any region at the
            // floor (the haze skirt of a bright body beside it, brighter than a dim body, is
            // that body's)
            // (`bm` is 0/1, and no orphan pixel lies in it)
            let seeds = fill(rec, &bm, &orphans, 2)?;
            let nearest = expand_labels(rec, &seeds, px.max_distance)?;
            let share = rec.upload(&[0u32, 1]);
            let share = lookup(rec, &nearest, &share, 2)?;
            let low = and_mask(rec, &low, &share)?;
            let ll = label_components(rec, &low, 8)?;
            let with_orphan = component_any(rec, &ll, &orphans)?;
            let cand = and_mask(rec, &ll.plane, &with_orphan)?;
            let all = or_nonzero(rec, &bm, &cand)?;
            let flat = flat_regions(rec, &cand, &all, body_img, range, px, RING_CLIP_ROUNDS)?;
            let cand = and_not(rec, &with_orphan, &flat)?;
            or_nonzero(rec, &bm, &cand)?
        }
        _ => bm,
    };
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
    let mut border_only = None;
    let bl = match &nuclei {
        Some((_, kept)) => {
            let regions = label_components(rec, &bm, 8)?;
            let with_nucleus = component_any(rec, &regions, &kept.plane)?;
            let frame = image_frame(rec, &bm);
            let mut at_border = component_any(rec, &regions, &frame)?;
            let mut bo = and_not(rec, &at_border, &with_nucleus)?;
            if let Some(range) = &range {
                // a region without a nucleus, cut by the border, must have an edge: its
                // mean above the fitted background, against the ring around it (outside
                // every region), or it is a plateau of uneven illumination or haze
                let bo_labels = and_mask(rec, &regions.plane, &bo)?;
                let drop = flat_regions(rec, &bo_labels, &bm, body_img, range, px, 0)?;
                bo = and_not(rec, &bo, &drop)?;
                at_border = and_not(rec, &at_border, &drop)?;
            }
            let keep = or_nonzero(rec, &with_nucleus, &at_border)?;
            // its territory grows from where the body leaves the field, the nearest a nucleus
            // beyond the border can be seen, not from the whole body (which took the
            // migrasomes of cells beside it whose nuclei lie nearer to them)
            let edge = and_mask(rec, &bo, &frame)?;
            border_only = Some((bo, edge));
            // the kept regions, still labelled as `regions` (whole components, raster order;
            // dropped ones are empty and fail the area rule below): no second labelling
            Labels {
                plane: and_mask(rec, &regions.plane, &keep)?,
                ..regions
            }
        }
        None => label_components(rec, &bm, 8)?,
    };
    let (p_bodies, bodies) = record_objects(
        rec,
        &bl,
        &[],
        caps.bodies,
        KeepRule {
            min_area: px.body_min_area.max(1),
            ..Default::default()
        },
    )?;
    // the body zone, the protrusion zones and the spot background's zone from one feature
    // transform
    let mut distances = vec![px.body_margin];
    if px.protrusion_max > 0.0 {
        distances.extend([px.protrusion_root, px.protrusion_max]);
    }
    distances.extend(px.spot_background_margin);
    let mut z = expand_labels_by(rec, &bodies.plane, &distances)?.into_iter();
    let body_zone = z.next().expect("the body margin");
    let protrusion_zones = if px.protrusion_max > 0.0 {
        let root = z.next().expect("the protrusion root");
        Some((root, z.next().expect("the protrusion length")))
    } else {
        None
    };
    let spot_background_zone = z.next();
    let (p_nuclei, seeds) = match nuclei {
        Some((p, kept)) => (Some(p), kept),
        None => (None, bodies.clone()),
    };
    // bodies cut by the border without their nucleus seed territories too, all labelled
    // NOT_A_CELL, from their pixels on the image edge: the migrasomes of a cell whose nucleus
    // is outside the field are nobody's, not its neighbours'; the body itself is no cell's
    // either (its area and puncta go to no neighbour)
    let territory = match &border_only {
        Some((body, edge)) => {
            let seed_plane = fill(rec, &seeds.plane, edge, NOT_A_CELL)?;
            let t = expand_labels(rec, &seed_plane, px.max_distance)?;
            let t = and_not(rec, &t, body)?;
            fill(rec, &t, body, NOT_A_CELL)?
        }
        None => expand_labels(rec, &seeds.plane, px.max_distance)?,
    };
    // the outline: the mask at the cell scale lies outside the visible edge where a bright
    // rim or haze spread out with the blur; within the blur's reach of its edge a pixel stays
    // where the membrane smoothed as for the spots is above the same fraction of the same
    // local level (the zones above keep the mask: a body's skirt is still no migrasome)
    // (read back as one plane: the outline's labels, and OUTLINE_BAND on the rest of the
    // mask; the host counts the body areas from it, see `outline_labels`)
    let shown = match (fine, &level) {
        (Some(fine), Some(level)) => {
            let above = filters::axpby(rec, 1.0, fine, -(px.body_edge_fraction as f32), level)?;
            let above = threshold_above(rec, &above, 0.0)?;
            let core = inner_core(rec, &bodies.plane, px.body_sigma)?;
            let keep = or_nonzero(rec, &above, &core)?;
            let outline = and_mask(rec, &bodies.plane, &keep)?;
            fill(rec, &outline, &bodies.plane, OUTLINE_BAND)?
        }
        _ => bodies.plane.clone(),
    };
    // the territories' areas
    let p_territory = if with_nuclei {
        let terr = Labels {
            plane: territory.clone(),
            count: seeds.count.clone(),
            parent: seeds.parent.clone(),
        };
        Some(record_objects(rec, &terr, &[], caps.nuclei, KeepRule::default())?.0)
    } else {
        None
    };
    Ok((
        CellPlanes {
            bodies: bodies.plane,
            shown,
            body_zone,
            protrusion_zones,
            spot_background_zone,
            territory,
        },
        PendingCells {
            nuclei: p_nuclei,
            bodies: p_bodies,
            holes: p_holes,
            territory: p_territory,
        },
    ))
}

impl PendingCells {
    /// Reads the tables back; `None` when a capacity was too small (it has been raised).
    pub fn finish(self, gpu: &Gpu, caps: &mut Capacities) -> Result<Option<CellObjects>> {
        let mut grow = false;
        let bodies = super::done(self.bodies.finish(gpu)?, &mut caps.bodies, &mut grow);
        let nuclei = match self.nuclei {
            Some(n) => super::done(n.finish(gpu)?, &mut caps.nuclei, &mut grow),
            None => None,
        };
        super::done(self.holes.finish(gpu)?, &mut caps.holes, &mut grow);
        let territory = match self.territory {
            Some(t) => super::done(t.finish(gpu)?, &mut caps.nuclei, &mut grow),
            None => None,
        };
        if grow {
            return Ok(None);
        }
        Ok(Some(CellObjects {
            nuclei,
            bodies: bodies.unwrap_or_default(),
            territory: territory.unwrap_or_default(),
        }))
    }
}

/// A u32 plane the size of `like`: 1 on the image's outermost rows and columns, else 0.
fn image_frame(rec: &mut Recorder, like: &GpuPlane) -> GpuPlane {
    let (w, h) = (like.width as usize, like.height as usize);
    let mut v = vec![0u32; w * h];
    for y in 0..h {
        for x in 0..w {
            if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                v[y * w + x] = 1;
            }
        }
    }
    GpuPlane {
        buf: rec.upload(&v),
        kind: RawKind::U32,
        width: like.width,
        height: like.height,
    }
}

/// 1 on the regions of `labels` (a label image) whose mean of `body_img` stands above the
/// mean of the ring around them by less than `body_min_contrast` of itself: plateaus, not
/// bodies (labels beyond [`CONTRAST_CAPACITY`] are never flagged). The ring lies outside
/// `all`, `body_local_radius` wide, beyond the blur's reach (from 2 `body_sigma` on: nearer,
/// a dim body's own blurred edge made a 3 µm ring read half its level, and a border body at
/// SNR 4 was dropped). `clip_rounds`: the ring's mean clipped at mean ± 2 SD that many times
/// (the orphan pass: a bright neighbour's haze skirt in the ring does not raise it; not for
/// border regions, where a plateau's own skirt would pass). `range`: `body_img`'s min/max.
fn flat_regions(
    rec: &mut Recorder,
    labels: &GpuPlane,
    all: &GpuPlane,
    body_img: &GpuPlane,
    range: &Buf,
    px: &PxParams,
    clip_rounds: usize,
) -> Result<GpuPlane> {
    // `labels` lie inside `all`, so the shell beyond 0 is the ring around them outside `all`
    let ring = expand_shells(
        rec,
        labels,
        &[Shell {
            from: 2.0 * px.body_sigma,
            to: 2.0 * px.body_sigma + px.body_local_radius,
            as_one: false,
        }],
        all,
    )?
    .remove(0);
    let cap = CONTRAST_CAPACITY;
    let m_in = moments::record_moments(rec, labels, body_img, cap, None, Some(range))?;
    // the orphan pass clips the ring's mean (mean ± 2 SD, `clip_rounds` rounds): the haze
    // skirt of a brighter body beside it, or a migrasome in it, does not raise it
    let ks = vec![RING_CLIP_K; clip_rounds];
    let m_ring = moments::record_clipped_schedule_in(rec, &ring, body_img, cap, &ks, range)?;
    let b_in = moments::record_bounds(rec, &m_in, body_img, cap, 0.0)?;
    let b_ring = moments::record_bounds(rec, &m_ring, body_img, cap, 0.0)?;
    let flat = moments::record_low_contrast(rec, &b_in, &b_ring, cap, px.body_min_contrast as f32)?;
    lookup(rec, labels, &flat, cap)
}

/// The reported outline from the plane read back as [`CellPlanes::shown`] (width `w`; the
/// body areas are counted from it, `assign`), and
/// the linear indices (ascending) of the mask's pixels left out of it: [`OUTLINE_BAND`]
/// becomes 0, and so does every 8-connected piece of one label smaller than `min_area` px
/// but that label's largest (specks of the band that the smoothed membrane left above the
/// level; a body is never dropped whole); then a hole (a 4-connected group of at most
/// `max_hole` px left out, enclosed by one label, as `body_max_hole_um2` for the mask)
/// takes that label back. Without any band pixel the plane is the mask, returned as it is.
pub(super) fn outline_labels(
    shown: &[u32],
    w: usize,
    min_area: u32,
    max_hole: u32,
) -> (Vec<u32>, Vec<u32>) {
    if w == 0 || shown.len() < w || !shown.contains(&OUTLINE_BAND) {
        return (shown.to_vec(), Vec::new());
    }
    let mut out: Vec<u32> = shown
        .iter()
        .map(|&v| if v == OUTLINE_BAND { 0 } else { v })
        .collect();
    let h = out.len() / w;
    let mut seen = vec![false; out.len()];
    // per label: whether it has a piece of full size, and its small pieces (pixel lists)
    let mut small: std::collections::HashMap<u32, (bool, Vec<Vec<usize>>)> = Default::default();
    let mut stack = Vec::new();
    for start in 0..w * h {
        let label = out[start];
        if label == 0 || seen[start] {
            continue;
        }
        let mut piece = Vec::new();
        stack.push(start);
        seen[start] = true;
        while let Some(i) = stack.pop() {
            piece.push(i);
            let (x, y) = (i % w, i / w);
            for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    let j = ny * w + nx;
                    if !seen[j] && out[j] == label {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let entry = small.entry(label).or_default();
        if piece.len() < min_area as usize {
            entry.1.push(piece);
        } else {
            entry.0 = true;
        }
    }
    for (full, pieces) in small.into_values() {
        // without a piece of full size the largest small one stays (the first on a tie)
        let keep = (!full)
            .then(|| (0..pieces.len()).max_by_key(|&k| (pieces[k].len(), std::cmp::Reverse(k))))
            .flatten();
        for (k, piece) in pieces.iter().enumerate() {
            if Some(k) != keep {
                for &i in piece {
                    out[i] = 0;
                }
            }
        }
    }
    // holes: a 4-connected group of at most `max_hole` px of the mask left out, whose
    // neighbours all carry one label, takes it back, as the mask's holes were filled (the
    // band along an edge is one long group, and it touches the outside)
    let left_out = |o: &[u32], i: usize| o[i] == 0 && shown[i] != 0;
    let mut done = vec![false; out.len()];
    let mut group = Vec::new();
    for start in 0..w * h {
        if done[start] || !left_out(&out, start) {
            continue;
        }
        group.clear();
        stack.push(start);
        done[start] = true;
        let mut label = None;
        let mut enclosed = true;
        while let Some(i) = stack.pop() {
            group.push(i);
            let (x, y) = (i % w, i / w);
            for (nx, ny) in [
                (x.wrapping_sub(1), y),
                (x + 1, y),
                (x, y.wrapping_sub(1)),
                (x, y + 1),
            ] {
                if nx >= w || ny >= h {
                    enclosed = false;
                    continue;
                }
                let j = ny * w + nx;
                if left_out(&out, j) {
                    if !done[j] {
                        done[j] = true;
                        stack.push(j);
                    }
                } else if out[j] == 0 || label.is_some_and(|l| l != out[j]) {
                    enclosed = false;
                } else {
                    label = Some(out[j]);
                }
            }
        }
        if let (true, Some(l)) = (enclosed && group.len() <= max_hole as usize, label) {
            for &i in &group {
                out[i] = l;
            }
        }
    }
    let band = (0..out.len())
        .filter(|&i| out[i] == 0 && shown[i] != 0)
        .map(|i| i as u32)
        .collect();
    (out, band)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 12 x 8 plane: body 1 (a 6 x 6 block) with a 2-pixel speck of its label apart,
    /// body 2 (a 3 x 3 block) touching body 1 diagonally, band pixels around.
    fn plane() -> Vec<u32> {
        let (w, h) = (12, 8);
        let mut p = vec![0u32; w * h];
        for y in 1..7 {
            for x in 1..7 {
                p[y * w + x] = 1;
            }
        }
        p[7] = OUTLINE_BAND;
        p[8] = OUTLINE_BAND;
        p[9] = 1; // the speck: row 0, columns 9-10
        p[10] = 1;
        for y in 4..7 {
            for x in 7..10 {
                p[y * w + x] = 2;
            }
        }
        p
    }

    #[test]
    fn the_band_goes_and_so_do_small_pieces() {
        let p = plane();
        let (out, band) = outline_labels(&p, 12, 9, 100);
        assert!(!out.contains(&OUTLINE_BAND));
        assert_eq!(
            out.iter().filter(|&&v| v == 1).count(),
            36,
            "the speck stays out"
        );
        assert_eq!((out[9], out[10]), (0, 0));
        // the band: the marked pixels and the speck, ascending
        assert_eq!(band, vec![7, 8, 9, 10]);
        // a piece of exactly min_area stays, labels are not merged across bodies
        assert_eq!(out.iter().filter(|&&v| v == 2).count(), 9);
        // a label whose every piece is small keeps its largest: no body is dropped whole
        let (out, band) = outline_labels(&p, 12, 40, 100);
        assert_eq!(out.iter().filter(|&&v| v == 2).count(), 9);
        assert_eq!(out.iter().filter(|&&v| v == 1).count(), 36);
        assert_eq!((out[9], out[10]), (0, 0));
        assert_eq!(band, vec![7, 8, 9, 10]);
    }

    #[test]
    fn pinholes_are_filled_and_edges_are_not() {
        let mut p = plane();
        // a hole of one pixel inside body 1 and one of two pixels, and a notch at its edge
        p[3 * 12 + 3] = OUTLINE_BAND;
        p[5 * 12 + 2] = OUTLINE_BAND;
        p[5 * 12 + 3] = OUTLINE_BAND;
        p[12 + 4] = OUTLINE_BAND;
        let (out, band) = outline_labels(&p, 12, 9, 100);
        assert_eq!(
            (out[3 * 12 + 3], out[5 * 12 + 2], out[5 * 12 + 3]),
            (1, 1, 1)
        );
        assert_eq!(
            out[12 + 4],
            0,
            "the notch stays out (a neighbour is outside)"
        );
        assert_eq!(band, vec![7, 8, 9, 10, 12 + 4]);
    }

    #[test]
    fn without_a_band_the_plane_is_returned_as_it_is() {
        let mut p = plane();
        for v in p.iter_mut().filter(|v| **v == OUTLINE_BAND) {
            *v = 0;
        }
        // the speck stays: without a band the plane is the mask, whose pieces are whole
        let (out, band) = outline_labels(&p, 12, 9, 100);
        assert_eq!(out, p);
        assert!(band.is_empty());
        assert_eq!(outline_labels(&[], 0, 5, 100), (vec![], vec![]));
        // shorter than one row: no panic
        assert_eq!(
            outline_labels(&[OUTLINE_BAND, 1], 4, 5, 100).0,
            vec![OUTLINE_BAND, 1]
        );
    }
}
