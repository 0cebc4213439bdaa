//! The GPU runtime: pooled buffers under several threads, readbacks dropped unread, and the
//! steady state (no pipeline, buffer or bind group created once a chain has run once).

use migrascope::gpu::Recorder;
use migrascope::image::{Plane, PlaneData};
use migrascope::ops::{self, filters};
use migrascope::pipeline::particles::{ParticlesConfig, particles_plane};

use crate::harness::{self, Ty, gpus, read_f32};

fn blur_once(gpu: &migrascope::gpu::Gpu, p: &Plane) -> Vec<f32> {
    let mut rec = Recorder::new(gpu);
    let up = ops::upload_plane(&mut rec, p).unwrap();
    let f = ops::to_f32(&mut rec, &up).unwrap();
    let g = filters::gaussian_blur(&mut rec, &f, [1.5, 1.5]).unwrap();
    drop(up);
    drop(f);
    rec.submit();
    read_f32(gpu, &g)
}

/// Regression: a buffer dropped by one thread before its recording was submitted went back
/// to the pool, another thread wrote it with `queue.write_buffer`, and that write landed
/// before the first thread's commands (pending writes flush at anyone's next submit).
#[test]
fn pool_is_safe_across_threads_before_submit() {
    for (b, gpu) in gpus() {
        let planes: Vec<Plane> = (0..4)
            .map(|i| harness::plane(Ty::U16, 97, 61, i + 1, 4000))
            .collect();
        let want: Vec<Vec<f32>> = planes.iter().map(|p| blur_once(gpu, p)).collect();
        std::thread::scope(|s| {
            for (p, w) in planes.iter().zip(&want) {
                s.spawn(move || {
                    for _ in 0..15 {
                        assert!(
                            blur_once(gpu, p) == *w,
                            "{b:?}: result changed under concurrency"
                        );
                    }
                });
            }
        });
    }
}

/// Regression: a readback dropped unread returned a still-mapped staging buffer to the pool
/// ("Error occurred when trying to async map a buffer" on the next use).
#[test]
fn readback_dropped_unread_is_recycled() {
    for (b, gpu) in gpus() {
        for _ in 0..3 {
            let mut rec = Recorder::new(gpu);
            let buf = rec.upload(&[1u32, 2, 3, 4]);
            let rb = rec.readback(&buf, 0, 16);
            rec.submit();
            drop(rb);
        }
        let mut rec = Recorder::new(gpu);
        let buf = rec.upload(&[5u32, 6, 7, 8]);
        let rb = rec.readback(&buf, 0, 16);
        rec.submit();
        assert_eq!(rb.wait_as::<u32>(gpu).unwrap(), vec![5, 6, 7, 8], "{b:?}");
    }
}

/// A readback dropped before its recorder is submitted has no map to abort: dropping it (and
/// the recorder) leaves the device without a recorded error, and the next readback works.
#[test]
fn readback_dropped_before_submit_leaves_the_device_clean() {
    for (b, gpu) in gpus() {
        {
            let mut rec = Recorder::new(gpu);
            let buf = rec.upload(&[1u32, 2, 3, 4]);
            let rb = rec.readback(&buf, 0, 16);
            drop(rb);
            drop(rec);
        }
        {
            let mut rec = Recorder::new(gpu);
            let buf = rec.upload(&[1u32, 2, 3, 4]);
            let rb = rec.readback(&buf, 0, 16);
            drop(rb);
            rec.submit();
        }
        gpu.check().unwrap_or_else(|e| panic!("{b:?}: {e}"));
        let mut rec = Recorder::new(gpu);
        let buf = rec.upload(&[5u32, 6, 7, 8]);
        let rb = rec.readback(&buf, 0, 16);
        rec.submit();
        assert_eq!(rb.wait_as::<u32>(gpu).unwrap(), vec![5, 6, 7, 8], "{b:?}");
    }
}

/// Steady state: running the same chain again creates no pipeline, no buffer and no bind
/// group (pooled buffers come back in the same order; bind groups are cached).
#[test]
fn steady_state_creates_nothing() {
    let p = harness::plane(Ty::U16, 300, 200, 7, 3000);
    let planes = [
        p.clone(),
        Plane::new(300, 200, PlaneData::U8(vec![3; 60_000])).unwrap(),
    ];
    let cfg = ParticlesConfig {
        sigma: 1.5,
        min_area: 2,
        ..Default::default()
    };
    for (b, _) in gpus() {
        // a context of its own: other tests share the harness's contexts concurrently
        let gpu = &migrascope::gpu::Gpu::new(&migrascope::gpu::GpuOptions {
            device: None,
            backend: Some(*b),
        })
        .unwrap();
        // warm up twice: the first run may grow the record capacity
        for _ in 0..2 {
            particles_plane(gpu, &planes, &cfg, true, 4096).unwrap();
        }
        let before = gpu.creation_counts();
        for _ in 0..3 {
            particles_plane(gpu, &planes, &cfg, true, 4096).unwrap();
        }
        assert_eq!(
            gpu.creation_counts(),
            before,
            "{b:?}: (pipelines, buffers, bind groups) grew"
        );
    }
}
