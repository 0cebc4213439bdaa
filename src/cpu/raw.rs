//! Mirror of `shaders/common/raw.wgsl`: order-preserving keys and f32 values of raw samples.

use crate::image::PlaneData;

/// Order-preserving key of a float (mirrors `f32_key`).
pub fn f32_key(f: f32) -> u32 {
    let b = f.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// Inverse of [`f32_key`].
pub fn key_f32(k: u32) -> f32 {
    if k & 0x8000_0000 != 0 {
        f32::from_bits(k & 0x7fff_ffff)
    } else {
        f32::from_bits(!k)
    }
}

/// Key of sample `i` (mirrors `raw_key(raw_bits(..))`); `None` for NaN.
pub fn key(data: &PlaneData, i: usize) -> Option<u32> {
    Some(match data {
        PlaneData::U8(v) => v[i] as u32,
        PlaneData::U16(v) => v[i] as u32,
        PlaneData::U32(v) => v[i],
        PlaneData::I8(v) => (v[i] as i32 as u32) ^ 0x8000_0000,
        PlaneData::I16(v) => (v[i] as i32 as u32) ^ 0x8000_0000,
        PlaneData::I32(v) => (v[i] as u32) ^ 0x8000_0000,
        PlaneData::F32(v) => {
            if v[i].is_nan() {
                return None;
            }
            f32_key(v[i])
        }
        PlaneData::F64(v) => {
            let f = v[i] as f32;
            if f.is_nan() {
                return None;
            }
            f32_key(f)
        }
    })
}

/// Sample `i` as the GPU's f32 (mirrors `raw_f32`).
pub fn value_f32(data: &PlaneData, i: usize) -> f32 {
    match data {
        PlaneData::U8(v) => v[i] as f32,
        PlaneData::U16(v) => v[i] as f32,
        PlaneData::U32(v) => v[i] as f32,
        PlaneData::I8(v) => v[i] as f32,
        PlaneData::I16(v) => v[i] as f32,
        PlaneData::I32(v) => v[i] as f32,
        PlaneData::F32(v) => v[i],
        PlaneData::F64(v) => v[i] as f32,
    }
}

/// Value whose key is `k` for samples of the same type as `data` (inverse of [`key`]).
pub fn key_value(data: &PlaneData, k: u32) -> f64 {
    match data {
        PlaneData::U8(_) | PlaneData::U16(_) | PlaneData::U32(_) => k as f64,
        PlaneData::I8(_) | PlaneData::I16(_) | PlaneData::I32(_) => (k ^ 0x8000_0000) as i32 as f64,
        PlaneData::F32(_) | PlaneData::F64(_) => key_f32(k) as f64,
    }
}
