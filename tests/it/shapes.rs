//! GPU == CPU reference for the shape kernels: disk morphology, local maxima, feature
//! transform and label expansion. All outputs compared here are exact (integers, or min/max
//! of f32 inputs, which involve no rounding).

use migrascope::cpu;
use migrascope::gpu::Recorder;
use migrascope::ops::{self, GpuPlane, RawKind, expand, morphology, peaks};
use proptest::prelude::*;

use crate::harness::{self, Ty, gpus, read_f32, read_u32};

fn f32_plane(rec: &mut Recorder, v: &[f32], w: usize, h: usize) -> GpuPlane {
    GpuPlane {
        buf: rec.upload(v),
        kind: RawKind::F32,
        width: w as u32,
        height: h as u32,
    }
}

fn sparse_labels(w: usize, h: usize, seed: u64, fill: u64) -> Vec<u32> {
    let m = harness::mask(w, h, seed, fill);
    cpu::label::label(&m, w, h, 8).0
}

proptest! {
    #![proptest_config(harness::config(16))]

    /// Erosion and dilation with a disk (mode 'reflect'): identical, also with radii beyond
    /// the image (reflected more than once).
    #[test]
    fn morphology_matches((w, h) in harness::size(), seed in any::<u64>(), r in prop_oneof![0usize..7, 7usize..40], dilate in any::<bool>()) {
        let p = harness::plane(Ty::F32, w, h, seed, 100);
        let v: Vec<f32> = p.data.to_f64_vec().iter().map(|&x| x as f32).collect();
        let want = cpu::morphology::erode_or_dilate(&v, w, h, r, dilate);
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let img = f32_plane(&mut rec, &v, w, h);
            let out = if dilate { morphology::dilation(&mut rec, &img, r as u32) } else { morphology::erosion(&mut rec, &img, r as u32) }.unwrap();
            rec.submit();
            prop_assert!(read_f32(gpu, &out) == want, "{b:?} {w}x{h} r {r} dilate {dilate}");
        }
    }

    /// peak_local_max, including plateaus (few grey levels) that need the spacing rule.
    #[test]
    fn peaks_match((w, h) in harness::size(), seed in any::<u64>(), levels in prop_oneof![Just(3u32), Just(20), Just(100000)],
                   d in 1u32..5, rel in prop::option::of(0.0f32..0.9), abs in prop::option::of(-5.0f32..20.0), border in any::<bool>()) {
        let p = harness::plane(Ty::F32, w, h, seed, levels);
        let v: Vec<f32> = p.data.to_f64_vec().iter().map(|&x| x as f32).collect();
        let prm = peaks::PeakParams { min_distance: d, threshold_abs: abs, threshold_rel: rel, exclude_border: border };
        let want = cpu::peaks::peak_local_max(&v, w, h, d as usize, abs, rel, border);
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let img = f32_plane(&mut rec, &v, w, h);
            rec.submit();
            let mask = peaks::peak_local_max(gpu, &img, prm).unwrap();
            prop_assert!(read_u32(gpu, &mask) == want, "{b:?} {w}x{h} d {d} levels {levels}");
            // restricted to a mask that covers everything: the same peaks
            let mut rec = Recorder::new(gpu);
            let ones = GpuPlane { buf: rec.upload(&vec![1u32; w * h]), kind: RawKind::U32, width: w as u32, height: h as u32 };
            let mut pk = peaks::local_maxima_within(&mut rec, &img, prm, 64, Some(&ones)).unwrap();
            peaks::finish(gpu, rec, &mut pk).unwrap();
            prop_assert!(read_u32(gpu, &pk.mask) == want, "{b:?} {w}x{h} within all");
        }
    }

    /// expand_labels (exact feature transform with scipy's tie rules): identical.
    #[test]
    fn expand_matches((w, h) in harness::size(), seed in any::<u64>(), fill in prop_oneof![Just(1u64), Just(3), Just(30)], dist in 0.0f64..40.0) {
        let lab = sparse_labels(w, h, seed, fill);
        let want = cpu::expand::expand_labels(&lab, w, h, dist);
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let lp = GpuPlane { buf: rec.upload(&lab), kind: RawKind::U32, width: w as u32, height: h as u32 };
            let out = expand::expand_labels(&mut rec, &lp, dist).unwrap();
            // several distances from one feature transform: each as expand_labels alone
            let both = expand::expand_labels_by(&mut rec, &lp, &[dist / 2.0, dist]).unwrap();
            rec.submit();
            prop_assert!(read_u32(gpu, &out) == want, "{b:?} {w}x{h} fill {fill} distance {dist}");
            prop_assert!(read_u32(gpu, &both[1]) == want, "{b:?} by: {dist}");
            prop_assert!(read_u32(gpu, &both[0]) == cpu::expand::expand_labels(&lab, w, h, dist / 2.0), "{b:?} by: {dist}/2");
        }
    }

    /// Shells (annuli with an exclusion mask, labelled or as 1, the outermost infinite):
    /// identical to the reference composed from expand_labels.
    #[test]
    fn shells_match((w, h) in harness::size(), seed in any::<u64>(), fill in prop_oneof![Just(0u64), Just(1), Just(3), Just(30)], from in 0.0f64..20.0, width in 0.0f64..20.0, as_one in any::<bool>()) {
        let lab = sparse_labels(w, h, seed, fill);
        let excl = harness::mask(w, h, seed ^ 0x5e11, 20);
        let shells = [
            expand::Shell { from, to: from + width, as_one },
            expand::Shell { from, to: f64::INFINITY, as_one: true },
            expand::Shell { from, to: f64::INFINITY, as_one: false },
            expand::Shell { from: f64::INFINITY, to: f64::INFINITY, as_one: true },
        ];
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let lp = GpuPlane { buf: rec.upload(&lab), kind: RawKind::U32, width: w as u32, height: h as u32 };
            let ep = GpuPlane { buf: rec.upload(&excl), kind: RawKind::U32, width: w as u32, height: h as u32 };
            let out = expand::expand_shells(&mut rec, &lp, &shells, &ep).unwrap();
            rec.submit();
            for (s, o) in shells.iter().zip(&out) {
                let want = cpu::expand::shell(&lab, w, h, s.from, s.to, s.as_one, &excl);
                prop_assert!(read_u32(gpu, o) == want, "{b:?} {w}x{h} fill {fill} {s:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(harness::config(12))]

    /// Block-mean downsampling and bilinear upsampling against f64; tolerance 1e-5 of
    /// max|input| (f32 sums of up to factor^2 samples, f32 interpolation weights).
    #[test]
    fn resample_matches((w, h) in harness::size(), seed in any::<u64>(), f in 1u32..9) {
        check_resample(w, h, seed, f, 1e-5)?;
    }
}

/// A flat image has no peaks; a single bright pixel is one.
#[test]
fn peaks_trivial_and_single() {
    let (w, h) = (9usize, 7usize);
    let flat = vec![3.0f32; w * h];
    let mut one = flat.clone();
    one[3 * w + 4] = 10.0;
    for (b, gpu) in gpus() {
        for (img, n) in [(&flat, 0u32), (&one, 1)] {
            let mut rec = Recorder::new(gpu);
            let p = f32_plane(&mut rec, img, w, h);
            rec.submit();
            let m = peaks::peak_local_max(gpu, &p, peaks::PeakParams::default()).unwrap();
            assert_eq!(read_u32(gpu, &m).iter().sum::<u32>(), n, "{b:?}");
        }
    }
    let _ = ops::RawKind::F32;
}

/// The case proptest found (2026-11-27): three grey levels make plateau chains that need more
/// than 64 spacing rounds; `peaks::finish` runs rounds until none is undecided.
#[test]
fn peaks_within_long_plateau_chains() {
    let (w, h) = (273usize, 158usize);
    let p = harness::plane(Ty::F32, w, h, 7723411197486588772, 3);
    let v: Vec<f32> = p.data.to_f64_vec().iter().map(|&x| x as f32).collect();
    let prm = peaks::PeakParams {
        min_distance: 3,
        threshold_abs: None,
        threshold_rel: None,
        exclude_border: true,
    };
    let want = cpu::peaks::peak_local_max(&v, w, h, 3, None, None, true);
    for (b, gpu) in gpus() {
        let mut rec = Recorder::new(gpu);
        let img = f32_plane(&mut rec, &v, w, h);
        let ones = GpuPlane {
            buf: rec.upload(&vec![1u32; w * h]),
            kind: RawKind::U32,
            width: w as u32,
            height: h as u32,
        };
        let mut pk = peaks::local_maxima_within(&mut rec, &img, prm, 64, Some(&ones)).unwrap();
        peaks::finish(gpu, rec, &mut pk).unwrap();
        assert!(read_u32(gpu, &pk.mask) == want, "{b:?}");
    }
}

/// One case of `resample_matches`: down and up within `tol` of max|input|.
fn check_resample(w: usize, h: usize, seed: u64, f: u32, tol: f64) -> Result<(), TestCaseError> {
    let p = harness::plane(Ty::U16, w, h, seed, 4096);
    let v: Vec<f32> = p.data.to_f64_vec().iter().map(|&x| x as f32).collect();
    let scale = v.iter().fold(1f32, |a, &b| a.max(b.abs())) as f64;
    let (small, sw, sh) = cpu::resample::down_mean(&v, w, h, f as usize);
    let up = cpu::resample::up_bilinear(&small, sw, sh, w, h, f as usize);
    let worst = |got: Vec<f32>, want: &[f64]| {
        got.iter()
            .zip(want)
            .map(|(g, w)| (*g as f64 - w).abs())
            .fold(0.0, f64::max)
            / scale
    };
    for (b, gpu) in gpus() {
        let mut rec = Recorder::new(gpu);
        let img = f32_plane(&mut rec, &v, w, h);
        let d = ops::resample::down_mean(&mut rec, &img, f).unwrap();
        let u = ops::resample::up_bilinear(&mut rec, &d, w as u32, h as u32, f).unwrap();
        rec.submit();
        let (wd, wu) = (
            worst(read_f32(gpu, &d), &small),
            worst(read_f32(gpu, &u), &up),
        );
        prop_assert!(
            wd <= tol && wu <= tol,
            "{b:?} {w}x{h} f {f}: down {wd:e} up {wu:e}"
        );
    }
    Ok(())
}

/// The case proptest found (2026-11-27): a 4099-wide noise image upsampled 3x; the source
/// position must not be rounded in f32.
#[test]
fn up_bilinear_wide_rows() {
    check_resample(4099, 3, 235168, 3, 1e-6).unwrap();
}
