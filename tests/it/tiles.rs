//! Tiled and untiled `particles` give identical labels and statistics (frames too large for
//! one binding are cut into tiles; here small tiles are forced on small frames).

use migrascope::image::{Plane, PlaneData};
use migrascope::io::{OpenOptions, PlaneIndex, StackReader};
use migrascope::ops::threshold::Method;
use migrascope::pipeline::particles::{ParticlesConfig, particles_plane};
use migrascope::pipeline::tiled::particles_tiled;
use proptest::prelude::*;

use crate::harness::{self, Ty, gpus};

fn same(
    name: &str,
    planes: &[Plane],
    cfg: &ParticlesConfig,
    tile: usize,
) -> std::result::Result<(), TestCaseError> {
    for (b, gpu) in gpus() {
        let whole = particles_plane(gpu, planes, cfg, true, 64).unwrap();
        let tiled = particles_tiled(gpu, planes, cfg, true, tile).unwrap();
        prop_assert_eq!(
            whole.threshold,
            tiled.threshold,
            "{:?} {} threshold",
            b,
            name
        );
        prop_assert_eq!(
            whole.objects.len(),
            tiled.objects.len(),
            "{:?} {} count",
            b,
            name
        );
        prop_assert!(
            whole.objects == tiled.objects,
            "{b:?} {name}: statistics differ"
        );
        prop_assert!(whole.labels == tiled.labels, "{b:?} {name}: labels differ");
    }
    Ok(())
}

/// A smooth random image: blobs of a few px on a gradient, so objects cross tile seams.
fn blobs(w: usize, h: usize, seed: u64) -> Plane {
    let noise = harness::plane(Ty::U16, w, h, seed, 50);
    let PlaneData::U16(n) = noise.data else {
        unreachable!()
    };
    let mut v = vec![0u16; w * h];
    let mut s = seed | 1;
    let centers: Vec<(f64, f64, f64)> = (0..(w * h / 60).max(3))
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let a = (s >> 33) as f64 / (1u64 << 31) as f64;
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let b = (s >> 33) as f64 / (1u64 << 31) as f64;
            (
                a * w as f64,
                b * h as f64,
                1.0 + 4.0 * ((a * 7.0 + b * 3.0) % 1.0),
            )
        })
        .collect();
    for y in 0..h {
        for x in 0..w {
            let mut f = 200.0 + x as f64 * 0.5 + n[y * w + x] as f64 / 4000.0;
            for &(cx, cy, r) in &centers {
                let d2 = (x as f64 - cx).powi(2) + (y as f64 - cy).powi(2);
                f += 900.0 * (-d2 / (2.0 * r * r)).exp();
            }
            v[y * w + x] = f.min(65535.0) as u16;
        }
    }
    Plane::new(w, h, PlaneData::U16(v)).unwrap()
}

proptest! {
    #![proptest_config(harness::config(10))]

    #[test]
    fn tiled_equals_untiled(w in 20usize..150, h in 20usize..150, seed in any::<u64>(), tile in 7usize..60,
                            conn in prop_oneof![Just(4u32), Just(8u32)], sigma in prop_oneof![Just(0.0), Just(1.5)],
                            background in prop_oneof![Just(0.0), Just(6.0)], edges in any::<bool>(), min_area in 0u32..5) {
        let p = blobs(w, h, seed);
        let second = harness::plane(Ty::U8, w, h, seed ^ 9, 200);
        let cfg = ParticlesConfig { sigma, background, connectivity: conn, exclude_edges: edges, min_area, threshold: Method::Otsu, ..Default::default() };
        same(&format!("{w}x{h} tile {tile}"), &[p, second], &cfg, tile)?;
    }
}

/// The ImageJ blobs in 64-px tiles: 64 objects, as untiled.
#[test]
fn blobs_in_tiles() {
    let path = crate::parity::data_dir().join("blobs-imagej/blobs.tif");
    let p = StackReader::open(&path, &OpenOptions::default())
        .unwrap()
        .read_plane(PlaneIndex::default())
        .unwrap();
    for sigma in [0.0, 2.0] {
        let cfg = ParticlesConfig {
            sigma,
            ..Default::default()
        };
        same("blobs", std::slice::from_ref(&p), &cfg, 64).unwrap();
    }
}

/// The CLI under a 1 MB GPU budget tiles the frame and prints what the untiled run prints,
/// and writes the same label image.
#[test]
fn cli_budget_forces_tiles_with_same_output() {
    let dir = tempfile::tempdir().unwrap();
    let img = crate::parity::data_dir().join("dsb2018-nuclei-2d/img2d.tif");
    let run = |extra: &[&str], labels: &str| {
        let out = crate::harness::run_ok(
            std::process::Command::new(env!("CARGO_BIN_EXE_migrascope"))
                .args(["particles", "--json", "--sigma", "2", "--labels"])
                .arg(dir.path().join(labels))
                .arg(&img)
                .args(extra),
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let whole = run(&[], "whole.tif");
    let tiled = run(&["--max-gpu-memory", "1"], "tiled.tif");
    assert_eq!(whole, tiled);
    let read = |f: &str| {
        StackReader::open(&dir.path().join(f), &OpenOptions::default())
            .unwrap()
            .read_plane(PlaneIndex::default())
            .unwrap()
    };
    assert_eq!(read("whole.tif"), read("tiled.tif"));
}
