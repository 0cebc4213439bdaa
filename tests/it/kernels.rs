//! GPU kernel == CPU reference, on fresh random inputs of random sizes, on every backend.
//! Integer outputs must be identical; float tolerances are stated next to each test.

use migrascope::cpu;
use migrascope::gpu::Recorder;
use migrascope::image::PlaneData;
use migrascope::ops::{self, GpuPlane, RawKind, filters, label, measure, threshold};
use proptest::prelude::*;

use crate::harness::{self, Ty, gpus, read_f32, read_u32, read_words};

fn upload_mask(rec: &mut Recorder, m: &[u32], w: usize, h: usize) -> GpuPlane {
    GpuPlane {
        buf: rec.upload(m),
        kind: RawKind::U32,
        width: w as u32,
        height: h as u32,
    }
}

proptest! {
    #![proptest_config(harness::config(24))]

    /// Upload + conversion: identical f32 for every type up to 16 bits and for f32; 32-bit
    /// integers above 2^24 may round to either neighbour (WGSL leaves the rounding open).
    #[test]
    fn convert_matches(t in harness::ty(), (w, h) in harness::size(), seed in any::<u64>()) {
        let p = harness::plane(t, w, h, seed, 1 << 20);
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let up = ops::upload_plane(&mut rec, &p).unwrap();
            let f = ops::to_f32(&mut rec, &up).unwrap();
            rec.submit();
            let got = read_f32(gpu, &f);
            for (i, &g) in got.iter().enumerate() {
                let want = cpu::raw::value_f32(&p.data, i);
                let ok = g == want || (matches!(t, Ty::U32 | Ty::I32)
                    && (g - want).abs() <= want.abs() * f32::EPSILON);
                prop_assert!(ok, "{b:?} {t:?} {w}x{h} px {i}: gpu {} cpu {}", g, want);
            }
        }
    }

    /// Min/max keys: identical.
    #[test]
    fn minmax_matches(t in harness::ty(), (w, h) in harness::size(), seed in any::<u64>()) {
        let p = harness::plane(t, w, h, seed, 5000);
        let want = cpu::reduce::minmax(&p.data);
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let up = ops::upload_plane(&mut rec, &p).unwrap();
            let mm = ops::minmax(&mut rec, &up).unwrap();
            rec.submit();
            prop_assert_eq!(read_words(gpu, &mm, 2), want.to_vec(), "{:?} {:?}", b, t);
        }
    }

    /// Histograms (one bin per integer value, or 256 float bins): identical counts.
    #[test]
    fn histogram_matches(t in harness::ty(), (w, h) in harness::size(), seed in any::<u64>(), levels in 1u32..3000) {
        let p = harness::plane(t, w, h, seed, levels);
        let range = cpu::reduce::minmax(&p.data);
        let kind = RawKind::of(&p.data);
        let want = match threshold::integer_bins(kind) {
            Some(n) => cpu::histogram::hist_int(&p.data, range, n),
            None => cpu::histogram::hist_float(&p.data, range),
        };
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let up = ops::upload_plane(&mut rec, &p).unwrap();
            let mm = ops::minmax(&mut rec, &up).unwrap();
            let hist = threshold::histogram(&mut rec, &up, &mm).unwrap();
            rec.submit();
            let got = read_words(gpu, &hist, want.len());
            prop_assert!(got == want, "{b:?} {t:?} {w}x{h}: histograms differ");
        }
    }

    /// mask = value > threshold: identical, thresholds drawn from the data and beyond it.
    #[test]
    fn threshold_matches(t in harness::ty(), (w, h) in harness::size(), seed in any::<u64>(), q in 0usize..1000, below in any::<bool>()) {
        let p = harness::plane(t, w, h, seed, 300);
        let mut thr = p.data.get_f64(q % p.len()) + if below { -0.5 } else { 0.25 };
        if q == 999 { thr = -1e12; }
        let kind = RawKind::of(&p.data);
        let want = cpu::threshold::above(&p.data, threshold::threshold_key(kind, thr));
        // the key rule equals the plain comparison
        for (i, &m) in want.iter().enumerate() {
            prop_assert_eq!(m == 1, p.data.get_f64(i) > thr || (kind.is_float() && (p.data.get_f64(i) as f32 as f64) > thr));
        }
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let up = ops::upload_plane(&mut rec, &p).unwrap();
            let m = threshold::threshold_above(&mut rec, &up, thr).unwrap();
            rec.submit();
            prop_assert!(read_u32(gpu, &m) == want, "{b:?} {t:?} {w}x{h} thr {thr}");
        }
    }

    /// Connected components, 4 and 8, of masks and of multi-valued planes (equal values join):
    /// identical label images (raster numbering) and counts.
    #[test]
    fn label_matches((w, h) in harness::size(), seed in any::<u64>(), fill in 5u64..95, conn in prop_oneof![Just(4u32), Just(8u32)], values in prop_oneof![Just(1u32), Just(3)]) {
        let m: Vec<u32> = harness::mask(w, h, seed, fill)
            .iter()
            .zip(harness::mask(w, h, seed ^ 77, 50))
            .map(|(&a, b)| if values == 1 { a } else { a * (1 + b + (seed as u32 & 1)) })
            .collect();
        let (want, n) = cpu::label::label(&m, w, h, conn);
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let mp = upload_mask(&mut rec, &m, w, h);
            let l = label::label_components(&mut rec, &mp, conn).unwrap();
            rec.submit();
            prop_assert_eq!(read_words(gpu, &l.count, 1)[0], n, "{:?} count {}x{}", b, w, h);
            prop_assert!(read_u32(gpu, &l.plane) == want, "{b:?} conn {conn} {w}x{h}: labels differ");
        }
    }

    /// Per-label geometry and channel statistics (sums 64-bit exact; float channels in the
    /// documented fixed point): identical records.
    #[test]
    fn measure_matches((w, h) in harness::size(), seed in any::<u64>(), t in harness::ty(), cap_short in any::<bool>()) {
        let m = harness::mask(w, h, seed, 55);
        let (lab, n) = cpu::label::label(&m, w, h, 8);
        let ch = harness::plane(t, w, h, seed ^ 0xabc, 1 << 16);
        let cap = if cap_short { (n / 2).max(1) } else { n.max(1) } as usize;
        let (geo, over) = cpu::measure::geometry(&lab, w, cap);
        let range = cpu::reduce::minmax(&ch.data);
        let chs = cpu::measure::channel(&lab, &ch.data, range, cap);
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let lp = upload_mask(&mut rec, &lab, w, h);
            let cp = ops::upload_plane(&mut rec, &ch).unwrap();
            let stats = ops::measure::record_raw(&mut rec, &lp, &[&cp], cap as u32).unwrap();
            rec.submit();
            let g = read_words(gpu, &stats.geometry, cap * 9);
            let o = read_words(gpu, &stats.over, 1)[0];
            let c = read_words(gpu, &stats.channels[0], cap * 4);
            prop_assert_eq!(o, over, "{:?} overflow label", b);
            for l in 0..cap {
                let r = &g[l * 9..l * 9 + 9];
                let e = geo[l];
                let got = cpu::measure::Geometry {
                    area: r[0], min_x: r[1], min_y: r[2], max_x: r[3], max_y: r[4],
                    sum_x: (r[6] as u64) << 32 | r[5] as u64, sum_y: (r[8] as u64) << 32 | r[7] as u64,
                };
                prop_assert_eq!(got, e, "{:?} geometry of label {}", b, l + 1);
                let r = &c[l * 4..l * 4 + 4];
                let got = cpu::measure::ChannelStats { sum: ((r[1] as u64) << 32 | r[0] as u64) as i64, min_key: r[2], max_key: r[3] };
                prop_assert_eq!(got, chs[l], "{:?} {:?} channel of label {}", b, t, l + 1);
            }
        }
    }

    /// Exclusive scan over up to ~3M elements (three levels): identical.
    #[test]
    fn scan_matches(n in prop_oneof![1u32..5000, 1_000_000u32..3_100_000], seed in any::<u64>()) {
        let v = harness::mask(n as usize, 1, seed, 50);
        let mut want = Vec::with_capacity(v.len());
        let mut acc = 0u32;
        for &x in &v { want.push(acc); acc += x; }
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let buf = rec.upload(&v);
            let total = ops::scan_exclusive(&mut rec, &buf, n).unwrap();
            rec.submit();
            prop_assert_eq!(read_words(gpu, &total, 1)[0], acc, "{:?} total", b);
            prop_assert!(read_words(gpu, &buf, n as usize) == want, "{b:?} scan of {n}");
        }
    }
}

