//! Connected-component labelling and relabelling on the GPU. Labels are u32, numbered 1..N in
//! raster order of each component's first pixel, so a label image is identical to
//! `skimage.measure.label`'s.

use super::{GpuPlane, NKind, RUN, RawKind, grid_px, grid_run, scan_exclusive};
use crate::error::{Error, Result};
use crate::gpu::{Buf, Recorder, WG, grid_1d};

/// A label image on the GPU with its label count (a 4-byte buffer, read back when needed)
/// and the union-find parents it came from (`parent[i]` = the component's first pixel).
#[derive(Clone, Debug)]
pub struct Labels {
    pub plane: GpuPlane,
    pub count: Buf,
    pub parent: Buf,
}

/// First pixel (raster index) of labels 1..=capacity: a buffer of `capacity` u32.
pub fn first_pixels(rec: &mut Recorder, labels: &Labels, capacity: u32) -> Result<Buf> {
    let lp = &labels.plane;
    let first = rec.storage(capacity.max(1) as u64 * 4);
    let p = rec.params(&NKind {
        n: lp.len() as u32,
        kind: 0,
        a: capacity,
        b: 0,
    });
    rec.dispatch_at(
        "label_final",
        "first_pixels",
        &[(0, &p), (1, &labels.parent), (7, &lp.buf), (4, &first)],
        grid_px(lp),
    )?;
    Ok(first)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LabelParams {
    width: u32,
    height: u32,
    conn: u32,
    _p: u32,
}

/// Labels the nonzero pixels of `mask` with 4- or 8-connectivity.
pub fn label_components(rec: &mut Recorder, mask: &GpuPlane, connectivity: u32) -> Result<Labels> {
    if connectivity != 4 && connectivity != 8 {
        return Err(Error::invalid(format!(
            "connectivity must be 4 or 8, got {connectivity}"
        )));
    }
    if mask.kind != RawKind::U32 {
        return Err(Error::invalid("label_components needs a u32 mask"));
    }
    let n = mask.len() as u64;
    let parent = rec.storage(n * 4);
    let p = rec.params(&LabelParams {
        width: mask.width,
        height: mask.height,
        conn: connectivity,
        _p: 0,
    });
    let g = grid_run(mask);
    let segments = (n as u32).div_ceil(RUN);
    let local = rec.storage(n * 4);
    let counts = rec.storage(segments as u64 * 4);
    rec.dispatch("label", "init", &[&p, &mask.buf, &parent], g)?;
    rec.dispatch("label", "merge", &[&p, &mask.buf, &parent], g)?;
    rec.dispatch_at(
        "label",
        "compress",
        &[
            (0, &p),
            (1, &mask.buf),
            (2, &parent),
            (3, &local),
            (4, &counts),
        ],
        g,
    )?;
    let count = scan_exclusive(rec, &counts, segments)?;
    let pn = rec.params(&NKind {
        n: n as u32,
        kind: 0,
        a: 0,
        b: 0,
    });
    let out = rec.storage(n * 4);
    rec.dispatch_at(
        "label_final",
        "finalize",
        &[(0, &pn), (1, &parent), (2, &out), (3, &local), (5, &counts)],
        grid_px(mask),
    )?;
    Ok(Labels {
        plane: GpuPlane {
            buf: out,
            kind: RawKind::U32,
            width: mask.width,
            height: mask.height,
        },
        count,
        parent,
    })
}

/// 1 on every pixel of each component of `labels` that has at least one pixel set in `cond`
/// (a u32 plane), 0 elsewhere. Needs no per-label capacity.
pub fn component_any(rec: &mut Recorder, labels: &Labels, cond: &GpuPlane) -> Result<GpuPlane> {
    let lp = &labels.plane;
    if (cond.width, cond.height) != (lp.width, lp.height) || cond.kind != RawKind::U32 {
        return Err(Error::invalid(
            "component_any: condition must be a u32 plane of the same size",
        ));
    }
    let n = lp.len() as u64;
    let flags = rec.zeroed(n * 4);
    let out = rec.storage(n * 4);
    let p = rec.params(&NKind {
        n: n as u32,
        kind: 0,
        a: 0,
        b: 0,
    });
    let g = grid_px(lp);
    rec.dispatch_at(
        "components",
        "mark",
        &[(0, &p), (1, &labels.parent), (2, &cond.buf), (3, &flags)],
        g,
    )?;
    rec.dispatch_at(
        "components",
        "spread",
        &[(0, &p), (1, &labels.parent), (3, &flags), (4, &out)],
        g,
    )?;
    Ok(GpuPlane {
        buf: out,
        ..lp.clone()
    })
}

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct RelabelParams {
    capacity: u32,
    min_area: u32,
    max_area: u32,
    exclude_edges: u32,
    width: u32,
    height: u32,
    n: u32,
    stride: u32,
}

/// Which objects to keep, judged on their geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepRule {
    pub min_area: u32,
    pub max_area: u32,
    pub exclude_edges: bool,
}

