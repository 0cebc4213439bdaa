//! Stage "fibers": retraction fibers, which candidates are attached to a cell, and the shaft
//! beside each candidate.
//!
//! Fibers by hysteresis (weak regions that hold a strong pixel): for attachment on the line
//! support of the ridge image (`fibers.line_um`; the ridge image itself when 0), for the
//! shaft and protrusions on the ridge image; the line support leaves out the ridge filter's
//! halo around each candidate. The network (fibers ∪ bodies ∪ candidates, grown
//! by the fiber distance) is labelled; its components that touch a body are attached. The
//! shaft: the brightest fiber pixel just outside each candidate (beyond its own blurred edge,
//! where the ridge filter answers a blob's rim too), for the protrusion-tip rule: a
//! protrusion's tip sits on a shaft nearly as bright as itself, a migrasome on a fiber far
//! dimmer than itself.
//!
//! Protrusions (`fibers.protrusion_max_um`): a shaft piece that starts at a body (within the
//! protrusion root) and ends near it (nothing of it beyond the protrusion length) is a
//! filopodium or microspike, whatever its brightness; retraction fibers run 10-50 µm. Its
//! shaft value is carried negated, so a candidate beside it has a negative shaft minimum:
//! the protrusion's tip.

use crate::error::Result;
use crate::gpu::Recorder;
use crate::ops::expand::{expand_labels, expand_labels_by};
use crate::ops::label::{KeepRule, component_any, label_components};
use crate::ops::mask::{and_not, neither, or_nonzero};
use crate::ops::measure::{PendingObjects, record_objects};
use crate::ops::{GpuPlane, RawKind, filters, threshold::threshold_above};

use super::super::config::PxParams;
use super::{Capacities, Thresholds};

/// Per-pixel context the candidates are measured over.
pub(super) struct FiberPlanes {
    /// 1 on network components that reach a body (u32).
    pub attached: GpuPlane,
    /// The membrane value of the nearest shaft pixel within reach, else 0 (f32); negated
    /// where that pixel is on a protrusion.
    pub shaft_near: GpuPlane,
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
    // the candidates grown by their own blurred edge (no shaft there) and, for the line
    // support, by the ridge filter's halo around them (no attachment fiber there), from one
    // distance transform
    let halo_px = px.shaft_gap.max(px.fiber_halo());
    let distances: &[f64] = if px.fiber_line_half > 0 {
        &[px.shaft_gap, halo_px]
    } else {
        &[px.shaft_gap]
    };
    let mut edges = expand_labels_by(rec, spots_raw, distances)?;
    let own_edge = edges.remove(0);
    let halo = edges.pop();
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
        let off = or_nonzero(rec, halo.as_ref().unwrap_or(&own_edge), bodies)?;
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
    let shaft = and_not(rec, &fm, &own_edge)?;
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
    let shaft_img = match protrusion_zones {
        Some((root, far)) => {
            // fibers with the spots on them (a migrasome does not cut its fiber short)
            // outside the body zone (a body's rim answers the ridge filter and would join
            // every protrusion and fiber of the cell into one piece)
            let pieces = or_nonzero(rec, &fm, spots)?;
            let pieces = and_not(rec, &pieces, body_zone)?;
            let pl = label_components(rec, &pieces, 8)?;
            let from_body = component_any(rec, &pl, root)?;
            let beyond = and_not(rec, &pieces, far)?;
            let long = component_any(rec, &pl, &beyond)?;
            let stub = and_not(rec, &from_body, &long)?;
            // the shaft's values on the protrusion (0 on its spots: they are no shaft)
            let off_stub = neither(rec, &stub, &stub)?;
            let stub_img = filters::replace_masked(rec, &shaft_img, &off_stub, 0.0)?;
            // shaft - 2 stub: the protrusion's pixels negated, the others unchanged
            filters::axpby(rec, 1.0, &shaft_img, -2.0, &stub_img)?
        }
        None => shaft_img,
    };
    // the value of the nearest shaft pixel within reach, carried by the exact distance
    // transform: a non-negative f32 read as u32 bits is a nonzero "label" wherever it is
    // above 0, so `expand_labels` spreads the bits unchanged (about 8x cheaper than a grey
    // dilation of the same radius on lavapipe)
    let shaft_bits = GpuPlane {
        kind: RawKind::U32,
        ..shaft_img
    };
    let shaft_near = expand_labels(rec, &shaft_bits, px.shaft_reach as f64)?;
    Ok(FiberPlanes {
        attached,
        pieces,
        shaft_near: GpuPlane {
            kind: RawKind::F32,
            ..shaft_near
        },
    })
}