proptest! {
    #![proptest_config(harness::config(12))]

    /// Gaussian (and its derivatives) against scipy's definition in f64. Tolerance: per pixel
    /// |gpu - ref| <= 1e-5 * max|input| * L1(y weights) * L1(x weights), f32 accumulation
    /// over up to 2 * 4 sigma + 1 taps per axis. For the Gaussian itself the L1 norms are 1,
    /// so this is 1e-5 of the input range. Derivative kernels at small sigma have weights up
    /// to 1/sigma² (69 at sigma 0.12), and their rounding scales with that. A relative bound
    /// per pixel is meaningless where derivative outputs cross zero.
    #[test]
    fn gaussian_matches((w, h) in harness::size(), seed in any::<u64>(), sy in 0.0f64..12.0, sx in 0.3f64..25.0, order in prop_oneof![Just([0usize, 0]), Just([2, 0]), Just([0, 2]), Just([1, 1])]) {
        check_gaussian(w, h, seed, sy, sx, order)?;
    }
}

/// 64-bit sums: a 256x257 object of 16-bit maxima sums to 65535 * 65792 > 2^32.
#[test]
fn sums_do_not_overflow_u32() {
    let (w, h) = (256usize, 257usize);
    let lab = vec![1u32; w * h];
    let ch = migrascope::image::Plane::new(w, h, PlaneData::U16(vec![65535; w * h])).unwrap();
    for (b, gpu) in gpus() {
        let mut rec = Recorder::new(gpu);
        let lp = upload_mask(&mut rec, &lab, w, h);
        let cp = ops::upload_plane(&mut rec, &ch).unwrap();
        let stats = measure::record_raw(&mut rec, &lp, &[&cp], 1).unwrap();
        rec.submit();
        let c = read_words(gpu, &stats.channels[0], 4);
        let sum = (c[1] as u64) << 32 | c[0] as u64;
        assert_eq!(sum, 65535 * 65792, "{b:?}");
        assert!(sum > u32::MAX as u64);
    }
}

