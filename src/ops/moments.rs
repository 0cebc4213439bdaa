//! Robust local background: per-label count, mean and SD of a channel, sigma-clipped once
//! (moments → bounds mean ± k·SD → moments inside the bounds), all on the GPU
//! (`shaders/moments.wgsl`). Used on annuli around migrasomes to score cargo.

use super::{GpuPlane, grid_run, minmax};
use crate::error::Result;
use crate::gpu::{Buf, Recorder, WG, grid_1d};

/// u32 words per moments record: n, sum lo/hi, sumsq lo/hi.
pub const REC: u32 = 5;
/// Pixels per invocation of the whole-frame pass (`WHOLE_RUN` in shaders/moments.wgsl).
pub(crate) const WHOLE_RUN: u32 = 128;

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct MomParams {
    n: u32,
    capacity: u32,
    kind: u32,
    use_bounds: u32,
    k: f32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

/// Moments records (and the channel's range, which fixes their fixed-point exponent).
pub struct MomentsBufs {
    pub records: Buf,
    pub range: Buf,
}

/// Records per-label moments of `channel` over `labels` (labels 1..=capacity), optionally
/// only inside per-label `[lo, hi]` bounds (f32 pairs).
pub fn record_moments(
    rec: &mut Recorder,
    labels: &GpuPlane,
    channel: &GpuPlane,
    capacity: u32,
    bounds: Option<&Buf>,
    range: Option<&Buf>,
) -> Result<MomentsBufs> {
    moments_pass(rec, Some(labels), channel, capacity, bounds, range)
}

/// `labels` None: the whole frame as label 1 (no label image read).
fn moments_pass(
    rec: &mut Recorder,
    labels: Option<&GpuPlane>,
    channel: &GpuPlane,
    capacity: u32,
    bounds: Option<&Buf>,
    range: Option<&Buf>,
) -> Result<MomentsBufs> {
    let cap = capacity.max(1);
    let range = match range {
        Some(r) => r.clone(),
        None => minmax(rec, channel)?,
    };
    let records = rec.zeroed(cap as u64 * REC as u64 * 4);
    let dummy;
    let b = match bounds {
        Some(b) => b,
        None => {
            dummy = rec.storage(8);
            &dummy
        }
    };
    let p = rec.params(&MomParams {
        n: channel.len() as u32,
        capacity: cap,
        kind: channel.kind as u32,
        use_bounds: bounds.is_some() as u32,
        ..Default::default()
    });
    let common = [
        (0, &p),
        (2, &channel.buf),
        (3, &range),
        (4, b),
        (5, &records),
    ];
    match labels {
        Some(l) => {
            let mut bind = common.to_vec();
            bind.push((1, &l.buf));
            rec.dispatch_at("moments", "moments", &bind, grid_run(channel))?;
        }
        // the whole frame as label 1: no label image, long runs per invocation
        None => rec.dispatch_at(
            "moments",
            "moments_whole",
            &common,
            grid_1d(channel.len() as u64, WG * WHOLE_RUN),
        )?,
    }
    Ok(MomentsBufs { records, range })
}

/// Per-label bounds mean ± k·SD (f32 pairs, value units) from moments records.
pub fn record_bounds(
    rec: &mut Recorder,
    m: &MomentsBufs,
    channel: &GpuPlane,
    capacity: u32,
    k: f32,
) -> Result<Buf> {
    let cap = capacity.max(1);
    let out = rec.storage(cap as u64 * 8);
    let p = rec.params(&MomParams {
        n: 0,
        capacity: cap,
        kind: channel.kind as u32,
        use_bounds: 0,
        k,
        ..Default::default()
    });
    rec.dispatch_at(
        "moments",
        "bounds",
        &[(0, &p), (3, &m.range), (6, &m.records), (7, &out)],
        grid_1d(cap as u64, WG),
    )?;
    Ok(out)
}

/// Per-label flag (u32): 1 where the label's mean stands above the mean of its ring by less
/// than `fraction` of itself, `inside - ring < fraction * inside`; 0 where either is empty.
/// `inside`, `ring`: bounds from [`record_bounds`] with k = 0 (both pairs are the mean).
pub fn record_low_contrast(
    rec: &mut Recorder,
    inside: &Buf,
    ring: &Buf,
    capacity: u32,
    fraction: f32,
) -> Result<Buf> {
    let cap = capacity.max(1);
    let out = rec.storage(cap as u64 * 4);
    let p = rec.params(&MomParams {
        capacity: cap,
        k: fraction,
        ..Default::default()
    });
    rec.dispatch_at(
        "moments",
        "low_contrast",
        &[(0, &p), (8, inside), (9, ring), (10, &out)],
        grid_1d(cap as u64, WG),
    )?;
    Ok(out)
}

/// Sigma-clipped moments: one pass, bounds mean ± k·SD, a second pass inside the bounds.
pub fn record_clipped_moments(
    rec: &mut Recorder,
    labels: &GpuPlane,
    channel: &GpuPlane,
    capacity: u32,
    k: f32,
) -> Result<MomentsBufs> {
    record_clipped_moments_in(rec, labels, channel, capacity, k, None)
}

/// [`record_clipped_moments`] with the channel's min/max keys when already known (several
/// label images over one channel need only one range pass).
pub fn record_clipped_moments_in(
    rec: &mut Recorder,
    labels: &GpuPlane,
    channel: &GpuPlane,
    capacity: u32,
    k: f32,
    range: Option<&Buf>,
) -> Result<MomentsBufs> {
    let first = record_moments(rec, labels, channel, capacity, None, range)?;
    let bounds = record_bounds(rec, &first, channel, capacity, k)?;
    record_moments(
        rec,
        labels,
        channel,
        capacity,
        Some(&bounds),
        Some(&first.range),
    )
}

/// Moments after `iterations` rounds of clipping at mean ± k·SD (1 round = plain moments).
pub fn record_clipped_iter(
    rec: &mut Recorder,
    labels: &GpuPlane,
    channel: &GpuPlane,
    capacity: u32,
    k: f32,
    iterations: u32,
) -> Result<MomentsBufs> {
    let ks = vec![k; iterations.max(1) as usize - 1];
    record_clipped_schedule(rec, labels, channel, capacity, &ks)
}

/// Plain moments, then one clipping round per entry of `ks` at mean ± k·SD of the round
/// before.
pub fn record_clipped_schedule(
    rec: &mut Recorder,
    labels: &GpuPlane,
    channel: &GpuPlane,
    capacity: u32,
    ks: &[f32],
) -> Result<MomentsBufs> {
    clipped_schedule(rec, Some(labels), channel, capacity, ks, None)
}

/// [`record_clipped_schedule`] with the channel's min/max keys already known.
pub fn record_clipped_schedule_in(
    rec: &mut Recorder,
    labels: &GpuPlane,
    channel: &GpuPlane,
    capacity: u32,
    ks: &[f32],
    range: &Buf,
) -> Result<MomentsBufs> {
    clipped_schedule(rec, Some(labels), channel, capacity, ks, Some(range))
}

/// `record_clipped_schedule` over the whole frame (one label, every pixel), without a label
/// image: the robust mean and SD behind a `noise:K` threshold.
pub fn record_frame_schedule(
    rec: &mut Recorder,
    channel: &GpuPlane,
    ks: &[f32],
) -> Result<MomentsBufs> {
    clipped_schedule(rec, None, channel, 1, ks, None)
}

fn clipped_schedule(
    rec: &mut Recorder,
    labels: Option<&GpuPlane>,
    channel: &GpuPlane,
    capacity: u32,
    ks: &[f32],
    range: Option<&Buf>,
) -> Result<MomentsBufs> {
    let mut m = moments_pass(rec, labels, channel, capacity, None, range)?;
    for &k in ks {
        let bounds = record_bounds(rec, &m, channel, capacity, k)?;
        m = moments_pass(
            rec,
            labels,
            channel,
            capacity,
            Some(&bounds),
            Some(&m.range),
        )?;
    }
    Ok(m)
}

/// Decoded moments: (n, mean, sd) in value units.
pub fn decode(records: &[u32], range: [u32; 2], kind: super::RawKind) -> Vec<(u32, f64, f64)> {
    let e = exponent_for(kind, range);
    let scale = 2f64.powi(-e);
    records
        .chunks_exact(REC as usize)
        .map(|r| {
            let n = r[0];
            if n == 0 {
                return (0, f64::NAN, f64::NAN);
            }
            let sum = (((r[2] as u64) << 32) | r[1] as u64) as i64 as f64;
            let sumsq = (((r[4] as u64) << 32) | r[3] as u64) as f64;
            let mean = sum / n as f64;
            let var = (sumsq / n as f64 - mean * mean).max(0.0);
            (n, mean * scale, var.sqrt() * scale)
        })
        .collect()
}

/// The exponent the kernel used, from the kind and range alone.
pub fn exponent_for(kind: super::RawKind, range: [u32; 2]) -> i32 {
    use crate::image::PlaneData;
    let probe = match kind {
        super::RawKind::U8 => PlaneData::U8(vec![]),
        super::RawKind::I8 => PlaneData::I8(vec![]),
        super::RawKind::U16 => PlaneData::U16(vec![]),
        super::RawKind::I16 => PlaneData::I16(vec![]),
        super::RawKind::U32 => PlaneData::U32(vec![]),
        super::RawKind::I32 => PlaneData::I32(vec![]),
        super::RawKind::F32 => PlaneData::F32(vec![]),
    };
    crate::cpu::moments::exponent(&probe, range)
}
