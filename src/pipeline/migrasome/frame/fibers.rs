//! Stage "fibers": retraction fibers, which candidates are attached to a cell, and the shaft
//! beside each candidate.
//!
//! Fibers by hysteresis (weak regions that hold a strong pixel): for attachment on the line
//! support of the ridge image (`fibers.line_um`; the ridge image itself when 0), for the
//! shaft and protrusions on the ridge image; both leave out the ridge filter's halo around
//! each candidate (where it answers the blob's own rim). The network (fibers ∪ bodies ∪
//! candidates, grown by the fiber distance) is labelled; its components that touch a body
//! are attached. The shaft: the brightest fiber pixel just beyond each candidate's halo,
//! for the protrusion-tip rule: a protrusion's tip sits on a shaft nearly as bright as
//! itself, a migrasome on a fiber far dimmer than itself.
//!
//! Protrusions (`fibers.protrusion_max_um`): a shaft piece that starts at a body (within the
//! protrusion root) and ends near it (nothing of it beyond the protrusion length) is a
//! filopodium or microspike, whatever its brightness; retraction fibers run 10-50 µm. A
//! candidate on such a piece (the spots are part of the pieces) is at the protrusion's tip.

use crate::error::Result;
use crate::gpu::Recorder;
use crate::ops::expand::expand_labels;
use crate::ops::label::{KeepRule, component_any, label_components};
use crate::ops::mask::{and_mask, and_not, neither, or_nonzero};
use crate::ops::measure::{PendingObjects, record_objects};
use crate::ops::{GpuPlane, RawKind, filters, threshold::threshold_above};

use super::super::config::PxParams;
use super::{Capacities, Thresholds};

/// Per-pixel context the candidates are measured over.
pub(super) struct FiberPlanes {
    /// 1 on network components that reach a body (u32).
    pub attached: GpuPlane,
    /// The network itself (fibers, bodies and candidates grown by the fiber distance; u32,
    /// nonzero on it): the assignment follows it from a migrasome to the nearest body.
    pub network: GpuPlane,
    /// The membrane value of the nearest shaft pixel within reach, else 0 (f32).
    pub shaft_near: GpuPlane,
    /// With protrusions on: 1 on the pieces of fiber (and the spots on them) that are
    /// protrusions (u32).
    pub protrusion: Option<GpuPlane>,
    /// The fiber pieces measured (with `fibers.min_piece_um2`), for their capacity.
    pub pieces: Option<PendingObjects>,
}