/// One case of `gaussian_matches` (also run on the cases proptest once found).
fn check_gaussian(
    w: usize,
    h: usize,
    seed: u64,
    sy: f64,
    sx: f64,
    order: [usize; 2],
) -> Result<(), TestCaseError> {
    let p = harness::plane(Ty::U16, w, h, seed, 4096);
    let img = p.data.to_f64_vec();
    let want = cpu::gaussian::gaussian(&img, w, h, [sy, sx], order, 4.0);
    let l1 = |s: f64, o: usize| -> f64 {
        if s > 0.0 {
            cpu::gaussian::correlation_weights(s, o, 4.0)
                .iter()
                .map(|w| w.abs())
                .sum()
        } else {
            1.0
        }
    };
    let scale = img.iter().fold(0f64, |a, &b| a.max(b.abs())).max(1.0)
        * l1(sy, order[0])
        * l1(sx, order[1]);
    for (b, gpu) in gpus() {
        let mut rec = Recorder::new(gpu);
        let up = ops::upload_plane(&mut rec, &p).unwrap();
        let f = ops::to_f32(&mut rec, &up).unwrap();
        let g = filters::gaussian(&mut rec, &f, [sy, sx], order).unwrap();
        rec.submit();
        let got = read_f32(gpu, &g);
        let mut worst = 0f64;
        for i in 0..got.len() {
            worst = worst.max((got[i] as f64 - want[i]).abs() / scale);
        }
        prop_assert!(
            worst <= 1e-5,
            "{b:?} {w}x{h} sigma ({sy},{sx}) order {order:?}: worst {worst:e}"
        );
    }
    Ok(())
}

/// Found by proptest (2026-11-27): a second derivative at sigma 0.12 is a single tap of
/// weight -1/sigma² = -69; the tolerance scales with the kernel's L1 norm.
#[test]
fn gaussian_second_derivative_tiny_sigma() {
    check_gaussian(
        1,
        1,
        5421067714949570505,
        0.1207568522562116,
        16.46203466959823,
        [2, 0],
    )
    .unwrap();
}

