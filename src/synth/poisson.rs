//! A fast exact Poisson sampler for per-pixel shot noise, where λ changes at every pixel:
//! Hörmann's PTRS transformed rejection for λ ≥ 10 (as in NumPy), Knuth's product method
//! below. No per-λ tables, so setting up a new λ costs one square root.
//!
//! Not here: anything about images (see `render`).

use std::sync::OnceLock;

use rand::RngExt;
use rand::rngs::ChaCha8Rng;

/// ln(k!) from a table below 1024, Stirling's series above.
fn ln_factorial(k: u64) -> f64 {
    static TABLE: OnceLock<Vec<f64>> = OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut v = vec![0.0; 1024];
        for i in 1..v.len() {
            v[i] = v[i - 1] + (i as f64).ln();
        }
        v
    });
    if let Some(&v) = t.get(k as usize) {
        return v;
    }
    let x = k as f64 + 1.0;
    (x - 0.5) * x.ln() - x + 0.5 * (std::f64::consts::TAU).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x * x * x)
}

/// One Poisson(λ) draw (0 for λ ≤ 0 or not finite).
pub fn sample(rng: &mut ChaCha8Rng, lam: f64) -> f64 {
    if !(lam > 0.0 && lam.is_finite()) {
        return 0.0;
    }
    if lam < 10.0 {
        let limit = (-lam).exp();
        let mut k = 0.0;
        let mut prod: f64 = rng.random();
        while prod > limit {
            k += 1.0;
            prod *= rng.random::<f64>();
        }
        return k;
    }
    let slam = lam.sqrt();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = rng.random::<f64>() - 0.5;
        let v: f64 = rng.random();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lam + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        let lhs = v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln();
        if lhs <= -lam + k * lam.ln() - ln_factorial(k as u64) {
            return k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ln_factorial_is_continuous_across_the_table_edge() {
        let exact: f64 = (1..=1500u64).map(|i| (i as f64).ln()).sum();
        assert!((ln_factorial(1500) - exact).abs() < 1e-8);
        assert_eq!(ln_factorial(0), 0.0);
        assert!((ln_factorial(5) - 120f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn moments_match_poisson() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for lam in [0.5, 3.0, 9.9, 10.0, 37.5, 100.0, 2500.0] {
            let n = 200_000;
            let xs: Vec<f64> = (0..n).map(|_| sample(&mut rng, lam)).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let skew =
                xs.iter().map(|x| (x - mean).powi(3)).sum::<f64>() / n as f64 / var.powf(1.5);
            assert!(
                (mean - lam).abs() < 5.0 * (lam / n as f64).sqrt(),
                "λ={lam} mean {mean}"
            );
            assert!((var / lam - 1.0).abs() < 0.02, "λ={lam} var {var}");
            assert!(
                (skew - 1.0 / lam.sqrt()).abs() < 0.05,
                "λ={lam} skew {skew}"
            );
            assert!(xs.iter().all(|&x| x >= 0.0 && x.fract() == 0.0));
        }
    }
}
