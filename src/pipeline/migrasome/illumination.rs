//! The membrane channel's background under the cell bodies: a smooth polynomial surface of
//! degree 5 (21 terms; cubic until stop 25, whose misfit of the plane waves of uneven
//! illumination, block residuals of SD 6 counts on our generator's all-knobs fields, set
//! the body floor five times that high, over dim bodies at SNR 4) fitted
//! robustly to block means of the blurred channel (blocks brighter than the surface by more
//! than one robust SD, then `CLIP` SDs, are cells and are left out, ten rounds), and the robust SD of the
//! background blocks around it. Uneven illumination (±20 % and more) moves the background by
//! as much as a dim cell body rises above it; a rolling ball cannot follow it where cells
//! are larger than the gaps between them, a surface through the gaps can.
//!
//! Host arithmetic on a few thousand block means read back from the GPU; the surface is
//! evaluated on the block grid and interpolated back to full size on the GPU.

/// Blocks brighter than the surface by more than this many robust SDs are not background.
const CLIP: f64 = 2.5;
const ROUNDS: usize = 10;
/// The largest degree of the surface (`cells.background_degree`): all terms u^i v^j with
/// i + j <= degree, at most `TERMS` of them.
pub const MAX_DEGREE: u32 = 7;
const TERMS: usize = (MAX_DEGREE as usize + 1) * (MAX_DEGREE as usize + 2) / 2;

/// How many terms a surface of `degree` has.
fn term_count(degree: u32) -> usize {
    let d = degree.min(MAX_DEGREE) as usize;
    (d + 1) * (d + 2) / 2
}

/// A fitted background: the surface on the block grid, and the SD of the background blocks
/// around it (robust: 1.4826 × the median absolute residual).
#[derive(Clone, Debug)]
pub struct Background {
    pub grid: Vec<f32>,
    pub sd: f64,
}

/// The terms of a surface of `degree` at (u, v); the rest of the array is 0.
fn terms(u: f64, v: f64, degree: u32) -> [f64; TERMS] {
    let mut t = [0.0; TERMS];
    let mut k = 0;
    for d in 0..=degree.min(MAX_DEGREE) as usize {
        for j in 0..=d {
            t[k] = u.powi((d - j) as i32) * v.powi(j as i32);
            k += 1;
        }
    }
    t
}

/// Least squares by the normal equations (Gaussian elimination with partial pivoting); the
/// coordinates are scaled to [-1, 1] so the system is well conditioned.
/// Only the first `n` terms take part; the other coefficients are 0.
fn solve(mut a: [[f64; TERMS]; TERMS], mut b: [f64; TERMS], n: usize) -> Option<[f64; TERMS]> {
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot = a[col];
        for r in col + 1..n {
            let f = a[r][col] / pivot[col];
            for (x, p) in a[r][col..n].iter_mut().zip(&pivot[col..n]) {
                *x -= f * p;
            }
            b[r] -= f * b[col];
        }
    }
    let mut x = [0.0; TERMS];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|c| a[r][c] * x[c]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    Some(x)
}

/// The coefficients fitting `points` (terms, value) best in the least-squares sense.
fn least_squares<'a>(
    points: impl Iterator<Item = (&'a [f64; TERMS], f64)>,
    n: usize,
) -> Option<[f64; TERMS]> {
    let (mut a, mut b) = ([[0.0; TERMS]; TERMS], [0.0; TERMS]);
    for (ti, y) in points {
        for r in 0..n {
            b[r] += ti[r] * y;
            for c in 0..n {
                a[r][c] += ti[r] * ti[c];
            }
        }
    }
    solve(a, b, n)
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let m = v.len() / 2;
    *v.select_nth_unstable_by(m, |a, b| a.total_cmp(b)).1
}

