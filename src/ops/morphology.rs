//! Grey morphology with a disk footprint (skimage semantics, mode 'reflect'): erosion,
//! dilation, opening and the white top-hat used to subtract uneven background under spots.

use super::expand::expand_labels;
use super::filters::subtract;
use super::mask::neither;
use super::{GpuPlane, RawKind, grid_px};
use crate::cpu::morphology::disk_half_widths;
use crate::error::{Error, Result};
use crate::gpu::Recorder;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct MorphParams {
    width: u32,
    height: u32,
    radius: u32,
    _p: u32,
}

fn disk_op(
    rec: &mut Recorder,
    img: &GpuPlane,
    radius: u32,
    entry: &'static str,
) -> Result<GpuPlane> {
    if img.kind != RawKind::F32 {
        return Err(Error::invalid(format!("{entry} needs an f32 image")));
    }
    let hw = rec.upload(&disk_half_widths(radius as usize));
    let p = rec.params(&MorphParams {
        width: img.width,
        height: img.height,
        radius,
        _p: 0,
    });
    let out = rec.storage(img.len() as u64 * 4);
    rec.dispatch(
        "morphology",
        entry,
        &[&p, &img.buf, &hw, &out],
        grid_px(img),
    )?;
    Ok(GpuPlane {
        buf: out,
        ..img.clone()
    })
}

/// `skimage.morphology.erosion(img, disk(radius))`.
pub fn erosion(rec: &mut Recorder, img: &GpuPlane, radius: u32) -> Result<GpuPlane> {
    disk_op(rec, img, radius, "erode")
}

/// `skimage.morphology.dilation(img, disk(radius))`.
pub fn dilation(rec: &mut Recorder, img: &GpuPlane, radius: u32) -> Result<GpuPlane> {
    disk_op(rec, img, radius, "dilate")
}

/// `skimage.morphology.opening(img, disk(radius))`.
pub fn opening(rec: &mut Recorder, img: &GpuPlane, radius: u32) -> Result<GpuPlane> {
    let e = erosion(rec, img, radius)?;
    dilation(rec, &e, radius)
}

/// `skimage.morphology.white_tophat(img, disk(radius))`: img - opening(img).
pub fn white_tophat(rec: &mut Recorder, img: &GpuPlane, radius: u32) -> Result<GpuPlane> {
    let o = opening(rec, img, radius)?;
    subtract(rec, img, &o)
}

/// Binary opening of a mask (nonzero = foreground) with a disk of radius `radius` px, by two
/// exact Euclidean distance transforms: erosion keeps pixels farther than `radius` from the
/// background, dilation grows them back by `radius`. Cost does not depend on the radius.
/// Returns a 0/1 mask.
pub fn binary_opening(rec: &mut Recorder, mask: &GpuPlane, radius: f64) -> Result<GpuPlane> {
    let background = neither(rec, mask, mask)?;
    let near_background = expand_labels(rec, &background, radius)?;
    let core = neither(rec, &near_background, &near_background)?;
    let grown = expand_labels(rec, &core, radius)?;
    super::mask::or_nonzero(rec, &grown, &grown)
}
