//! `expand_labels` on the GPU: the exact Euclidean feature transform of scipy (integer
//! arithmetic, same tie rules), then each background pixel within `distance` takes the label
//! of its nearest labelled pixel. Builds cell territories from nuclei.

use super::{GpuPlane, RawKind, grid_px};
use crate::cpu::expand::max_d2;
use crate::error::{Error, Result};
use crate::gpu::{Recorder, WG, grid_1d};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ExpandParams {
    width: u32,
    height: u32,
    max_d2_lo: u32,
    max_d2_hi: u32,
}

/// Nearest labelled pixel (linear index, or u32::MAX when there is none) of every pixel.
pub fn feature_transform(rec: &mut Recorder, labels: &GpuPlane) -> Result<GpuPlane> {
    if labels.kind != RawKind::U32 {
        return Err(Error::invalid("expand_labels needs a u32 label image"));
    }
    let n = labels.len() as u64;
    let p = rec.params(&ExpandParams {
        width: labels.width,
        height: labels.height,
        max_d2_lo: 0,
        max_d2_hi: 0,
    });
    let col = rec.storage(n * 4);
    let stack = rec.storage(n * 4);
    let feature = rec.storage(n * 4);
    rec.dispatch_at(
        "expand",
        "ft_cols",
        &[(0, &p), (1, &labels.buf), (2, &col)],
        grid_1d(labels.width as u64, WG),
    )?;
    rec.dispatch_at(
        "expand",
        "ft_rows",
        &[(0, &p), (2, &col), (3, &stack), (4, &feature)],
        grid_1d(labels.height as u64, WG),
    )?;
    Ok(GpuPlane {
        buf: feature,
        ..labels.clone()
    })
}

/// `skimage.segmentation.expand_labels(labels, distance)`.
pub fn expand_labels(rec: &mut Recorder, labels: &GpuPlane, distance: f64) -> Result<GpuPlane> {
    Ok(expand_labels_by(rec, labels, &[distance])?.remove(0))
}

/// `expand_labels` at several distances from one feature transform (an annulus is the
/// difference of two).
pub fn expand_labels_by(
    rec: &mut Recorder,
    labels: &GpuPlane,
    distances: &[f64],
) -> Result<Vec<GpuPlane>> {
    let feature = feature_transform(rec, labels)?;
    let mut out = Vec::with_capacity(distances.len());
    for &distance in distances {
        let d2 = max_d2(distance);
        let p = rec.params(&ExpandParams {
            width: labels.width,
            height: labels.height,
            max_d2_lo: d2 as u32,
            max_d2_hi: (d2 >> 32) as u32,
        });
        let o = rec.storage(labels.len() as u64 * 4);
        rec.dispatch_at(
            "expand",
            "assign",
            &[(0, &p), (1, &labels.buf), (4, &feature.buf), (5, &o)],
            grid_px(labels),
        )?;
        out.push(GpuPlane {
            buf: o,
            ..labels.clone()
        });
    }
    Ok(out)
}