/// Coefficients of a surface through the lower quartile of each of 8 x 8 tiles, tiles more
/// than one robust SD above it (covered by cells) left out in three rounds.
fn start(val: &[f64], t: &[[f64; TERMS]], gw: usize, gh: usize, n: usize) -> [f64; TERMS] {
    const N: usize = 8;
    let mut pts: Vec<([f64; TERMS], f64)> = Vec::new();
    for ty in 0..N {
        for tx in 0..N {
            let (x0, x1) = (
                tx * gw / N,
                ((tx + 1) * gw / N).max(tx * gw / N + 1).min(gw),
            );
            let (y0, y1) = (
                ty * gh / N,
                ((ty + 1) * gh / N).max(ty * gh / N + 1).min(gh),
            );
            let mut v: Vec<f64> = (y0..y1)
                .flat_map(|y| (x0..x1).map(move |x| y * gw + x))
                .filter(|&i| i < val.len() && val[i].is_finite())
                .map(|i| val[i])
                .collect();
            if v.is_empty() {
                continue;
            }
            let k = v.len() / 4;
            let q = *v.select_nth_unstable_by(k, |a, b| a.total_cmp(b)).1;
            let c = ((y0 + y1 - 1) / 2) * gw + (x0 + x1 - 1) / 2;
            pts.push((t[c.min(t.len() - 1)], q));
        }
    }
    let mut coef = [0.0; TERMS];
    coef[0] = median(&mut pts.iter().map(|p| p.1).collect::<Vec<_>>());
    let mut use_pt = vec![true; pts.len()];
    for _ in 0..3 {
        let resid: Vec<f64> = pts
            .iter()
            .map(|(ti, y)| y - ti.iter().zip(&coef).map(|(a, b)| a * b).sum::<f64>())
            .collect();
        let mut r: Vec<f64> = resid.clone();
        let mid = median(&mut r);
        let mut dev: Vec<f64> = resid
            .iter()
            .filter(|&&x| x <= mid)
            .map(|x| mid - x)
            .collect();
        let sd = 1.4826 * median(&mut dev);
        for (u, x) in use_pt.iter_mut().zip(&resid) {
            *u = *x <= mid + sd.max(1e-9);
        }
        let chosen = pts.iter().zip(&use_pt).filter(|(_, u)| **u);
        match least_squares(chosen.map(|((ti, y), _)| (ti, *y)), n) {
            Some(c) => coef = c,
            None => break,
        }
    }
    coef
}

