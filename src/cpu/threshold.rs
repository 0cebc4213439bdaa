//! Mirror of `shaders/threshold.wgsl`: mask = key(value) > threshold key (`None`: all
//! values), NaN never in.

use super::raw::key;
use crate::image::PlaneData;

pub fn above(data: &PlaneData, thr_key: Option<u32>) -> Vec<u32> {
    (0..data.len())
        .map(|i| key(data, i).is_some_and(|k| thr_key.is_none_or(|t| k > t)) as u32)
        .collect()
}
