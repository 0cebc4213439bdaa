//! Mirror of `shaders/reduce.wgsl`: min and max keys, NaN skipped.

use super::raw::key;
use crate::image::PlaneData;

/// `[min_key, max_key]`; `[u32::MAX, 0]` when every sample is NaN.
pub fn minmax(data: &PlaneData) -> [u32; 2] {
    let mut out = [u32::MAX, 0];
    for i in 0..data.len() {
        if let Some(k) = key(data, i) {
            out[0] = out[0].min(k);
            out[1] = out[1].max(k);
        }
    }
    out
}
