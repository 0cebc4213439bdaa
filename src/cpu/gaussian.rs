//! Reference of `shaders/gaussian.wgsl` in f64: scipy.ndimage.gaussian_filter with
//! mode='nearest' (skimage.filters.gaussian), including derivative orders for the Laplacian.

/// Radius scipy uses: `int(truncate * sigma + 0.5)`.
pub fn radius(sigma: f64, truncate: f64) -> usize {
    (truncate * sigma + 0.5) as usize
}

/// scipy.ndimage._gaussian_kernel1d: weights at offsets -r..=r for derivative `order`.
pub fn kernel1d(sigma: f64, order: usize, radius: usize) -> Vec<f64> {
    let r = radius as i64;
    let s2 = sigma * sigma;
    let xs: Vec<f64> = (-r..=r).map(|x| x as f64).collect();
    let phi: Vec<f64> = xs.iter().map(|x| (-0.5 / s2 * x * x).exp()).collect();
    let sum: f64 = phi.iter().sum();
    let phi: Vec<f64> = phi.iter().map(|p| p / sum).collect();
    if order == 0 {
        return phi;
    }
    // q(x) polynomial coefficients; q' + q * p' with p'(x) = -x / sigma^2 (scipy's operator)
    let mut q = vec![0.0; order + 1];
    q[0] = 1.0;
    for _ in 0..order {
        let mut nq = vec![0.0; order + 1];
        for (j, nqj) in nq.iter_mut().enumerate() {
            // D: derivative, (D q)[j] = (j+1) q[j+1]
            if j < order {
                *nqj += (j + 1) as f64 * q[j + 1];
            }
            // P: multiply by x / -sigma^2, (P q)[j] = q[j-1] / -sigma^2
            if j >= 1 {
                *nqj += q[j - 1] / -s2;
            }
        }
        q = nq;
    }
    xs.iter()
        .zip(&phi)
        .map(|(x, p)| {
            let poly: f64 = q
                .iter()
                .enumerate()
                .map(|(j, c)| c * x.powi(j as i32))
                .sum();
            poly * p
        })
        .collect()
}

/// Weights to correlate with (scipy's gaussian_filter1d reverses the kernel).
pub fn correlation_weights(sigma: f64, order: usize, truncate: f64) -> Vec<f64> {
    let mut w = kernel1d(sigma, order, radius(sigma, truncate));
    w.reverse();
    w
}

/// Correlates along x (`axis = 1`) or y (`axis = 0`) with clamped borders.
pub fn correlate1d(img: &[f64], width: usize, height: usize, w: &[f64], axis: usize) -> Vec<f64> {
    let r = (w.len() / 2) as i64;
    let mut out = vec![0.0; img.len()];
    for y in 0..height as i64 {
        for x in 0..width as i64 {
            let mut acc = 0.0;
            for (k, wk) in w.iter().enumerate() {
                let o = k as i64 - r;
                let (sx, sy) = if axis == 1 {
                    ((x + o).clamp(0, width as i64 - 1), y)
                } else {
                    (x, (y + o).clamp(0, height as i64 - 1))
                };
                acc += wk * img[sy as usize * width + sx as usize];
            }
            out[y as usize * width + x as usize] = acc;
        }
    }
    out
}

/// gaussian_filter(img, (sigma_y, sigma_x), order=(order_y, order_x), mode='nearest',
/// truncate): axis 0 (y) first, then axis 1 (x), as scipy does. sigma 0 skips the axis.
pub fn gaussian(
    img: &[f64],
    width: usize,
    height: usize,
    sigma: [f64; 2],
    order: [usize; 2],
    truncate: f64,
) -> Vec<f64> {
    let mut cur = img.to_vec();
    for axis in 0..2 {
        if sigma[axis] > 0.0 {
            let w = correlation_weights(sigma[axis], order[axis], truncate);
            cur = correlate1d(&cur, width, height, &w, axis);
        }
    }
    cur
}
