//! Each GPU op on one 2048 x 2048 plane, timed end to end (record, submit, wait) with
//! criterion, on the adapter `MIGRASCOPE_BACKEND` / `MIGRASCOPE_DEVICE` pick (lavapipe here).
//! The input is frame 0, channel 0 of a seeded movie of `pipeline::movie` (the peers' model),
//! so thresholds and object counts are those of the peer pipelines' steps.
//!   cargo bench --bench kernels
//! Peer timings of the same steps: `benches/peers/{skimage,cv2}_pipeline.py` (their `ms`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use migrascope::gpu::{Gpu, GpuOptions, Recorder};
use migrascope::image::Plane;
use migrascope::io::{OpenOptions, PlaneIndex, StackReader};
use migrascope::ops::label::{KeepRule, label_components};
use migrascope::ops::measure::label_statistics;
use migrascope::ops::threshold::{Method, compute, record_histogram, threshold_above};
use migrascope::ops::{expand, filters, morphology, peaks, to_f32, upload_plane};

fn frame() -> (Plane, Plane) {
    let dir = std::env::temp_dir().join("migrascope-bench-kernels");
    let path = dir.join("movie.tif");
    if !path.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        migrascope::pipeline::movie::make_movie(&path, 42, 1, 2048).unwrap();
    }
    let r = StackReader::open(&path, &OpenOptions::default()).unwrap();
    (
        r.read_plane(PlaneIndex { t: 0, c: 0, z: 0 }).unwrap(),
        r.read_plane(PlaneIndex { t: 0, c: 1, z: 0 }).unwrap(),
    )
}

/// Runs `f` on a fresh recorder and waits for the GPU.
fn timed(gpu: &Gpu, f: &mut dyn FnMut(&mut Recorder)) {
    let mut rec = Recorder::new(gpu);
    f(&mut rec);
    let probe = rec.storage(4);
    let rb = rec.readback(&probe, 0, 4);
    rec.submit();
    black_box(rb.wait(gpu).unwrap());
}

fn kernels(c: &mut Criterion) {
    let gpu =
        Gpu::new(&GpuOptions::default()).expect("a GPU adapter (lavapipe: mesa-vulkan-drivers)");
    eprintln!(
        "adapter: {} ({})",
        gpu.adapter().name,
        gpu.adapter().backend
    );
    let (ch0, ch1) = frame();
    // inputs that stay on the GPU across iterations
    let mut rec = Recorder::new(&gpu);
    let raw0 = upload_plane(&mut rec, &ch0).unwrap();
    let raw1 = upload_plane(&mut rec, &ch1).unwrap();
    let f = to_f32(&mut rec, &raw0).unwrap();
    let blur = filters::gaussian_blur(&mut rec, &f, [1.5, 1.5]).unwrap();
    let bg = filters::gaussian_blur(&mut rec, &f, [20.0, 20.0]).unwrap();
    let dog = filters::subtract(&mut rec, &blur, &bg).unwrap();
    let pending = record_histogram(&mut rec, &dog).unwrap();
    rec.submit();
    let thr = compute(Method::Otsu, &pending.finish(&gpu).unwrap());
    let mut rec = Recorder::new(&gpu);
    let mask = threshold_above(&mut rec, &dog, thr).unwrap();
    let labels = label_components(&mut rec, &mask, 8).unwrap();
    rec.submit();

    let mut g = c.benchmark_group("kernels_2048");
    g.sample_size(10);
    g.bench_function("upload_u16_and_convert", |b| {
        b.iter(|| {
            timed(&gpu, &mut |rec| {
                let r = upload_plane(rec, &ch0).unwrap();
                black_box(to_f32(rec, &r).unwrap());
            })
        })
    });
    g.bench_function("gaussian_sigma_1.5", |b| {
        b.iter(|| {
            timed(&gpu, &mut |rec| {
                drop(filters::gaussian_blur(rec, &f, [1.5, 1.5]).unwrap())
            })
        })
    });
    g.bench_function("gaussian_sigma_20", |b| {
        b.iter(|| {
            timed(&gpu, &mut |rec| {
                drop(filters::gaussian_blur(rec, &f, [20.0, 20.0]).unwrap())
            })
        })
    });
    g.bench_function("subtract", |b| {
        b.iter(|| {
            timed(&gpu, &mut |rec| {
                drop(filters::subtract(rec, &blur, &bg).unwrap())
            })
        })
    });
    g.bench_function("otsu_minmax_histogram_readback", |b| {
        b.iter(|| {
            let mut rec = Recorder::new(&gpu);
            let p = record_histogram(&mut rec, &dog).unwrap();
            rec.submit();
            black_box(compute(Method::Otsu, &p.finish(&gpu).unwrap()));
        })
    });
    g.bench_function("threshold_mask", |b| {
        b.iter(|| {
            timed(&gpu, &mut |rec| {
                drop(threshold_above(rec, &dog, thr).unwrap())
            })
        })
    });
    g.bench_function("label_8_connected", |b| {
        b.iter(|| {
            timed(&gpu, &mut |rec| {
                drop(label_components(rec, &mask, 8).unwrap())
            })
        })
    });
    g.bench_function("label_statistics_2_channels_readback", |b| {
        b.iter(|| {
            black_box(
                label_statistics(&gpu, &labels, &[&raw0, &raw1], KeepRule::default(), 4096)
                    .unwrap(),
            );
        })
    });
    g.bench_function("expand_labels_20px", |b| {
        b.iter(|| {
            timed(&gpu, &mut |rec| {
                drop(expand::expand_labels(rec, &labels.plane, 20.0).unwrap())
            })
        })
    });
    g.bench_function("white_tophat_disk_5", |b| {
        b.iter(|| {
            timed(&gpu, &mut |rec| {
                drop(morphology::white_tophat(rec, &blur, 5).unwrap())
            })
        })
    });
    g.bench_function("peak_local_max_d3", |b| {
        b.iter(|| {
            black_box(
                peaks::peak_local_max(
                    &gpu,
                    &dog,
                    peaks::PeakParams {
                        min_distance: 3,
                        threshold_abs: Some(thr as f32),
                        ..Default::default()
                    },
                )
                .unwrap(),
            );
        })
    });
    g.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
