//! Local maxima with `skimage.feature.peak_local_max` semantics, on the GPU: candidates from
//! a maximum filter and the thresholds, then rounds of the greedy spacing rule until every
//! candidate is decided (see `shaders/peaks.wgsl`).

use super::{GpuPlane, RawKind, grid_px, minmax};
use crate::error::{Error, Result};
use crate::gpu::{Buf, Gpu, Recorder};

/// Parameters of `peak_local_max`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeakParams {
    pub min_distance: u32,
    pub threshold_abs: Option<f32>,
    pub threshold_rel: Option<f32>,
    pub exclude_border: bool,
}

impl Default for PeakParams {
    fn default() -> Self {
        PeakParams {
            min_distance: 1,
            threshold_abs: None,
            threshold_rel: None,
            exclude_border: true,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PeakGpuParams {
    width: u32,
    height: u32,
    dist: u32,
    border: u32,
    abs_thr: f32,
    rel_thr: f32,
    use_abs: u32,
    use_rel: u32,
    use_within: u32,
    _p: [u32; 3],
}

/// Spacing rounds recorded at once; enough for all but long flat plateaus.
pub const ROUNDS: u32 = 12;

/// Peaks recorded on the GPU: the mask (1 = peak) and a counter of candidates still undecided
/// after the last round (0 means the mask is final).
pub struct Peaks {
    pub mask: GpuPlane,
    pub undecided: Buf,
    state: Buf,
    /// Two counters: whether the image varies, and the candidates listed.
    counters: Buf,
    /// The candidates' pixel indices.
    list: Buf,
    /// The rounds' work-group counts (written by `list_args`).
    args: Buf,
    params: Buf,
    img: GpuPlane,
    range: Buf,
}

fn rounds(rec: &mut Recorder, pk: &mut Peaks, n: u32) -> Result<()> {
    for r in 0..n {
        let counter = rec.zeroed(4);
        rec.dispatch_indirect_at(
            "peaks",
            "resolve",
            &[
                (0, &pk.params),
                (3, &pk.state),
                (4, &pk.counters),
                (5, &counter),
                (8, &pk.list),
            ],
            &pk.args,
            0,
        )?;
        if r + 1 == n {
            pk.undecided = counter;
        }
    }
    rec.dispatch_at(
        "peaks",
        "kept",
        &[(0, &pk.params), (3, &pk.state), (6, &pk.mask.buf)],
        grid_px(&pk.img),
    )
}

/// Records candidate detection and [`ROUNDS`] spacing rounds.
pub fn local_maxima(rec: &mut Recorder, img: &GpuPlane, prm: PeakParams) -> Result<Peaks> {
    local_maxima_rounds(rec, img, prm, ROUNDS)
}

/// Records candidate detection and `n` spacing rounds.
pub fn local_maxima_rounds(
    rec: &mut Recorder,
    img: &GpuPlane,
    prm: PeakParams,
    n: u32,
) -> Result<Peaks> {
    local_maxima_within(rec, img, prm, n, None)
}

/// [`local_maxima_rounds`] considering only pixels where `within` (a u32 plane) is set.
pub fn local_maxima_within(
    rec: &mut Recorder,
    img: &GpuPlane,
    prm: PeakParams,
    n: u32,
    within: Option<&GpuPlane>,
) -> Result<Peaks> {
    if img.kind != RawKind::F32 {
        return Err(Error::invalid("peak_local_max needs an f32 image"));
    }
    let d = prm.min_distance.max(1);
    // the range sets the threshold only without threshold_abs, or with threshold_rel
    let range = if prm.threshold_abs.is_none() || prm.threshold_rel.is_some() {
        minmax(rec, img)?
    } else {
        rec.storage(8)
    };
    let params = rec.params(&PeakGpuParams {
        width: img.width,
        height: img.height,
        dist: d,
        border: if prm.exclude_border { d } else { 0 },
        abs_thr: prm.threshold_abs.unwrap_or(0.0),
        rel_thr: prm.threshold_rel.unwrap_or(0.0),
        use_abs: prm.threshold_abs.is_some() as u32,
        use_rel: prm.threshold_rel.is_some() as u32,
        use_within: within.is_some() as u32,
        _p: [0; 3],
    });
    let state = rec.storage(img.len() as u64 * 4);
    let counters = rec.zeroed(8);
    let list = rec.storage(img.len() as u64 * 4);
    let dummy = rec.zeroed(4);
    let dummy_within;
    let within_buf = match within {
        Some(w) => &w.buf,
        None => {
            dummy_within = rec.storage(4);
            &dummy_within
        }
    };
    rec.dispatch_at(
        "peaks",
        "candidates",
        &[
            (0, &params),
            (1, &img.buf),
            (2, &range),
            (3, &state),
            (4, &counters),
            (7, within_buf),
            (8, &list),
        ],
        grid_px(img),
    )?;
    let args = rec.storage(12);
    rec.dispatch_at(
        "peaks",
        "list_args",
        &[(4, &counters), (10, &args)],
        [1, 1, 1],
    )?;
    let mask = GpuPlane {
        buf: rec.storage(img.len() as u64 * 4),
        kind: RawKind::U32,
        width: img.width,
        height: img.height,
    };
    let mut pk = Peaks {
        mask,
        undecided: dummy,
        state,
        counters,
        list,
        args,
        params,
        img: img.clone(),
        range,
    };
    rounds(rec, &mut pk, n.max(1))?;
    Ok(pk)
}

/// `peak_local_max` as a mask, finished on the GPU: submits, and records further rounds while
/// candidates remain undecided.
pub fn peak_local_max(gpu: &Gpu, img: &GpuPlane, prm: PeakParams) -> Result<GpuPlane> {
    let mut rec = Recorder::new(gpu);
    let mut pk = local_maxima(&mut rec, img, prm)?;
    finish(gpu, rec, &mut pk)?;
    Ok(pk.mask)
}

/// Submits `rec` (which recorded `pk`) and records further rounds until no candidate is
/// undecided: the exact `peak_local_max` however long its chains of plateaus are (random
/// images with a few grey levels can need more than a fixed number of rounds).
pub fn finish<'g>(gpu: &'g Gpu, mut rec: Recorder<'g>, pk: &mut Peaks) -> Result<()> {
    loop {
        let rb = rec.readback(&pk.undecided, 0, 4);
        rec.submit();
        if rb.wait_as::<u32>(gpu)?[0] == 0 {
            let _ = &pk.range;
            return Ok(());
        }
        rec = Recorder::new(gpu);
        rounds(&mut rec, pk, ROUNDS)?;
    }
}
