//! Linear filters on f32 work images: Gaussian blur (scipy/skimage semantics: truncate 4.0,
//! mode 'nearest'), background subtraction, difference of Gaussians, Laplacian of Gaussian,
//! and pixelwise arithmetic.

use super::{GpuPlane, RawKind, grid_px};
use crate::cpu::gaussian::correlation_weights;
use crate::error::{Error, Result};
use crate::gpu::{Recorder, grid_1d};

/// scikit-image's default truncation of the Gaussian kernel, in sigmas.
pub const TRUNCATE: f64 = 4.0;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ConvParams {
    width: u32,
    height: u32,
    radius: u32,
    _p: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct EwParams {
    n: u32,
    _p: u32,
    alpha: f32,
    beta: f32,
}

fn need_f32(img: &GpuPlane, op: &str) -> Result<()> {
    if img.kind != RawKind::F32 {
        return Err(Error::invalid(format!(
            "{op} needs an f32 image; call ops::to_f32 first"
        )));
    }
    Ok(())
}

/// Correlates along one axis (0 = y, 1 = x) with the given weights (offsets -r..=r).
pub fn correlate1d(
    rec: &mut Recorder,
    img: &GpuPlane,
    weights: &[f64],
    axis: usize,
) -> Result<GpuPlane> {
    need_f32(img, "correlate1d")?;
    let r = weights.len() / 2;
    let w32: Vec<f32> = weights.iter().map(|&w| w as f32).collect();
    let wbuf = rec.upload(&w32);
    let p = rec.params(&ConvParams {
        width: img.width,
        height: img.height,
        radius: r as u32,
        _p: 0,
    });
    let out = rec.storage(img.len() as u64 * 4);
    // one invocation per run of RUN outputs (shaders/gaussian.wgsl)
    const RUN: u64 = 32;
    let (entry, invocations) = if axis == 0 {
        (
            "win_y",
            img.width as u64 * (img.height as u64).div_ceil(RUN),
        )
    } else {
        (
            "win_x",
            (img.width as u64).div_ceil(RUN) * img.height as u64,
        )
    };
    rec.dispatch_spec(
        "gaussian",
        entry,
        &[("SPEC_RADIUS", r as u32)],
        &[(0, &p), (1, &img.buf), (2, &wbuf), (3, &out)],
        grid_1d(invocations, crate::gpu::WG),
    )?;
    Ok(GpuPlane {
        buf: out,
        ..img.clone()
    })
}

/// Gaussian filter with per-axis sigma `[sigma_y, sigma_x]` (0 skips an axis) and derivative
/// order per axis: `scipy.ndimage.gaussian_filter(mode='nearest', truncate=4.0)`.
pub fn gaussian(
    rec: &mut Recorder,
    img: &GpuPlane,
    sigma: [f64; 2],
    order: [usize; 2],
) -> Result<GpuPlane> {
    need_f32(img, "gaussian")?;
    for s in sigma {
        if !s.is_finite() || s < 0.0 {
            return Err(Error::invalid(format!(
                "gaussian sigma must be >= 0, got {s}"
            )));
        }
    }
    let mut cur = img.clone();
    for axis in 0..2 {
        if sigma[axis] > 0.0 {
            let w = correlation_weights(sigma[axis], order[axis], TRUNCATE);
            cur = correlate1d(rec, &cur, &w, axis)?;
        }
    }
    Ok(cur)
}

/// `skimage.filters.gaussian(img, sigma, preserve_range=True)` for a 2D image.
pub fn gaussian_blur(rec: &mut Recorder, img: &GpuPlane, sigma: [f64; 2]) -> Result<GpuPlane> {
    gaussian(rec, img, sigma, [0, 0])
}

fn elementwise(
    rec: &mut Recorder,
    entry: &'static str,
    a: &GpuPlane,
    b: &GpuPlane,
    alpha: f32,
    beta: f32,
) -> Result<GpuPlane> {
    need_f32(a, entry)?;
    need_f32(b, entry)?;
    if (a.width, a.height) != (b.width, b.height) {
        return Err(Error::invalid(format!(
            "{entry}: sizes differ ({}x{} vs {}x{})",
            a.width, a.height, b.width, b.height
        )));
    }
    let p = rec.params(&EwParams {
        n: a.len() as u32,
        _p: 0,
        alpha,
        beta,
    });
    let out = rec.storage(a.len() as u64 * 4);
    rec.dispatch(
        "elementwise",
        entry,
        &[&p, &a.buf, &b.buf, &out],
        grid_px(a),
    )?;
    Ok(GpuPlane {
        buf: out,
        ..a.clone()
    })
}

/// `a - b`.
pub fn subtract(rec: &mut Recorder, a: &GpuPlane, b: &GpuPlane) -> Result<GpuPlane> {
    elementwise(rec, "sub", a, b, 1.0, -1.0)
}

/// `max(a - b, 0)`.
pub fn subtract_clamped(rec: &mut Recorder, a: &GpuPlane, b: &GpuPlane) -> Result<GpuPlane> {
    elementwise(rec, "sub_clamp", a, b, 1.0, -1.0)
}

/// `alpha * a + beta * b`.
pub fn axpby(
    rec: &mut Recorder,
    alpha: f32,
    a: &GpuPlane,
    beta: f32,
    b: &GpuPlane,
) -> Result<GpuPlane> {
    elementwise(rec, "axpby", a, b, alpha, beta)
}

/// `a / b` where `b > min_den`, else `fallback`.
pub fn ratio(
    rec: &mut Recorder,
    a: &GpuPlane,
    b: &GpuPlane,
    min_den: f32,
    fallback: f32,
) -> Result<GpuPlane> {
    elementwise(rec, "ratio", a, b, min_den, fallback)
}

fn need_mask(img: &GpuPlane, mask: &GpuPlane, op: &str) -> Result<()> {
    if (mask.width, mask.height) != (img.width, img.height) || mask.kind != RawKind::U32 {
        return Err(Error::invalid(format!(
            "{op}: the mask must be a u32 plane of the same size"
        )));
    }
    Ok(())
}

/// An f32 plane: 0 where `mask` (a u32 plane) is set, 1 elsewhere.
pub fn weight_outside(rec: &mut Recorder, mask: &GpuPlane) -> Result<GpuPlane> {
    if mask.kind != RawKind::U32 {
        return Err(Error::invalid(
            "weight_outside: the mask must be a u32 plane",
        ));
    }
    let p = rec.params(&EwParams {
        n: mask.len() as u32,
        _p: 0,
        alpha: 0.0,
        beta: 0.0,
    });
    let out = rec.storage(mask.len() as u64 * 4);
    rec.dispatch_at(
        "elementwise",
        "weight_outside",
        &[(0, &p), (3, &out), (5, &mask.buf)],
        grid_px(mask),
    )?;
    Ok(GpuPlane {
        buf: out,
        kind: RawKind::F32,
        ..mask.clone()
    })
}

/// `b` where `mask` (a u32 plane) is set, `a` elsewhere.
pub fn select_masked(
    rec: &mut Recorder,
    a: &GpuPlane,
    b: &GpuPlane,
    mask: &GpuPlane,
) -> Result<GpuPlane> {
    need_f32(a, "select_masked")?;
    need_f32(b, "select_masked")?;
    need_mask(a, mask, "select_masked")?;
    need_mask(b, mask, "select_masked")?;
    let p = rec.params(&EwParams {
        n: a.len() as u32,
        _p: 0,
        alpha: 0.0,
        beta: 0.0,
    });
    let out = rec.storage(a.len() as u64 * 4);
    rec.dispatch_at(
        "elementwise",
        "select_masked",
        &[(0, &p), (1, &a.buf), (2, &b.buf), (3, &out), (5, &mask.buf)],
        grid_px(a),
    )?;
    Ok(GpuPlane {
        buf: out,
        ..a.clone()
    })
}

/// The Gaussian background of `img` (sigma `sigma` px) from the pixels outside `mask` only
/// (a normalised convolution: the blur of `img` there over the blur of their weight), so a
/// bright object under the mask does not raise the background around it. `factor` > 1: both
/// are block means `factor` px wide, blurred at `sigma / factor` and the quotient
/// interpolated back (`resample::down_mean`, `up_bilinear`): for a wide, smooth background
/// at a fraction of the cost. Where no outside pixel is within reach (weight under 1e-3), 0.
pub fn gaussian_outside(
    rec: &mut Recorder,
    img: &GpuPlane,
    mask: &GpuPlane,
    sigma: f64,
    factor: u32,
) -> Result<GpuPlane> {
    need_f32(img, "gaussian_outside")?;
    need_mask(img, mask, "gaussian_outside")?;
    let kept = replace_masked(rec, img, mask, 0.0)?;
    let w = weight_outside(rec, mask)?;
    let f = factor.max(1);
    let (kept, w) = if f > 1 {
        (
            super::resample::down_mean(rec, &kept, f)?,
            super::resample::down_mean(rec, &w, f)?,
        )
    } else {
        (kept, w)
    };
    let s = sigma / f as f64;
    let num = gaussian_blur(rec, &kept, [s, s])?;
    let den = gaussian_blur(rec, &w, [s, s])?;
    let q = ratio(rec, &num, &den, 1e-3, 0.0)?;
    if f > 1 {
        super::resample::up_bilinear(rec, &q, img.width, img.height, f)
    } else {
        Ok(q)
    }
}

/// A Gaussian of a large `sigma` on block means `factor` px wide: the blocks' blur at
/// `sigma / factor`, interpolated back (`factor` 1: the plain blur). The blur itself runs on
/// factor² times fewer pixels with factor times fewer taps; the block means and the
/// interpolation are two passes at full size. Its reference is the same composition of the
/// CPU references (property test `gaussian_blur_blocks_matches`).
pub fn gaussian_blur_blocks(
    rec: &mut Recorder,
    img: &GpuPlane,
    sigma: f64,
    factor: u32,
) -> Result<GpuPlane> {
    need_f32(img, "gaussian_blur_blocks")?;
    let f = factor.max(1);
    if f == 1 {
        return gaussian_blur(rec, img, [sigma, sigma]);
    }
    let small = super::resample::down_mean(rec, img, f)?;
    let s = sigma / f as f64;
    let b = gaussian_blur(rec, &small, [s, s])?;
    super::resample::up_bilinear(rec, &b, img.width, img.height, f)
}

/// Gaussian background subtraction: `max(img - gaussian(img, sigma_bg), 0)`.
pub fn background_gaussian(rec: &mut Recorder, img: &GpuPlane, sigma_bg: f64) -> Result<GpuPlane> {
    let bg = gaussian_blur(rec, img, [sigma_bg, sigma_bg])?;
    subtract_clamped(rec, img, &bg)
}

/// Difference of Gaussians `gaussian(img, s1) - gaussian(img, s2)` (s1 < s2 enhances spots).
pub fn difference_of_gaussians(
    rec: &mut Recorder,
    img: &GpuPlane,
    s1: f64,
    s2: f64,
) -> Result<GpuPlane> {
    let a = gaussian_blur(rec, img, [s1, s1])?;
    let b = gaussian_blur(rec, img, [s2, s2])?;
    subtract(rec, &a, &b)
}

/// Scale-normalised Laplacian of Gaussian, sign flipped so bright spots are positive:
/// `-sigma^2 * (d2/dy2 + d2/dx2) gaussian(img, sigma)` (scipy's gaussian_laplace, times -sigma^2).
pub fn laplacian_of_gaussian(rec: &mut Recorder, img: &GpuPlane, sigma: f64) -> Result<GpuPlane> {
    let yy = gaussian(rec, img, [sigma, sigma], [2, 0])?;
    let xx = gaussian(rec, img, [sigma, sigma], [0, 2])?;
    let s2 = -(sigma * sigma) as f32;
    axpby(rec, s2, &yy, s2, &xx)
}

/// Bright-ridge strength at scale `sigma` (px): `sigma^2 * max(-lambda_min, 0)` where
/// lambda_min is the smaller eigenvalue of the Gaussian Hessian. Thin bright lines (retraction
/// fibers) and spots respond; flat background and dark lines do not.
pub fn ridge(rec: &mut Recorder, img: &GpuPlane, sigma: f64) -> Result<GpuPlane> {
    let yy = gaussian(rec, img, [sigma, sigma], [2, 0])?;
    let xx = gaussian(rec, img, [sigma, sigma], [0, 2])?;
    let xy = gaussian(rec, img, [sigma, sigma], [1, 1])?;
    let p = rec.params(&EwParams {
        n: img.len() as u32,
        _p: 0,
        alpha: (sigma * sigma) as f32,
        beta: 0.0,
    });
    let out = rec.storage(img.len() as u64 * 4);
    rec.dispatch_at(
        "elementwise",
        "ridge",
        &[(0, &p), (1, &yy.buf), (2, &xx.buf), (3, &out), (4, &xy.buf)],
        grid_px(img),
    )?;
    Ok(GpuPlane {
        buf: out,
        ..img.clone()
    })
}

/// `value` where `mask` (a u32 plane) is set, `img` elsewhere.
pub fn replace_masked(
    rec: &mut Recorder,
    img: &GpuPlane,
    mask: &GpuPlane,
    value: f32,
) -> Result<GpuPlane> {
    need_f32(img, "replace_masked")?;
    need_mask(img, mask, "replace_masked")?;
    let p = rec.params(&EwParams {
        n: img.len() as u32,
        _p: 0,
        alpha: value,
        beta: 0.0,
    });
    let out = rec.storage(img.len() as u64 * 4);
    rec.dispatch_at(
        "elementwise",
        "replace_masked",
        &[(0, &p), (1, &img.buf), (3, &out), (5, &mask.buf)],
        grid_px(img),
    )?;
    Ok(GpuPlane {
        buf: out,
        ..img.clone()
    })
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LinePrepParams {
    n: u32,
    _p: u32,
    cap: f32,
    scale: f32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LineWalkParams {
    width: u32,
    height: u32,
    dx: i32,
    dy: i32,
    half: i32,
    min_count: u32,
    n_chains: u32,
    first: u32,
}

/// Line support (`shaders/line.wgsl`): per pixel, the largest mean of min(img, cap) / cap
/// (quantised to 1/4096) over the samples of a straight segment of half length `half` px that
/// lie outside `mask`, over the 8 directions of
/// [`line_directions`](crate::cpu::line::line_directions); 0 on the mask, and a direction
/// with at most half its samples outside the mask counts 0. Values lie in [0, 1]: 1 where the
/// whole segment is at least `cap`. A `cap` that is not above 0 (a flat image) gives 0
/// everywhere.
pub fn line_support(
    rec: &mut Recorder,
    img: &GpuPlane,
    mask: &GpuPlane,
    half: u32,
    cap: f64,
) -> Result<GpuPlane> {
    need_f32(img, "line_support")?;
    if mask.kind != RawKind::U32 || (mask.width, mask.height) != (img.width, img.height) {
        return Err(Error::invalid(
            "line_support: the mask must be a u32 plane of the image's size",
        ));
    }
    // sums of up to 2 half + 1 samples of at most 4096 stay exact in the f32 division
    if half > 1000 {
        return Err(Error::invalid(format!(
            "line_support: half length {half} px is above 1000"
        )));
    }
    let (cap, scale, no_count) = if cap.is_finite() && cap > 0.0 {
        let cap = cap as f32;
        (cap, crate::cpu::line::ONE / cap, false)
    } else {
        (1.0, 0.0, true)
    };
    let pp = rec.params(&LinePrepParams {
        n: img.len() as u32,
        _p: 0,
        cap,
        scale,
    });
    let q = rec.storage(img.len() as u64 * 4);
    rec.dispatch_at(
        "line",
        "line_prep",
        &[(0, &pp), (1, &img.buf), (2, &mask.buf), (3, &q)],
        grid_px(img),
    )?;
    let out = rec.storage(img.len() as u64 * 4);
    let (w, h) = (img.width as u64, img.height as u64);
    for (k, (dx, dy, steps)) in crate::cpu::line::line_directions(half)
        .into_iter()
        .enumerate()
    {
        // chains start in the first dy rows and in |dx| columns of every row below
        let n_chains = dy.min(h as i32) as u64 * w
            + (h.saturating_sub(dy as u64)) * (dx.unsigned_abs() as u64).min(w);
        let p = rec.params(&LineWalkParams {
            width: img.width,
            height: img.height,
            dx,
            dy,
            half: steps as i32,
            // with cap 0 no direction may count: 0 everywhere
            min_count: if no_count { u32::MAX } else { steps + 1 },
            n_chains: n_chains as u32,
            first: (k == 0) as u32,
        });
        rec.dispatch_at(
            "line",
            "line_walk",
            &[(4, &p), (5, &q), (6, &out)],
            grid_1d(n_chains, crate::gpu::WG),
        )?;
    }
    Ok(GpuPlane {
        buf: out,
        ..img.clone()
    })
}