proptest! {
    #![proptest_config(harness::config(8))]

    /// Gaussian background subtraction, difference of Gaussians and the scale-normalised
    /// Laplacian of Gaussian (and so the elementwise sub, sub_clamp and axpby kernels) against
    /// the same formulas on scipy's f64 Gaussian. Tolerance: the sum of the Gaussian bounds of
    /// the terms (1e-5 of max|input| per term, times the L1 norms and sigma² for the LoG).
    #[test]
    fn enhancement_matches((w, h) in harness::size(), seed in any::<u64>(), s1 in 0.5f64..4.0, k in 1.2f64..4.0, bg in 0.5f64..25.0) {
        let p = harness::plane(Ty::U16, w, h, seed, 4096);
        let img = p.data.to_f64_vec();
        let g = |s: f64, o: [usize; 2]| cpu::gaussian::gaussian(&img, w, h, [s, s], o, 4.0);
        let max = img.iter().fold(1f64, |a, &b| a.max(b.abs()));
        let l1 = |s: f64, o: usize| -> f64 {
            cpu::gaussian::correlation_weights(s, o, 4.0).iter().map(|w| w.abs()).sum()
        };
        let gb = g(bg, [0, 0]);
        let want_bg: Vec<f64> = img.iter().zip(&gb).map(|(a, b)| (a - b).max(0.0)).collect();
        let (ga, gc) = (g(s1, [0, 0]), g(s1 * k, [0, 0]));
        let want_dog: Vec<f64> = ga.iter().zip(&gc).map(|(a, b)| a - b).collect();
        let (yy, xx) = (g(s1, [2, 0]), g(s1, [0, 2]));
        let want_log: Vec<f64> = yy.iter().zip(&xx).map(|(a, b)| -(s1 * s1) * (a + b)).collect();
        let tol_log = 2.0 * 1e-5 * max * s1 * s1 * l1(s1, 2) * l1(s1, 0);
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let up = ops::upload_plane(&mut rec, &p).unwrap();
            let f = ops::to_f32(&mut rec, &up).unwrap();
            let r_bg = filters::background_gaussian(&mut rec, &f, bg).unwrap();
            let r_dog = filters::difference_of_gaussians(&mut rec, &f, s1, s1 * k).unwrap();
            let r_log = filters::laplacian_of_gaussian(&mut rec, &f, s1).unwrap();
            rec.submit();
            let worst = |got: Vec<f32>, want: &[f64]| {
                got.iter().zip(want).map(|(g, w)| (*g as f64 - w).abs()).fold(0.0, f64::max)
            };
            let (e_bg, e_dog, e_log) = (worst(read_f32(gpu, &r_bg), &want_bg), worst(read_f32(gpu, &r_dog), &want_dog), worst(read_f32(gpu, &r_log), &want_log));
            prop_assert!(e_bg <= 2e-5 * max, "{b:?} {w}x{h} background {bg}: {e_bg:e}");
            prop_assert!(e_dog <= 2e-5 * max, "{b:?} {w}x{h} dog {s1} {k}: {e_dog:e}");
            prop_assert!(e_log <= tol_log, "{b:?} {w}x{h} log {s1}: {e_log:e} > {tol_log:e}");
        }
    }
}

