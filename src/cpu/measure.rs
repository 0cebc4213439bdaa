//! Mirror of `shaders/measure.wgsl`: per-label geometry and per-channel sums, min and max,
//! in the same record layout the kernel writes.

use super::raw::{key, key_f32};
use crate::image::PlaneData;

/// Geometry record per label: area, min x, min y, max x, max y, sum x, sum y.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub area: u32,
    pub min_x: u32,
    pub min_y: u32,
    pub max_x: u32,
    pub max_y: u32,
    pub sum_x: u64,
    pub sum_y: u64,
}

impl Default for Geometry {
    fn default() -> Self {
        Geometry {
            area: 0,
            min_x: u32::MAX,
            min_y: u32::MAX,
            max_x: 0,
            max_y: 0,
            sum_x: 0,
            sum_y: 0,
        }
    }
}

/// Channel record per label: 64-bit two's complement sum (fixed point for floats), min and
/// max keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelStats {
    pub sum: i64,
    pub min_key: u32,
    pub max_key: u32,
}

impl Default for ChannelStats {
    fn default() -> Self {
        ChannelStats {
            sum: 0,
            min_key: u32::MAX,
            max_key: 0,
        }
    }
}

fn bit_length(x: u32) -> i32 {
    32 - x.leading_zeros() as i32
}

/// Fixed-point exponent of float sums, from the channel's [min, max] keys and pixel count:
/// every |v| * 2^e < 2^(61 - bits(n)), so a sum of n of them stays under 2^61.
pub fn fixed_exponent(range: [u32; 2], n: u32) -> i32 {
    let a = key_f32(range[0]).abs().max(key_f32(range[1]).abs());
    let ea = ((a.to_bits() >> 23) & 0xff) as i32 - 126;
    (61 - ea - bit_length(n)).clamp(-126, 126)
}

/// `v * 2^e` truncated toward zero, as the kernel's `wide_from_f32_int(ldexp(v, e))`.
pub fn fixed(v: f32, e: i32) -> i64 {
    let x = (v as f64) * 2f64.powi(e);
    // the kernel computes in f32; v * 2^e is exact in f32 whenever it is a normal number
    x.trunc() as i64
}

pub fn geometry(labels: &[u32], width: usize, capacity: usize) -> (Vec<Geometry>, u32) {
    let mut g = vec![Geometry::default(); capacity];
    let mut over = 0;
    for (i, &l) in labels.iter().enumerate() {
        if l == 0 {
            continue;
        }
        if l as usize > capacity {
            over = over.max(l);
            continue;
        }
        let (x, y) = ((i % width) as u32, (i / width) as u32);
        let r = &mut g[l as usize - 1];
        r.area += 1;
        r.min_x = r.min_x.min(x);
        r.min_y = r.min_y.min(y);
        r.max_x = r.max_x.max(x);
        r.max_y = r.max_y.max(y);
        r.sum_x += x as u64;
        r.sum_y += y as u64;
    }
    (g, over)
}

pub fn channel(
    labels: &[u32],
    data: &PlaneData,
    range: [u32; 2],
    capacity: usize,
) -> Vec<ChannelStats> {
    let mut c = vec![ChannelStats::default(); capacity];
    let e = fixed_exponent(range, labels.len() as u32);
    for (i, &l) in labels.iter().enumerate() {
        if l == 0 || l as usize > capacity {
            continue;
        }
        let Some(k) = key(data, i) else { continue };
        let v: i64 = match data {
            PlaneData::U8(v) => v[i] as i64,
            PlaneData::U16(v) => v[i] as i64,
            PlaneData::U32(v) => v[i] as i64,
            PlaneData::I8(v) => v[i] as i64,
            PlaneData::I16(v) => v[i] as i64,
            PlaneData::I32(v) => v[i] as i64,
            PlaneData::F32(v) => fixed(v[i], e),
            PlaneData::F64(v) => fixed(v[i] as f32, e),
        };
        let r = &mut c[l as usize - 1];
        r.sum = r.sum.wrapping_add(v);
        r.min_key = r.min_key.min(k);
        r.max_key = r.max_key.max(k);
    }
    c
}
