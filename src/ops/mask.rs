//! Pixelwise operations on u32 planes: removing covered pixels, unions of masks, painting a
//! per-label value back onto the label image (`shaders/logic.wgsl`).

use super::{GpuPlane, RawKind, grid_px};
use crate::error::{Error, Result};
use crate::gpu::{Buf, Recorder};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LogicParams {
    n: u32,
    table_len: u32,
    value: u32,
    _p1: u32,
}

fn same_u32(a: &GpuPlane, b: &GpuPlane, op: &str) -> Result<()> {
    if a.kind != RawKind::U32 || b.kind != RawKind::U32 {
        return Err(Error::invalid(format!("{op} needs u32 planes")));
    }
    if (a.width, a.height) != (b.width, b.height) {
        return Err(Error::invalid(format!("{op}: sizes differ")));
    }
    Ok(())
}

fn binary(
    rec: &mut Recorder,
    entry: &'static str,
    a: &GpuPlane,
    b: &GpuPlane,
    value: u32,
) -> Result<GpuPlane> {
    same_u32(a, b, entry)?;
    let p = rec.params(&LogicParams {
        n: a.len() as u32,
        table_len: 0,
        value,
        _p1: 0,
    });
    let out = rec.storage(a.len() as u64 * 4);
    rec.dispatch("logic", entry, &[&p, &a.buf, &b.buf, &out], grid_px(a))?;
    Ok(GpuPlane {
        buf: out,
        ..a.clone()
    })
}

/// `a` where `b` is 0, else 0.
pub fn and_not(rec: &mut Recorder, a: &GpuPlane, b: &GpuPlane) -> Result<GpuPlane> {
    binary(rec, "and_not", a, b, 0)
}

/// `a` where `b` is nonzero, else 0.
pub fn and_mask(rec: &mut Recorder, a: &GpuPlane, b: &GpuPlane) -> Result<GpuPlane> {
    binary(rec, "and_mask", a, b, 0)
}

/// 1 where `a` or `b` is nonzero.
pub fn or_nonzero(rec: &mut Recorder, a: &GpuPlane, b: &GpuPlane) -> Result<GpuPlane> {
    binary(rec, "or_nonzero", a, b, 0)
}

/// 1 where both `a` and `b` are 0.
pub fn neither(rec: &mut Recorder, a: &GpuPlane, b: &GpuPlane) -> Result<GpuPlane> {
    binary(rec, "neither", a, b, 0)
}

/// `a` where nonzero, else `value` where `b` is nonzero, else 0.
pub fn fill(rec: &mut Recorder, a: &GpuPlane, b: &GpuPlane, value: u32) -> Result<GpuPlane> {
    binary(rec, "fill", a, b, value)
}

/// `table[label - 1]` painted onto every pixel of `labels` (0 for background and for labels
/// beyond the table).
pub fn lookup(
    rec: &mut Recorder,
    labels: &GpuPlane,
    table: &Buf,
    table_len: u32,
) -> Result<GpuPlane> {
    let p = rec.params(&LogicParams {
        n: labels.len() as u32,
        table_len,
        value: 0,
        _p1: 0,
    });
    let out = rec.storage(labels.len() as u64 * 4);
    rec.dispatch(
        "logic",
        "lookup",
        &[&p, &labels.buf, table, &out],
        grid_px(labels),
    )?;
    Ok(GpuPlane {
        buf: out,
        ..labels.clone()
    })
}
