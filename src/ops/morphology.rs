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
    /// The sparse-table level a `span_*` pass builds.
    level: u32,
}

/// Erosion (`take_max` false) or dilation with a disk: the row sparse table's levels (up to
/// the longest footprint row, clipped to the image width), then one pass over the footprint
/// rows (see `morphology.wgsl`).
fn disk_op(rec: &mut Recorder, img: &GpuPlane, radius: u32, take_max: bool) -> Result<GpuPlane> {
    let entry = if take_max { "dilate" } else { "erode" };
    if img.kind != RawKind::F32 {
        return Err(Error::invalid(format!("{entry} needs an f32 image")));
    }
    let hw = rec.upload(&disk_half_widths(radius as usize));
    let longest = (2 * radius as u64 + 1).min(img.width as u64);
    let levels = longest.ilog2();
    let table = rec.storage(levels as u64 * img.len() as u64 * 4);
    let params = |rec: &mut Recorder, level: u32| {
        rec.params(&MorphParams {
            width: img.width,
            height: img.height,
            radius,
            level,
        })
    };
    for level in 1..=levels {
        let p = params(rec, level);
        rec.dispatch_at(
            "morphology",
            if take_max { "span_max" } else { "span_min" },
            &[(0, &p), (1, &img.buf), (4, &table)],
            grid_px(img),
        )?;
    }
    let p = params(rec, 0);
    let out = rec.storage(img.len() as u64 * 4);
    rec.dispatch(
        "morphology",
        entry,
        &[&p, &img.buf, &hw, &out, &table],
        grid_px(img),
    )?;
    Ok(GpuPlane {
        buf: out,
        ..img.clone()
    })
}

/// `skimage.morphology.erosion(img, disk(radius))`.
pub fn erosion(rec: &mut Recorder, img: &GpuPlane, radius: u32) -> Result<GpuPlane> {
    disk_op(rec, img, radius, false)
}

/// `skimage.morphology.dilation(img, disk(radius))`.
pub fn dilation(rec: &mut Recorder, img: &GpuPlane, radius: u32) -> Result<GpuPlane> {
    disk_op(rec, img, radius, true)
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