impl Default for KeepRule {
    fn default() -> Self {
        KeepRule {
            min_area: 0,
            max_area: u32::MAX,
            exclude_edges: false,
        }
    }
}

/// Keep flags and their exclusive scan (new numbers) for labels 1..=capacity, judged on
/// their geometry records; also returns the kept count (4-byte buffer).
pub fn keep_flags(
    rec: &mut Recorder,
    geometry: &Buf,
    count: &Buf,
    capacity: u32,
    width: u32,
    height: u32,
    rule: KeepRule,
) -> Result<(Buf, Buf, Buf)> {
    let cap = capacity.max(1) as u64;
    let flags = rec.storage(cap * 4);
    let p = rec.params(&RelabelParams {
        capacity,
        min_area: rule.min_area,
        max_area: rule.max_area,
        exclude_edges: rule.exclude_edges as u32,
        width,
        height,
        ..Default::default()
    });
    rec.dispatch_at(
        "relabel",
        "keep_geometry",
        &[(0, &p), (3, count), (4, geometry), (5, &flags)],
        grid_1d(cap, WG),
    )?;
    let rank = rec.storage(cap * 4);
    rec.copy(&flags, 0, &rank, 0, cap * 4);
    let kept = scan_exclusive(rec, &rank, capacity)?;
    Ok((flags, rank, kept))
}

/// New label image: kept labels become 1..K in their old order, the others 0.
pub fn remap(
    rec: &mut Recorder,
    labels: &GpuPlane,
    capacity: u32,
    flags: &Buf,
    rank: &Buf,
) -> Result<GpuPlane> {
    let out = rec.storage(labels.len() as u64 * 4);
    let p = rec.params(&RelabelParams {
        capacity,
        n: labels.len() as u32,
        ..Default::default()
    });
    rec.dispatch_at(
        "relabel",
        "remap",
        &[(0, &p), (1, flags), (2, rank), (4, &labels.buf), (5, &out)],
        grid_px(labels),
    )?;
    Ok(GpuPlane {
        buf: out,
        ..labels.clone()
    })
}

/// Copies the records (`stride` u32 each) of kept labels to their new places.
pub fn compact_records(
    rec: &mut Recorder,
    records: &Buf,
    capacity: u32,
    stride: u32,
    flags: &Buf,
    rank: &Buf,
) -> Result<Buf> {
    let out = rec.storage(capacity.max(1) as u64 * stride as u64 * 4);
    let p = rec.params(&RelabelParams {
        capacity,
        stride,
        ..Default::default()
    });
    rec.dispatch_at(
        "relabel",
        "compact",
        &[(0, &p), (1, flags), (2, rank), (4, records), (5, &out)],
        grid_1d(capacity.max(1) as u64, WG),
    )?;
    Ok(out)
}