/// Records the stage. `mem`: the membrane (f32); `spots_raw`: the spot mask; `spots`: the
/// spot pixels outside the body zone; `bodies`, `body_zone`: from the cells stage.
#[allow(clippy::too_many_arguments)]
pub(super) fn record(
    rec: &mut Recorder,
    fiber_img: &GpuPlane,
    mem: &GpuPlane,
    spots_raw: &GpuPlane,
    spots: &GpuPlane,
    bodies: &GpuPlane,
    body_zone: &GpuPlane,
    protrusion_zones: Option<&(GpuPlane, GpuPlane)>,
    px: &PxParams,
    thr: &Thresholds,
    caps: &Capacities,
) -> Result<FiberPlanes> {
    // the candidates grown by the ridge filter's halo around them (at least their own
    // blurred edge): no shaft and no attachment fiber there
    let halo = expand_labels(rec, spots_raw, px.candidate_halo())?;
    let hysteresis = |rec: &mut Recorder, img: &GpuPlane, hi: f64, lo: f64| -> Result<GpuPlane> {
        let strong = threshold_above(rec, img, hi)?;
        let weak = threshold_above(rec, img, lo.min(hi))?;
        let weak = label_components(rec, &weak, 8)?;
        component_any(rec, &weak, &strong)
    };
    // the fibers beside the candidates (shaft, protrusions): straight from the ridge image
    let fm = hysteresis(rec, fiber_img, thr.fiber, thr.fiber_low)?;
    // the fibers that attach: from the line support of the ridge image, candidates (with
    // the ridge filter's halo around them: two ridge scales) and bodies left out of the
    // segments, so neither a blob's rim nor a noise streak bridges the gap between a
    // released migrasome and the end of its broken fiber (with only the blurred edge left
    // out, the halo joined a fiber ending 1.5 µm away: on `synth --dynamics` movies 33-36
    // released accuracy 0.744, with the halo 0.880)
    let fm_net = if px.fiber_line_half > 0 {
        let off = or_nonzero(rec, &halo, bodies)?;
        let line = filters::line_support(rec, fiber_img, &off, px.fiber_line_half, thr.fiber)?;
        let (hi, lo) = (px.fiber_line_threshold, px.fiber_line_threshold_low);
        hysteresis(rec, &line, hi, lo)?
    } else {
        fm.clone()
    };
    let net = or_nonzero(rec, &fm_net, bodies)?;
    let net = or_nonzero(rec, &net, spots)?;
    let net = expand_labels(rec, &net, px.fiber_distance)?;
    let nl = label_components(rec, &net, 8)?;
    // the shaft starts beyond the halo too: inside it the ridge image is the candidate's own
    // rim, and the membrane there its own blurred skirt (with the blurred edge alone left out,
    // 7 of the 27 migrasomes missed on independent fields 11-25 were called protrusion tips
    // on their own skirt)
    let shaft = and_not(rec, &fm, &halo)?;
    let shaft = and_not(rec, &shaft, body_zone)?;
    // a network that reaches a body, or that holds a fiber piece long enough to be no noise
    // (a faint fiber breaks up before it reaches its cell; a released migrasome has none)
    let (attached, pieces) = if px.fiber_min_piece > 0 {
        // pieces of the attachment fibers, beyond the candidates' halos and the body zone
        // (the line support is 0 on the halos already)
        let net_shaft = if px.fiber_line_half > 0 {
            and_not(rec, &fm_net, body_zone)?
        } else {
            shaft.clone()
        };
        let sl = label_components(rec, &net_shaft, 8)?;
        let (pending, long) = record_objects(
            rec,
            &sl,
            &[],
            caps.fibers,
            KeepRule {
                min_area: px.fiber_min_piece,
                ..Default::default()
            },
        )?;
        let anchors = or_nonzero(rec, bodies, &long.plane)?;
        (component_any(rec, &nl, &anchors)?, Some(pending))
    } else {
        (component_any(rec, &nl, bodies)?, None)
    };
    let off_shaft = neither(rec, &shaft, &shaft)?;
    let shaft_img = filters::replace_masked(rec, mem, &off_shaft, 0.0)?;
    // protrusions: the pieces of fiber (with the spots on them: a migrasome does not cut
    // its fiber short) outside the body zone (a body's rim answers the ridge filter and would
    // join every protrusion and fiber of the cell into one piece) that start at a body and
    // end near it; a candidate on one is at its tip
    let protrusion = match protrusion_zones {
        Some((root, far)) => {
            let pieces = or_nonzero(rec, &fm, spots)?;
            let pieces = and_not(rec, &pieces, body_zone)?;
            let pl = label_components(rec, &pieces, 8)?;
            let from_body = component_any(rec, &pl, root)?;
            let beyond = and_not(rec, &pieces, far)?;
            let long = component_any(rec, &pl, &beyond)?;
            let short = and_not(rec, &from_body, &long)?;
            Some(and_mask(rec, &pl.plane, &short)?)
        }
        None => None,
    };
    // the value of the nearest shaft pixel within reach, carried by the exact distance
    // transform: a non-negative f32 read as u32 bits is a nonzero "label" wherever it is
    // above 0, so `expand_labels` spreads the bits unchanged (about 8x cheaper than a grey
    // dilation of the same radius on lavapipe)
    let shaft_bits = GpuPlane {
        kind: RawKind::U32,
        ..shaft_img
    };
    let shaft_near = expand_labels(rec, &shaft_bits, px.shaft_reach() as f64)?;
    Ok(FiberPlanes {
        attached,
        network: net,
        pieces,
        protrusion,
        shaft_near: GpuPlane {
            kind: RawKind::F32,
            ..shaft_near
        },
    })
}
