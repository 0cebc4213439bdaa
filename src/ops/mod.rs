//! What users of the library call. Each op records GPU work on a [`Recorder`] and returns
//! handles to GPU buffers; nothing is read back unless an op says so. Kernel-level ops
//! (`to_f32`, `minmax`, `histogram`, `threshold_above`, `label_components`, ...) are kept apart
//! from composed ones (`threshold` = minmax + histogram + host maths + `threshold_above`).
//!
//! Not here: WGSL (see `shaders/`), wgpu calls (see `gpu`), file formats (see `io`).

pub mod expand;
pub mod filters;
pub mod label;
pub mod mask;
pub mod measure;
pub mod moments;
pub mod morphology;
pub mod peaks;
pub mod resample;
pub mod threshold;
mod upload;

pub use upload::{GpuPlane, RawKind, upload_plane};

use crate::error::Result;
use crate::gpu::{Buf, Recorder, grid_1d};

/// Pixels per invocation of the per-pixel kernels (`ITEMS` in shaders/common/index.wgsl).
pub(crate) const ITEMS: u32 = 8;

/// Work-group grid for the per-pixel kernels over `p` (ITEMS pixels per invocation).
pub(crate) fn grid_px(p: &GpuPlane) -> [u32; 3] {
    grid_1d(p.len() as u64, crate::gpu::WG * ITEMS)
}

/// Consecutive pixels per invocation of the kernels that carry state along a run of pixels
/// (`ACC_RUN` in shaders/common/index.wgsl: per-label sums, labelling's segments).
pub(crate) const RUN: u32 = 32;

/// Work-group grid for the accumulating kernels over `p` (RUN pixels per invocation).
pub(crate) fn grid_run(p: &GpuPlane) -> [u32; 3] {
    grid_1d(p.len() as u64, crate::gpu::WG * RUN)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct NKind {
    pub n: u32,
    pub kind: u32,
    pub a: u32,
    pub b: u32,
}

/// Converts any plane to the f32 work image (identity copy for f32).
pub fn to_f32(rec: &mut Recorder, src: &GpuPlane) -> Result<GpuPlane> {
    let out = rec.storage(src.len() as u64 * 4);
    let p = rec.params(&NKind {
        n: src.len() as u32,
        kind: src.kind as u32,
        a: 0,
        b: 0,
    });
    rec.dispatch("convert", "to_f32", &[&p, &src.buf, &out], grid_px(src))?;
    Ok(GpuPlane {
        buf: out,
        kind: RawKind::F32,
        width: src.width,
        height: src.height,
    })
}

/// `[min_key, max_key]` of the plane on the GPU (keys: see `cpu::raw`), NaN skipped.
pub fn minmax(rec: &mut Recorder, src: &GpuPlane) -> Result<Buf> {
    let out = rec.storage(8);
    rec.write(&out, bytemuck::cast_slice(&[u32::MAX, 0u32]));
    let p = rec.params(&NKind {
        n: src.len() as u32,
        kind: src.kind as u32,
        a: 0,
        b: 0,
    });
    rec.dispatch(
        "reduce",
        "minmax",
        &[&p, &src.buf, &out],
        grid_1d(src.len() as u64, crate::gpu::WG * 32),
    )?;
    Ok(out)
}

/// Exclusive prefix sum of `n` u32 in place; returns a 4-byte buffer with the total.
pub fn scan_exclusive(rec: &mut Recorder, data: &Buf, n: u32) -> Result<Buf> {
    const BLOCK: u64 = 4096; // shaders/scan.wgsl: WG * PER
    let blocks = (n as u64).div_ceil(BLOCK).max(1);
    let sums = rec.storage(blocks * 4);
    let p = rec.params(&NKind {
        n,
        kind: 0,
        a: 0,
        b: 0,
    });
    rec.dispatch("scan", "blocks", &[&p, data, &sums], grid_1d(blocks, 1))?;
    if blocks == 1 {
        return Ok(sums);
    }
    let total = scan_exclusive(rec, &sums, blocks as u32)?;
    rec.dispatch("scan", "add", &[&p, data, &sums], grid_1d(blocks, 1))?;
    Ok(total)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CropParams {
    src_w: u32,
    ox: u32,
    oy: u32,
    w: u32,
    h: u32,
    _p: [u32; 3],
}

/// The `w` x `h` rectangle at (`ox`, `oy`) of a 32-bit plane (f32 or u32) as a plane of its own.
pub fn crop(
    rec: &mut Recorder,
    src: &GpuPlane,
    ox: u32,
    oy: u32,
    w: u32,
    h: u32,
) -> Result<GpuPlane> {
    if !matches!(src.kind, RawKind::F32 | RawKind::U32 | RawKind::I32) {
        return Err(crate::Error::invalid("crop needs a 32-bit plane"));
    }
    if ox + w > src.width || oy + h > src.height || w == 0 || h == 0 {
        return Err(crate::Error::invalid(format!(
            "crop {w}x{h} at ({ox}, {oy}) does not fit in {}x{}",
            src.width, src.height
        )));
    }
    let out = GpuPlane {
        buf: rec.storage(w as u64 * h as u64 * 4),
        kind: src.kind,
        width: w,
        height: h,
    };
    let p = rec.params(&CropParams {
        src_w: src.width,
        ox,
        oy,
        w,
        h,
        _p: [0; 3],
    });
    rec.dispatch("crop", "crop32", &[&p, &src.buf, &out.buf], grid_px(&out))?;
    Ok(out)
}

#[cfg(test)]
mod run_constants {
    /// The host's grids and the shaders' loops must agree on pixels per invocation (a
    /// smaller shader constant would leave pixels out silently).
    #[test]
    fn host_and_shader_agree() {
        let index = include_str!("../../shaders/common/index.wgsl");
        assert!(index.contains(&format!("const ACC_RUN: u32 = {}u;", super::RUN)));
        assert!(index.contains(&format!("const ITEMS: u32 = {}u;", super::ITEMS)));
        let resample = include_str!("../../shaders/resample.wgsl");
        assert!(resample.contains(&format!(
            "const UP_RUN: u32 = {}u;",
            super::resample::UP_RUN
        )));
        let moments = include_str!("../../shaders/moments.wgsl");
        assert!(moments.contains(&format!(
            "const WHOLE_RUN: u32 = {}u;",
            super::moments::WHOLE_RUN
        )));
    }
}
