//! Mirror of `shaders/histogram.wgsl`.

use super::raw::{key, key_f32, value_f32};
use crate::image::PlaneData;

/// One bin per key from `range[0]`; keys past `nbins` are dropped (as the kernel does).
pub fn hist_int(data: &PlaneData, range: [u32; 2], nbins: usize) -> Vec<u32> {
    let mut h = vec![0u32; nbins];
    for i in 0..data.len() {
        if let Some(k) = key(data, i) {
            let b = k.wrapping_sub(range[0]) as usize;
            if b < nbins {
                h[b] += 1;
            }
        }
    }
    h
}

/// The float bin of `v`: the largest k < 256 with `v - lo >= k * step` (f32 arithmetic).
pub fn float_bin(v: f32, lo: f32, step: f32) -> usize {
    let d = v - lo;
    let (mut a, mut b) = (0u32, 256u32);
    while b - a > 1 {
        let m = (a + b) / 2;
        if d >= m as f32 * step {
            a = m;
        } else {
            b = m;
        }
    }
    a as usize
}

/// 256 bins over the value range given as keys.
pub fn hist_float(data: &PlaneData, range: [u32; 2]) -> Vec<u32> {
    let lo = key_f32(range[0]);
    let hi = key_f32(range[1]);
    let step = (hi - lo) * 0.003_906_25;
    let mut h = vec![0u32; 256];
    for i in 0..data.len() {
        if key(data, i).is_some() {
            h[float_bin(value_f32(data, i), lo, step)] += 1;
        }
    }
    h
}
