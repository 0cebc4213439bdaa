//! Mirror of `shaders/moments.wgsl`: per-label count, sum and sum of squares in fixed point,
//! optionally within per-label bounds.

use super::raw::{key_f32, value_f32};
use crate::image::PlaneData;

/// Fixed-point exponent from the channel's `[min, max]` keys: |v| * 2^e < 2^21.
pub fn exponent(data: &PlaneData, range: [u32; 2]) -> i32 {
    let signed = matches!(
        data,
        PlaneData::I8(_) | PlaneData::I16(_) | PlaneData::I32(_)
    );
    let a = match data {
        PlaneData::F32(_) | PlaneData::F64(_) => {
            key_f32(range[0]).abs().max(key_f32(range[1]).abs())
        }
        _ => {
            let val = |k: u32| {
                if signed {
                    ((k ^ 0x8000_0000) as i32) as f32
                } else {
                    k as f32
                }
            };
            val(range[0]).abs().max(val(range[1]).abs())
        }
    };
    let ea = ((a.to_bits() >> 23) & 0xff) as i32 - 126;
    (20 - ea).clamp(-126, 126)
}

/// One record: n, sum, sum of squares (of v * 2^e truncated toward zero).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moments {
    pub n: u32,
    pub sum: i64,
    pub sumsq: u64,
}

pub fn moments(
    labels: &[u32],
    data: &PlaneData,
    range: [u32; 2],
    capacity: usize,
    bounds: Option<&[f32]>,
) -> Vec<Moments> {
    let e = exponent(data, range);
    let scale = 2f32.powi(e);
    let mut out = vec![Moments::default(); capacity];
    for (i, &l) in labels.iter().enumerate() {
        if l == 0 || l as usize > capacity {
            continue;
        }
        let v = value_f32(data, i);
        if v.is_nan() {
            continue;
        }
        if let Some(b) = bounds {
            let (lo, hi) = (b[2 * (l as usize - 1)], b[2 * (l as usize - 1) + 1]);
            if v < lo || v > hi {
                continue;
            }
        }
        let x = (v * scale).trunc();
        let ax = x.abs() as u64;
        let r = &mut out[l as usize - 1];
        r.n += 1;
        r.sum = r
            .sum
            .wrapping_add(if x < 0.0 { -(ax as i64) } else { ax as i64 });
        r.sumsq = r.sumsq.wrapping_add(ax * ax);
    }
    out
}

/// Mirror of the `bounds` kernel with k = 0: each record's mean in value units (f32, the
/// kernel's arithmetic), `None` when empty.
pub fn means(records: &[Moments], e: i32) -> Vec<Option<f32>> {
    let scale = 2f32.powi(-e);
    records
        .iter()
        .map(|r| {
            (r.n > 0).then(|| {
                let s = r.sum as u64;
                let (lo, hi) = (s as u32, (s >> 32) as u32);
                let sum = if hi & 0x8000_0000 != 0 {
                    let v = s.wrapping_neg();
                    -((((v >> 32) as u32) as f32) * 4294967296.0 + (v as u32) as f32)
                } else {
                    (hi as f32) * 4294967296.0 + lo as f32
                };
                sum / r.n as f32 * scale
            })
        })
        .collect()
}

/// Mirror of the `low_contrast` kernel: 1 where `inside - ring < fraction * inside`, both
/// known; else 0.
pub fn low_contrast(inside: &[Option<f32>], ring: &[Option<f32>], fraction: f32) -> Vec<u32> {
    inside
        .iter()
        .zip(ring)
        .map(|(a, b)| match (a, b) {
            (Some(a), Some(b)) => ((a - b) < fraction * a) as u32,
            _ => 0,
        })
        .collect()
}