proptest! {
    #![proptest_config(harness::config(8))]

    /// The Gaussian background from the pixels outside a mask (normalised convolution)
    /// against the same quotient of scipy-style f64 Gaussians. Tolerance: each blur within
    /// 2e-5 of its scale (max|input|, and 1 for the weights), carried through the quotient
    /// (|dn| + |q| |dd|) / d; pixels whose weight lies within a factor of 2 of the 1e-3 cut,
    /// where either side may fall back to 0, are skipped, and under 5e-4 both must be 0.
    #[test]
    fn gaussian_outside_matches((w, h) in harness::size(), seed in any::<u64>(), sigma in 0.5f64..25.0, fill in prop_oneof![Just(5u64), Just(30), Just(90)]) {
        let p = harness::plane(Ty::U16, w, h, seed, 4096);
        let img = p.data.to_f64_vec();
        let m = harness::mask(w, h, seed ^ 3, fill);
        let kept: Vec<f64> = img.iter().zip(&m).map(|(&v, &k)| if k != 0 { 0.0 } else { v }).collect();
        let wt: Vec<f64> = m.iter().map(|&k| if k != 0 { 0.0 } else { 1.0 }).collect();
        let num = cpu::gaussian::gaussian(&kept, w, h, [sigma, sigma], [0, 0], 4.0);
        let den = cpu::gaussian::gaussian(&wt, w, h, [sigma, sigma], [0, 0], 4.0);
        let max = img.iter().fold(1f64, |a, &b| a.max(b.abs()));
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let up = ops::upload_plane(&mut rec, &p).unwrap();
            let f = ops::to_f32(&mut rec, &up).unwrap();
            let mp = upload_mask(&mut rec, &m, w, h);
            let g = filters::gaussian_outside(&mut rec, &f, &mp, sigma, 1).unwrap();
            rec.submit();
            for (i, &got) in read_f32(gpu, &g).iter().enumerate() {
                let d = den[i];
                if d < 5e-4 {
                    prop_assert!(got == 0.0, "{b:?} px {i}: weight {d:e}, got {got}");
                } else if d > 2e-3 {
                    let q = num[i] / d;
                    let tol = (2e-5 * max + q.abs() * 2e-5) / d + 1e-6 * q.abs();
                    prop_assert!((got as f64 - q).abs() <= tol, "{b:?} {w}x{h} sigma {sigma} px {i}: gpu {got} cpu {q} tol {tol:e}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(harness::config(8))]

    /// `gaussian_blur_blocks` (`factor` 1-5) against the same composition on the CPU
    /// references (block means, an f64 Gaussian, bilinear interpolation; the plain Gaussian
    /// at factor 1). Tolerance: the f32 blur within 2e-5 of the image's scale.
    #[test]
    fn gaussian_blur_blocks_matches((w, h) in harness::size(), seed in any::<u64>(), sigma in 2.0f64..30.0, f in 1u32..6) {
        let p = harness::plane(Ty::U16, w, h, seed, 4096);
        let img: Vec<f32> = p.data.to_f64_vec().iter().map(|&x| x as f32).collect();
        let want = if f == 1 {
            let v: Vec<f64> = img.iter().map(|&x| x as f64).collect();
            cpu::gaussian::gaussian(&v, w, h, [sigma, sigma], [0, 0], 4.0)
        } else {
            let (d, sw, sh) = cpu::resample::down_mean(&img, w, h, f as usize);
            let s = sigma / f as f64;
            let b = cpu::gaussian::gaussian(&d, sw, sh, [s, s], [0, 0], 4.0);
            cpu::resample::up_bilinear(&b, sw, sh, w, h, f as usize)
        };
        let max = img.iter().fold(1f64, |a, &b| a.max(b.abs() as f64));
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let up = ops::upload_plane(&mut rec, &p).unwrap();
            let fp = ops::to_f32(&mut rec, &up).unwrap();
            let g = filters::gaussian_blur_blocks(&mut rec, &fp, sigma, f).unwrap();
            rec.submit();
            let worst = read_f32(gpu, &g).iter().zip(&want).map(|(g, c)| (*g as f64 - c).abs()).fold(0.0, f64::max);
            prop_assert!(worst <= 2e-5 * max, "{b:?} {w}x{h} sigma {sigma} f {f}: {worst:e}");
        }
    }

    /// `gaussian_outside` on block means (`factor` > 1) against the same composition on the
    /// CPU references (block means, f64 Gaussians, quotient, bilinear interpolation). Masks
    /// of 5-30 % keep every weight near 1, far from the 1e-3 cut; tolerance: each blur within
    /// 2e-5 of its scale carried through the quotient, at the smallest weight.
    #[test]
    fn gaussian_outside_on_blocks_matches((w, h) in harness::size(), seed in any::<u64>(), sigma in 2.0f64..30.0, f in 2u32..6, fill in prop_oneof![Just(5u64), Just(30)]) {
        let p = harness::plane(Ty::U16, w, h, seed, 4096);
        let img: Vec<f32> = p.data.to_f64_vec().iter().map(|&x| x as f32).collect();
        let m = harness::mask(w, h, seed ^ 3, fill);
        let kept = cpu::logic::replace_masked(&img, &m, 0.0);
        let wt = cpu::logic::weight_outside(&m);
        let (kd, sw, sh) = cpu::resample::down_mean(&kept, w, h, f as usize);
        let (wd, _, _) = cpu::resample::down_mean(&wt, w, h, f as usize);
        let s = sigma / f as f64;
        let num = cpu::gaussian::gaussian(&kd, sw, sh, [s, s], [0, 0], 4.0);
        let den = cpu::gaussian::gaussian(&wd, sw, sh, [s, s], [0, 0], 4.0);
        let q: Vec<f64> = num.iter().zip(&den).map(|(n, d)| if *d > 1e-3 { n / d } else { 0.0 }).collect();
        let want = cpu::resample::up_bilinear(&q, sw, sh, w, h, f as usize);
        let max = img.iter().fold(1f64, |a, &b| a.max(b.abs() as f64));
        let dmin = den.iter().cloned().fold(f64::INFINITY, f64::min);
        prop_assume!(dmin > 2e-3);
        let tol = 4e-5 * max / dmin + 1e-6 * max;
        for (b, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let up = ops::upload_plane(&mut rec, &p).unwrap();
            let fp = ops::to_f32(&mut rec, &up).unwrap();
            let mp = upload_mask(&mut rec, &m, w, h);
            let g = filters::gaussian_outside(&mut rec, &fp, &mp, sigma, f).unwrap();
            rec.submit();
            let worst = read_f32(gpu, &g).iter().zip(&want).map(|(g, c)| (*g as f64 - c).abs()).fold(0.0, f64::max);
            prop_assert!(worst <= tol, "{b:?} {w}x{h} sigma {sigma} f {f}: {worst:e} > {tol:e}");
        }
    }
}

/// Labelling on shapes random masks rarely make: long runs across the 32-pixel segments that
/// `init` joins, combs whose teeth meet only at the far end (long union chains), a spiral,
/// diagonal-only contacts, a full frame, and equal values touching different ones.
#[test]
fn label_structured_shapes_match() {
    let shapes: Vec<(&str, usize, usize, Shape)> = vec![
        ("full", 97, 13, Box::new(|_, _| 1)),
        (
            "stripes of 32",
            130,
            9,
            Box::new(|x, _| ((x / 32) % 2 == 0) as u32),
        ),
        (
            "stripes of 31",
            130,
            9,
            Box::new(|x, _| ((x / 31) % 2 == 0) as u32),
        ),
        (
            "comb from below",
            129,
            40,
            Box::new(|x, y| (y == 39 || x % 2 == 0) as u32),
        ),
        (
            "comb from above",
            129,
            40,
            Box::new(|x, y| (y == 0 || x % 2 == 1) as u32),
        ),
        (
            "checkerboard",
            67,
            33,
            Box::new(|x, y| ((x + y) % 2 == 0) as u32),
        ),
        (
            "anti-diagonals",
            70,
            50,
            Box::new(|x, y| ((x + 2 * y) % 5 == 0) as u32),
        ),
        (
            "values",
            90,
            20,
            Box::new(|x, y| ((x / 7 + y / 3) % 3) as u32),
        ),
        ("spiral", 61, 61, Box::new(spiral)),
    ];
    for (name, w, h, f) in &shapes {
        let m: Vec<u32> = (0..w * h).map(|i| f(i % w, i / w)).collect();
        for conn in [4u32, 8] {
            let (want, n) = cpu::label::label(&m, *w, *h, conn);
            for (b, gpu) in gpus() {
                let mut rec = Recorder::new(gpu);
                let mp = upload_mask(&mut rec, &m, *w, *h);
                let l = label::label_components(&mut rec, &mp, conn).unwrap();
                rec.submit();
                assert_eq!(
                    read_words(gpu, &l.count, 1)[0],
                    n,
                    "{b:?} {name} conn {conn}: count"
                );
                assert!(
                    read_u32(gpu, &l.plane) == want,
                    "{b:?} {name} conn {conn}: labels differ"
                );
            }
        }
    }
}

/// A mask by its pixel coordinates.
type Shape = Box<dyn Fn(usize, usize) -> u32>;

/// A square spiral corridor one pixel wide (its two ends far apart along the path).
fn spiral(x: usize, y: usize) -> u32 {
    let (n, x, y) = (61i64, x as i64, y as i64);
    // ring index of the pixel; walls on even rings, one gap per ring to join it inward
    let ring = x.min(y).min(n - 1 - x).min(n - 1 - y);
    if ring % 2 == 1 {
        // the corridor ring, open except one cell
        return (!(x == ring && y == ring + 1)) as u32;
    }
    // wall rings: a gap joining ring-1 to ring+1
    (x == ring + 1 && y == ring) as u32
}
