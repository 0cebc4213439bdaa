//! Resampling: block means (`down_mean`), bilinear interpolation back to full size
//! (`up_bilinear`), and what they make cheap at reduced size: the local level of large bright
//! objects (`local_level`), against which cell bodies are thresholded at their half maximum.

use super::morphology::opening;
use super::{GpuPlane, RawKind, grid_px};
use crate::error::{Error, Result};
use crate::gpu::Recorder;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ResampleParams {
    src_w: u32,
    src_h: u32,
    dst_w: u32,
    dst_h: u32,
    factor: u32,
    _p: [u32; 3],
}

/// Outputs of one row per `up_bilinear` invocation (`UP_RUN` in shaders/resample.wgsl;
/// `ops::run_constants` checks they agree).
pub(crate) const UP_RUN: u32 = 32;

fn resample(
    rec: &mut Recorder,
    entry: &'static str,
    src: &GpuPlane,
    dw: u32,
    dh: u32,
    f: u32,
) -> Result<GpuPlane> {
    if src.kind != RawKind::F32 || f == 0 {
        return Err(Error::invalid(format!(
            "{entry} needs an f32 image and a factor >= 1"
        )));
    }
    let out = GpuPlane {
        buf: rec.storage(dw as u64 * dh as u64 * 4),
        kind: RawKind::F32,
        width: dw,
        height: dh,
    };
    let p = rec.params(&ResampleParams {
        src_w: src.width,
        src_h: src.height,
        dst_w: dw,
        dst_h: dh,
        factor: f,
        _p: [0; 3],
    });
    // up_bilinear: one invocation per run of UP_RUN outputs of a row (shaders/resample.wgsl)
    let grid = if entry == "up_bilinear" {
        crate::gpu::grid_1d(dw.div_ceil(UP_RUN) as u64 * dh as u64, crate::gpu::WG)
    } else {
        grid_px(&out)
    };
    rec.dispatch("resample", entry, &[&p, &src.buf, &out.buf], grid)?;
    Ok(out)
}

/// Mean of every `f` x `f` block.
pub fn down_mean(rec: &mut Recorder, src: &GpuPlane, f: u32) -> Result<GpuPlane> {
    resample(
        rec,
        "down_mean",
        src,
        src.width.div_ceil(f),
        src.height.div_ceil(f),
        f,
    )
}

/// Bilinear interpolation of a `f`-times smaller image back to `w` x `h`.
pub fn up_bilinear(rec: &mut Recorder, src: &GpuPlane, w: u32, h: u32, f: u32) -> Result<GpuPlane> {
    resample(rec, "up_bilinear", src, w, h, f)
}

/// Local level of large bright objects: the block means of `img` (blocks of f px, f chosen
/// so `radius` is about 6 blocks) opened with a disk of `open_radius` px (bright features
/// smaller than that, such as a Golgi cluster, puncta or a rim, do not count), then dilated
/// with a disk of `radius` px and interpolated back. A threshold at a fraction of it puts a
/// cell body's edge at its half maximum whatever the body's brightness.
pub fn local_level(
    rec: &mut Recorder,
    img: &GpuPlane,
    open_radius: f64,
    radius: f64,
) -> Result<GpuPlane> {
    let f = ((radius / 6.0).floor() as u32).max(1);
    let small = down_mean(rec, img, f)?;
    let ro = (open_radius / f as f64).round() as u32;
    let small = if ro > 0 {
        opening(rec, &small, ro)?
    } else {
        small
    };
    let r = (radius / f as f64).round().max(1.0) as u32;
    let grown = super::morphology::dilation(rec, &small, r)?;
    up_bilinear(rec, &grown, img.width, img.height, f)
}
