//! `expand_labels` on the GPU: the exact Euclidean feature transform of scipy (integer
//! arithmetic, same tie rules), then each background pixel within `distance` takes the label
//! of its nearest labelled pixel. Builds cell territories from nuclei.

use super::{GpuPlane, RawKind, grid_px};
use crate::cpu::expand::max_d2;
use crate::error::{Error, Result};
use crate::gpu::{Buf, Recorder, WG, grid_1d};

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
        out.push(pass_plane(
            rec,
            labels,
            "assign",
            &[(0, &p), (1, &labels.buf), (4, &feature.buf)],
        )?);
    }
    Ok(out)
}

/// One shell of [`expand_shells`]: the pixels farther than `from` and at most `to` from
/// their nearest labelled pixel, valued with its label or with 1 (`as_one`). With `as_one`
/// and a `to` of 2^31 or more (infinite), also the pixels that no label reaches at all.
#[derive(Clone, Copy, Debug)]
pub struct Shell {
    pub from: f64,
    pub to: f64,
    pub as_one: bool,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ShellParams {
    width: u32,
    height: u32,
    from_lo: u32,
    from_hi: u32,
    to_lo: u32,
    to_hi: u32,
    as_one: u32,
    _p: u32,
}

/// Shells around the labels of `labels` from one feature transform, each 0 where `exclude`
/// (a u32 plane) is set. A shell equals `expand_labels(to)` with `expand_labels(from)` and
/// `exclude` taken out (for `as_one`, 1 where that is nonzero, and with an infinite `to`
/// also where no label exists): an annulus in one pass instead of two expansions and
/// two mask passes (cpu::expand::shell is the reference).
pub fn expand_shells(
    rec: &mut Recorder,
    labels: &GpuPlane,
    shells: &[Shell],
    exclude: &GpuPlane,
) -> Result<Vec<GpuPlane>> {
    if (exclude.width, exclude.height) != (labels.width, labels.height)
        || exclude.kind != RawKind::U32
    {
        return Err(Error::invalid(
            "expand_shells: the exclusion mask must be a u32 plane of the labels' size",
        ));
    }
    let feature = feature_transform(rec, labels)?;
    let mut out = Vec::with_capacity(shells.len());
    for s in shells {
        let from = max_d2(s.from);
        let to = max_d2(s.to);
        let p = rec.params(&ShellParams {
            width: labels.width,
            height: labels.height,
            from_lo: from as u32,
            from_hi: (from >> 32) as u32,
            to_lo: to as u32,
            to_hi: (to >> 32) as u32,
            as_one: s.as_one as u32,
            _p: 0,
        });
        out.push(pass_plane(
            rec,
            labels,
            "shell",
            &[
                (1, &labels.buf),
                (4, &feature.buf),
                (6, &p),
                (7, &exclude.buf),
            ],
        )?);
    }
    Ok(out)
}

/// One per-pixel pass of `expand.wgsl` (`assign`, `shell`) writing a new u32 plane the size
/// of `labels` at binding 5.
fn pass_plane(
    rec: &mut Recorder,
    labels: &GpuPlane,
    entry: &'static str,
    bufs: &[(u32, &Buf)],
) -> Result<GpuPlane> {
    let o = rec.storage(labels.len() as u64 * 4);
    let mut bind = bufs.to_vec();
    bind.push((5, &o));
    rec.dispatch_at("expand", entry, &bind, grid_px(labels))?;
    Ok(GpuPlane {
        buf: o,
        ..labels.clone()
    })
}
