//! GPU timing per kernel with timestamp queries (when the adapter has them): every dispatch of
//! a profiled recording is bracketed by two timestamps; after the submission completes, the
//! durations are summed per `shader::entry`. Off unless `Gpu::enable_profiling` was called.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

use super::{Buf, Readback};

/// Timestamp pairs per query set (dispatches timed per recording).
pub(crate) const MAX_TIMED: u32 = 2048;

/// Time spent in one kernel.
#[derive(Clone, Debug, Default, Serialize)]
pub struct KernelTime {
    pub kernel: String,
    pub dispatches: u64,
    pub total_ms: f64,
}

#[derive(Default)]
pub(crate) struct Profiler {
    pub(crate) sets: Mutex<Vec<wgpu::QuerySet>>,
    pending: Mutex<Vec<(Vec<&'static str>, Readback, Buf)>>,
    totals: Mutex<HashMap<&'static str, (u64, f64)>>,
    pub(crate) period_ns: f64,
}

impl Profiler {
    pub(crate) fn new(period_ns: f32) -> Self {
        Profiler {
            period_ns: period_ns as f64,
            ..Default::default()
        }
    }

    pub(crate) fn push(&self, names: Vec<&'static str>, rb: Readback, resolve: Buf) {
        self.pending.lock().unwrap().push((names, rb, resolve));
    }

    /// Waits for every profiled submission and returns the totals, slowest first.
    pub(crate) fn report(&self, gpu: &super::Gpu) -> Vec<KernelTime> {
        let pending: Vec<_> = std::mem::take(&mut *self.pending.lock().unwrap());
        let mut totals = self.totals.lock().unwrap();
        for (names, rb, _resolve) in pending {
            let Ok(ts) = rb.wait_as::<u64>(gpu) else {
                continue;
            };
            for (k, name) in names.iter().enumerate() {
                let (a, b) = (ts[2 * k], ts[2 * k + 1]);
                let ms = b.saturating_sub(a) as f64 * self.period_ns / 1e6;
                let e = totals.entry(name).or_default();
                e.0 += 1;
                e.1 += ms;
            }
        }
        let mut v: Vec<KernelTime> = totals
            .iter()
            .map(|(k, (n, ms))| KernelTime {
                kernel: k.to_string(),
                dispatches: *n,
                total_ms: *ms,
            })
            .collect();
        v.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
        v
    }
}