/// Fits the background of `blocks` (`gw` x `gh` block means, row-major) with a surface of
/// `degree` (at most [`MAX_DEGREE`]).
pub fn fit(blocks: &[f32], gw: usize, gh: usize, degree: u32) -> Background {
    let n = term_count(degree);
    let coord = |i: usize, n: usize| {
        if n > 1 {
            2.0 * i as f64 / (n - 1) as f64 - 1.0
        } else {
            0.0
        }
    };
    let t: Vec<[f64; TERMS]> = (0..gw * gh)
        .map(|i| terms(coord(i % gw, gw), coord(i / gw, gh), degree))
        .collect();
    let val: Vec<f64> = blocks.iter().map(|&x| x as f64).collect();
    let mut inlier: Vec<bool> = val.iter().map(|x| x.is_finite()).collect();
    let mut sd = 0.0;
    // start from a surface through the lower quartile of 8 x 8 tiles (where bright cells
    // cover most blocks, a fit through all of them would follow the cells)
    let mut coef = start(&val, &t, gw, gh, n);
    for round in 0..ROUNDS {
        if round > 0 {
            let chosen = t.iter().zip(&val).zip(&inlier).filter(|(_, ok)| **ok);
            match least_squares(chosen.map(|((ti, y), _)| (ti, *y)), n) {
                Some(c) => coef = c,
                None => break,
            }
        }
        let resid: Vec<f64> = t
            .iter()
            .zip(&val)
            .map(|(ti, y)| y - ti.iter().zip(&coef).map(|(a, b)| a * b).sum::<f64>())
            .collect();
        let mut bg: Vec<f64> = resid
            .iter()
            .zip(&inlier)
            .filter(|(_, ok)| **ok)
            .map(|(r, _)| *r)
            .collect();
        let mid = median(&mut bg);
        // the SD from the lower half only: cells are brighter than the background, never
        // darker, so only the lower half is free of them
        let mut dev: Vec<f64> = bg.iter().filter(|&&r| r <= mid).map(|r| mid - r).collect();
        sd = 1.4826 * median(&mut dev);
        // first rounds clip hard (the fit may still lean towards the cells), the last ones
        // at CLIP, readmitting the background blocks the hard rounds left out
        let limit = mid + if round < ROUNDS / 2 { 1.0 } else { CLIP } * sd;
        for ((ok, r), y) in inlier.iter_mut().zip(&resid).zip(&val) {
            *ok = y.is_finite() && *r <= limit && *r >= mid - 4.0 * CLIP * sd;
        }
    }
    let grid = t
        .iter()
        .map(|ti| ti.iter().zip(&coef).map(|(a, b)| a * b).sum::<f64>() as f32)
        .collect();
    Background { grid, sd }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tilted, curved background with large bright "cells" covering 16 % of the blocks and
    /// a little noise: the surface comes back within the noise, the SD is the noise's.
    #[test]
    fn surface_under_large_bright_cells() {
        let (gw, gh) = (64, 48);
        let truth = |x: usize, y: usize| {
            let (u, v) = (x as f64 / 63.0 * 2.0 - 1.0, y as f64 / 47.0 * 2.0 - 1.0);
            200.0 + 30.0 * u - 20.0 * v + 25.0 * u * u - 15.0 * v * v * v
        };
        let mut state = 12345u64;
        let mut noise = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 2.0 * 3.0_f64.sqrt()
        };
        let blocks: Vec<f32> = (0..gw * gh)
            .map(|i| {
                let (x, y) = (i % gw, i / gw);
                let cell = ((x as i64 - 20).pow(2) + (y as i64 - 20).pow(2) < 150)
                    || ((x as i64 - 48).pow(2) + (y as i64 - 30).pow(2) < 250);
                (truth(x, y) + noise() + if cell { 120.0 } else { 0.0 }) as f32
            })
            .collect();
        let bg = fit(&blocks, gw, gh, 5);
        let worst = (0..gw * gh)
            .map(|i| (bg.grid[i] as f64 - truth(i % gw, i / gw)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1.0, "surface off by {worst}");
        // the noise is uniform with SD 1: its MAD is sqrt(3)/2, so the Gaussian-scaled
        // robust SD is 1.4826 * sqrt(3) / 2 = 1.284
        assert!((bg.sd - 1.284).abs() < 0.1, "sd {}", bg.sd);
    }
}
#[cfg(test)]
mod solve_tests {
    use super::*;
    #[test]
    fn exact_polynomial() {
        let (gw, gh) = (20, 10);
        for degree in [3, 5, MAX_DEGREE] {
            let n = term_count(degree);
            let c0: [f64; TERMS] = std::array::from_fn(|k| {
                if k < n {
                    ((k * 7 + 3) % 11) as f64 / 4.0 - 1.0
                } else {
                    0.0
                }
            });
            let mut a = [[0.0; TERMS]; TERMS];
            let mut b = [0.0; TERMS];
            for i in 0..gw * gh {
                let (u, v) = (
                    (i % gw) as f64 / 19.0 * 2.0 - 1.0,
                    (i / gw) as f64 / 9.0 * 2.0 - 1.0,
                );
                let t = terms(u, v, degree);
                let y: f64 = t.iter().zip(&c0).map(|(a, b)| a * b).sum();
                for r in 0..TERMS {
                    b[r] += t[r] * y;
                    for c in 0..TERMS {
                        a[r][c] += t[r] * t[c];
                    }
                }
            }
            let x = solve(a, b, n).unwrap();
            for (p, q) in x.iter().zip(&c0) {
                assert!((p - q).abs() < 1e-8, "degree {degree}: {x:?}");
            }
        }
    }
}
