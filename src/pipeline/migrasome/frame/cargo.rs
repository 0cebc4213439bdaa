//! Stage "cargo": the local background of every cargo channel around every candidate (and
//! of the membrane, for the protrusion-tip rule's peak and shaft).
//!
//! An annulus around each candidate (beyond a gap, outside other candidates and the body
//! zone) gives a sigma-clipped mean and SD; a candidate whose mean is above mean + k·SD is
//! cargo-positive. Where an annulus has too few pixels, the frame's background (everything
//! outside candidates and bodies, clipped the same way) stands in.

use crate::error::Result;
use crate::gpu::{Gpu, Readback, Recorder};
use crate::ops::expand::expand_labels_by;
use crate::ops::mask::{and_not, neither};
use crate::ops::moments::{self, record_clipped_moments};
use crate::ops::{GpuPlane, RawKind};

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
}

/// Records the annulus statistics of the channels `cargo` (indices into `raws`) around
/// the candidates `spots` (labelled 1..capacity).
pub(super) fn record(
    rec: &mut Recorder,
    spots: &GpuPlane,
    body_zone: &GpuPlane,
    raws: &[GpuPlane],
    cargo: &[usize],
    px: &PxParams,
    capacity: u32,
) -> Result<PendingCargo> {
    let grown = expand_labels_by(rec, spots, &[px.annulus_outer, px.annulus_gap])?;
    let (outer, inner) = (&grown[0], &grown[1]);
    let ann = and_not(rec, outer, inner)?;
    let ann = and_not(rec, &ann, body_zone)?;
    let bg = neither(rec, inner, body_zone)?;
    let mut channels = Vec::new();
    for &c in cargo {
        let m = record_clipped_moments(rec, &ann, &raws[c], capacity, px.cargo_clip as f32)?;
        let b = record_clipped_moments(rec, &bg, &raws[c], 1, px.cargo_clip as f32)?;
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
    Ok(PendingCargo { channels })
}

impl PendingCargo {
    /// Per cargo channel, the background of each candidate (index = label - 1).
    pub fn finish(self, gpu: &Gpu) -> Result<Vec<Vec<LocalBackground>>> {
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
        Ok(out)
    }
}
