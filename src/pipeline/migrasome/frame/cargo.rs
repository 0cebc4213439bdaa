//! Stage "cargo": the local background of every cargo channel around every candidate (and
//! of the membrane, for the protrusion-tip rule's peak and shaft), and each candidate's
//! fiber contact (rings around the candidates, from one distance transform).
//!
//! An annulus around each candidate (beyond a gap, outside other candidates and the body
//! zone) gives a sigma-clipped mean and SD; a candidate whose mean is above mean + k·SD is
//! cargo-positive. Where an annulus has too few pixels, the frame's background (everything
//! outside candidates and bodies, clipped the same way) stands in.
//!
//! The fiber contact: the brightest pixel of the ridge image in a ring from the candidate
//! halo out to `fibers.contact_um` beyond it (each pixel to its nearest candidate, outside
//! the body zone). A fiber that runs into the migrasome crosses the ring; once the fiber has
//! broken off (a release), the ring holds background ridges only. Measured on
//! `synth --dynamics` movies 33-36 (truth tracks): the contact over the fiber threshold drops
//! from 1.5-3 to about 0.8 at the release frame, while the attached/released call of the
//! frame alone stays "attached" on half the released detections (noise ridges bridge the
//! 1.5 µm gap to the broken fiber's end).

use crate::error::Result;
use crate::gpu::{Gpu, Readback, Recorder};
use crate::ops::expand::{Shell, expand_shells};
use crate::ops::measure::{CHN, record_raw};
use crate::ops::moments::{self, record_clipped_moments_in};
use crate::ops::{GpuPlane, RawKind, minmax};

use super::super::config::PxParams;

/// Fewest annulus pixels for a local estimate.
const MIN_ANNULUS_PIXELS: u32 = 8;

/// A robust background estimate: pixels used, mean and SD (raw units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocalBackground {
    pub pixels: u32,
    pub mean: f64,
    pub sd: f64,
}

/// One cargo channel's moments being read back.
struct PendingChannel {
    kind: RawKind,
    /// per candidate (annulus)
    local: Readback,
    local_range: Readback,
    /// the frame's
    frame: Readback,
    frame_range: Readback,
}

pub(super) struct PendingCargo {
    channels: Vec<PendingChannel>,
    /// Per candidate: the ridge image's records over its contact ring.
    contact: Readback,
    kind: RawKind,
    /// Per candidate: the windowed ridge image's records over the same ring, when there is
    /// one.
    window: Option<Readback>,
}

/// What the stage found.
pub(super) struct Backgrounds {
    /// Per channel asked for, per candidate (index = label - 1).
    pub local: Vec<Vec<LocalBackground>>,
    /// Per candidate: the brightest ridge pixel of its contact ring (ridge units; `None`
    /// when the ring has no pixel, all of it in the body zone).
    pub contact: Vec<Option<f64>>,
    /// Per candidate: the same on the ridge image of the mean of several frames (all `None`
    /// without it).
    pub window: Vec<Option<f64>>,
}

/// Records the annulus statistics of the channels `cargo` (indices into `raws`) around
/// the candidates `spots` (labelled 1..capacity), and their fiber contact on the ridge image
/// `fiber_img` and on the windowed ridge image `window` (same kind).
#[allow(clippy::too_many_arguments)]
pub(super) fn record(
    rec: &mut Recorder,
    spots: &GpuPlane,
    body_zone: &GpuPlane,
    raws: &[GpuPlane],
    cargo: &[usize],
    fiber_img: &GpuPlane,
    window: Option<&GpuPlane>,
    px: &PxParams,
    capacity: u32,
) -> Result<PendingCargo> {
    // From one feature transform, each outside the body zone: the contact ring (beyond the
    // halo, within contact_outer), the annulus (beyond the gap, within the outer radius)
    // and the frame's background (beyond every candidate's gap)
    let shells = expand_shells(
        rec,
        spots,
        &[
            Shell {
                from: px.candidate_halo(),
                to: px.contact_outer(),
                as_one: false,
            },
            Shell {
                from: px.annulus_gap,
                to: px.annulus_outer,
                as_one: false,
            },
            Shell {
                from: px.annulus_gap,
                to: f64::INFINITY,
                as_one: true,
            },
        ],
        body_zone,
    )?;
    let (ring, ann, bg) = (&shells[0], &shells[1], &shells[2]);
    let imgs: Vec<&GpuPlane> = std::iter::once(fiber_img).chain(window).collect();
    let contact = record_raw(rec, ring, &imgs, capacity)?;
    let ring_bytes = contact.capacity as u64 * CHN as u64 * 4;
    let mut channels = Vec::new();
    for &c in cargo {
        let range = minmax(rec, &raws[c])?;
        let clip = px.cargo_clip as f32;
        let m = record_clipped_moments_in(rec, ann, &raws[c], capacity, clip, Some(&range))?;
        let b = record_clipped_moments_in(rec, bg, &raws[c], 1, clip, Some(&range))?;
        channels.push(PendingChannel {
            kind: raws[c].kind,
            local: rec.readback(
                &m.records,
                0,
                capacity.max(1) as u64 * moments::REC as u64 * 4,
            ),
            local_range: rec.readback(&m.range, 0, 8),
            frame: rec.readback(&b.records, 0, moments::REC as u64 * 4),
            frame_range: rec.readback(&b.range, 0, 8),
        });
    }
    Ok(PendingCargo {
        channels,
        contact: rec.readback(&contact.channels[0], 0, ring_bytes),
        kind: fiber_img.kind,
        window: window.map(|_| rec.readback(&contact.channels[1], 0, ring_bytes)),
    })
}

impl PendingCargo {
    /// The backgrounds and contacts.
    pub fn finish(self, gpu: &Gpu) -> Result<Backgrounds> {
        // the max key of each record (0: no pixel, as initialised; no number has key 0)
        let kind = self.kind;
        let ring_max = |rb: Readback| -> Result<Vec<Option<f64>>> {
            let recs: Vec<u32> = rb.wait_as(gpu)?;
            Ok(recs
                .chunks_exact(CHN as usize)
                .map(|r| match r[3] {
                    0 => None,
                    k => Some(kind.key_value(k).max(0.0)),
                })
                .collect())
        };
        let contact = ring_max(self.contact)?;
        let window = match self.window {
            Some(rb) => ring_max(rb)?,
            None => vec![None; contact.len()],
        };
        let mut out = Vec::new();
        for ch in self.channels {
            let decode = |recs: Readback, range: Readback| -> Result<Vec<LocalBackground>> {
                let r: Vec<u32> = recs.wait_as(gpu)?;
                let range: Vec<u32> = range.wait_as(gpu)?;
                Ok(moments::decode(&r, [range[0], range[1]], ch.kind)
                    .into_iter()
                    .map(|(pixels, mean, sd)| LocalBackground { pixels, mean, sd })
                    .collect())
            };
            let mut local = decode(ch.local, ch.local_range)?;
            let frame = decode(ch.frame, ch.frame_range)?[0];
            for b in local.iter_mut() {
                if b.pixels < MIN_ANNULUS_PIXELS {
                    *b = frame;
                }
            }
            out.push(local);
        }
        Ok(Backgrounds {
            local: out,
            contact,
            window,
        })
    }
}
