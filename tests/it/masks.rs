//! GPU == CPU for the mask ops, the ridge filter, line support and the clipped moments.

use migrascope::cpu;
use migrascope::gpu::Recorder;
use migrascope::ops::{self, GpuPlane, RawKind, filters, mask, moments};
use proptest::prelude::*;

use crate::harness::{self, Ty, gpus, read_f32, read_u32, read_words};

fn u32_plane(rec: &mut Recorder, v: &[u32], w: usize, h: usize) -> GpuPlane {
    GpuPlane {
        buf: rec.upload(v),
        kind: RawKind::U32,
        width: w as u32,
        height: h as u32,
    }
}

proptest! {
    #![proptest_config(harness::config(16))]

    /// and_not, and_mask, or_nonzero, neither, fill, lookup: identical.
    #[test]
    fn logic_matches((w, h) in harness::size(), seed in any::<u64>(), tlen in 0usize..40) {
        let a: Vec<u32> = harness::mask(w, h, seed, 50).iter().zip(harness::mask(w, h, seed ^ 5, 50)).map(|(x, y)| x * (1 + 7 * y)).collect();
        let b = harness::mask(w, h, seed ^ 9, 30);
        let table: Vec<u32> = (0..tlen as u32).map(|i| i * 3 + 1).collect();
        for (bk, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let pa = u32_plane(&mut rec, &a, w, h);
            let pb = u32_plane(&mut rec, &b, w, h);
            let t = rec.upload(&if table.is_empty() { vec![0u32] } else { table.clone() });
            let x = mask::and_not(&mut rec, &pa, &pb).unwrap();
            let x2 = mask::and_mask(&mut rec, &pa, &pb).unwrap();
            let x3 = mask::neither(&mut rec, &pa, &pb).unwrap();
            let x4 = mask::fill(&mut rec, &pa, &pb, 99).unwrap();
            let y = mask::or_nonzero(&mut rec, &pa, &pb).unwrap();
            let z = mask::lookup(&mut rec, &pa, &t, table.len() as u32).unwrap();
            rec.submit();
            prop_assert!(read_u32(gpu, &x) == cpu::logic::and_not(&a, &b), "{bk:?} and_not");
            prop_assert!(read_u32(gpu, &x2) == cpu::logic::and_mask(&a, &b), "{bk:?} and_mask");
            prop_assert!(read_u32(gpu, &x3) == cpu::logic::neither(&a, &b), "{bk:?} neither");
            prop_assert!(read_u32(gpu, &x4) == cpu::logic::fill(&a, &b, 99), "{bk:?} fill");
            prop_assert!(read_u32(gpu, &y) == cpu::logic::or_nonzero(&a, &b), "{bk:?} or_nonzero");
            prop_assert!(read_u32(gpu, &z) == cpu::logic::lookup(&a, &table), "{bk:?} lookup");
        }
    }

    /// Ridge strength against the f64 Hessian of scipy's Gaussian derivatives; tolerance
    /// 1e-4 * max|input| (three f32 Gaussian passes, then eigenvalues).
    #[test]
    fn ridge_matches((w, h) in harness::size(), seed in any::<u64>(), sigma in 0.7f64..4.0) {
        let p = harness::plane(Ty::U16, w, h, seed, 4096);
        let img = p.data.to_f64_vec();
        let g = |o: [usize; 2]| cpu::gaussian::gaussian(&img, w, h, [sigma, sigma], o, 4.0);
        let want = cpu::logic::ridge(&g([2, 0]), &g([0, 2]), &g([1, 1]), sigma * sigma);
        let scale = img.iter().fold(1f64, |a, &b| a.max(b.abs()));
        for (bk, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let up = ops::upload_plane(&mut rec, &p).unwrap();
            let f = ops::to_f32(&mut rec, &up).unwrap();
            let r = filters::ridge(&mut rec, &f, sigma).unwrap();
            rec.submit();
            let got = read_f32(gpu, &r);
            let worst = got.iter().zip(&want).map(|(g, w)| (*g as f64 - w).abs()).fold(0.0, f64::max) / scale;
            prop_assert!(worst <= 1e-4, "{bk:?} {w}x{h} sigma {sigma}: worst {worst:e}");
        }
    }

    /// Line support against its CPU reference (the direct sum over each segment; the shader
    /// keeps running integer sums along chains, so the sums are identical and the only
    /// difference allowed is the f32 division: tolerance 1e-6 on values in [0, 1]); caps drawn
    /// from the data, and one at 0 (every value 0).
    #[test]
    fn line_support_matches((w, h) in harness::size(), seed in any::<u64>(), half in 0u32..12, fill in 0u64..40, q in 0usize..1000) {
        let p = harness::plane(Ty::U16, w, h, seed, 4096);
        let img: Vec<f32> = p.data.to_f64_vec().iter().map(|&v| v as f32).collect();
        let m = harness::mask(w, h, seed ^ 0x1234, fill);
        let cap = if q == 999 { 0.0 } else { img[q % img.len()].max(1.0) };
        let want = if cap > 0.0 {
            let qs = cpu::line::line_prep(&img, &m, cap, cpu::line::ONE / cap);
            cpu::line::line_support(&qs, w, h, half)
        } else {
            vec![0.0; img.len()]
        };
        for (bk, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let f = GpuPlane { buf: rec.upload(&img), kind: RawKind::F32, width: w as u32, height: h as u32 };
            let mp = u32_plane(&mut rec, &m, w, h);
            let l = filters::line_support(&mut rec, &f, &mp, half, cap as f64).unwrap();
            rec.submit();
            let got = read_f32(gpu, &l);
            let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f32::max);
            prop_assert!(worst <= 1e-6, "{bk:?} {w}x{h} half {half} cap {cap}: worst {worst:e}");
        }
    }

    /// Moments (plain, and inside given bounds): identical records.
    #[test]
    fn moments_match((w, h) in harness::size(), seed in any::<u64>(), t in harness::ty()) {
        let m = harness::mask(w, h, seed, 60);
        let (lab, n) = cpu::label::label(&m, w, h, 4);
        let cap = n.max(1) as usize;
        let ch = harness::plane(t, w, h, seed ^ 0x55, 3000);
        let range = cpu::reduce::minmax(&ch.data);
        let bounds: Vec<f32> = (0..cap).flat_map(|l| {
            let c = cpu::raw::value_f32(&ch.data, (l * 7919) % (w * h));
            [c - 100.0, c + 1000.0]
        }).collect();
        let want = cpu::moments::moments(&lab, &ch.data, range, cap, None);
        let want_b = cpu::moments::moments(&lab, &ch.data, range, cap, Some(&bounds));
        for (bk, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let lp = u32_plane(&mut rec, &lab, w, h);
            let cp = ops::upload_plane(&mut rec, &ch).unwrap();
            let bb = rec.upload(&bounds);
            let a = moments::record_moments(&mut rec, &lp, &cp, cap as u32, None, None).unwrap();
            let b = moments::record_moments(&mut rec, &lp, &cp, cap as u32, Some(&bb), None).unwrap();
            // whole-frame clipping schedule (no label image) == the same schedule over a plane of 1s
            let ones = u32_plane(&mut rec, &vec![1u32; w * h], w, h);
            let ks = [1.0f32, 3.0, 3.0];
            let sa = moments::record_clipped_schedule(&mut rec, &ones, &cp, 1, &ks).unwrap();
            let sb = moments::record_frame_schedule(&mut rec, &cp, &ks).unwrap();
            rec.submit();
            prop_assert_eq!(read_words(gpu, &sa.records, 5), read_words(gpu, &sb.records, 5), "{:?} whole frame", bk);
            for (bufs, want) in [(a, &want), (b, &want_b)] {
                let r = read_words(gpu, &bufs.records, cap * 5);
                for l in 0..cap {
                    let x = &r[l * 5..l * 5 + 5];
                    let got = cpu::moments::Moments { n: x[0], sum: ((x[2] as u64) << 32 | x[1] as u64) as i64, sumsq: (x[4] as u64) << 32 | x[3] as u64 };
                    prop_assert_eq!(got, want[l], "{:?} {:?} label {}", bk, t, l + 1);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(harness::config(12))]

    /// Low-contrast flags (a label's mean against its ring's, both from moments and bounds
    /// with k = 0): identical to the CPU mirror, except where `inside - ring` lies within 1e-5
    /// of `fraction * inside` (f32 rounding of the means may fall either way there).
    #[test]
    fn low_contrast_matches((w, h) in harness::size(), seed in any::<u64>(), t in harness::ty(), fraction in 0.0f32..1.0) {
        let m = harness::mask(w, h, seed, 50);
        let (lab, n) = cpu::label::label(&m, w, h, 4);
        // the ring: the complement, labelled by a second mask's components (some labels get
        // no ring, some no inside)
        let m2 = harness::mask(w, h, seed ^ 0x77, 50);
        let (lab2, n2) = cpu::label::label(&m2, w, h, 4);
        let ring: Vec<u32> = lab.iter().zip(&lab2).map(|(&a, &b)| if a == 0 { b } else { 0 }).collect();
        let cap = n.max(n2).max(1) as usize;
        let ch = harness::plane(t, w, h, seed ^ 0x55, 3000);
        let range = cpu::reduce::minmax(&ch.data);
        let e = cpu::moments::exponent(&ch.data, range);
        let a = cpu::moments::means(&cpu::moments::moments(&lab, &ch.data, range, cap, None), e);
        let b = cpu::moments::means(&cpu::moments::moments(&ring, &ch.data, range, cap, None), e);
        let want = cpu::moments::low_contrast(&a, &b, fraction);
        for (bk, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let lp = u32_plane(&mut rec, &lab, w, h);
            let rp = u32_plane(&mut rec, &ring, w, h);
            let cp = ops::upload_plane(&mut rec, &ch).unwrap();
            let ma = moments::record_moments(&mut rec, &lp, &cp, cap as u32, None, None).unwrap();
            let mb = moments::record_moments(&mut rec, &rp, &cp, cap as u32, None, Some(&ma.range)).unwrap();
            let ba = moments::record_bounds(&mut rec, &ma, &cp, cap as u32, 0.0).unwrap();
            let bb = moments::record_bounds(&mut rec, &mb, &cp, cap as u32, 0.0).unwrap();
            let f = moments::record_low_contrast(&mut rec, &ba, &bb, cap as u32, fraction).unwrap();
            rec.submit();
            let got = read_words(gpu, &f, cap);
            for l in 0..cap {
                if let (Some(x), Some(y)) = (a[l], b[l]) {
                    let margin = (x - y) - fraction * x;
                    if margin.abs() <= 1e-5 * x.abs().max(y.abs()).max(1.0) {
                        continue;
                    }
                }
                prop_assert_eq!(got[l], want[l], "{:?} {:?} label {} inside {:?} ring {:?}", bk, t, l + 1, a[l], b[l]);
            }
        }
    }
}

proptest! {
    #![proptest_config(harness::config(16))]

    /// component_any (flag components touching a condition, via union-find roots): identical.
    #[test]
    fn component_any_matches((w, h) in harness::size(), seed in any::<u64>(), fill in 20u64..80) {
        let m = harness::mask(w, h, seed, fill);
        let cond = harness::mask(w, h, seed ^ 3, 2);
        let (lab, n) = cpu::label::label(&m, w, h, 8);
        let want = cpu::label::component_any(&lab, n, &cond);
        for (bk, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let mp = u32_plane(&mut rec, &m, w, h);
            let cp = u32_plane(&mut rec, &cond, w, h);
            let l = migrascope::ops::label::label_components(&mut rec, &mp, 8).unwrap();
            let a = migrascope::ops::label::component_any(&mut rec, &l, &cp).unwrap();
            rec.submit();
            prop_assert!(read_u32(gpu, &a) == want, "{bk:?} {w}x{h}");
        }
    }
}

proptest! {
    #![proptest_config(harness::config(12))]

    /// replace_masked: identical.
    #[test]
    fn replace_masked_matches((w, h) in harness::size(), seed in any::<u64>()) {
        let p = harness::plane(Ty::F32, w, h, seed, 1000);
        let v: Vec<f32> = p.data.to_f64_vec().iter().map(|&x| x as f32).collect();
        let m = harness::mask(w, h, seed ^ 11, 30);
        let want = cpu::logic::replace_masked(&v, &m, 7.5);
        for (bk, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let img = GpuPlane { buf: rec.upload(&v), kind: RawKind::F32, width: w as u32, height: h as u32 };
            let mp = u32_plane(&mut rec, &m, w, h);
            let out = filters::replace_masked(&mut rec, &img, &mp, 7.5).unwrap();
            rec.submit();
            prop_assert!(read_f32(gpu, &out) == want, "{bk:?}");
        }
    }
}

proptest! {
    #![proptest_config(harness::config(12))]

    /// weight_outside and select_masked: identical. ratio: within 2.5 ULP of the f32 quotient
    /// (what WGSL allows for `/`), the fallback identical.
    #[test]
    fn ratio_weight_select_match((w, h) in harness::size(), seed in any::<u64>()) {
        let a: Vec<f32> = harness::plane(Ty::F32, w, h, seed, 1000).data.to_f64_vec().iter().map(|&x| x as f32 - 500.0).collect();
        let b: Vec<f32> = harness::plane(Ty::F32, w, h, seed ^ 5, 1000).data.to_f64_vec().iter().map(|&x| (x as f32 - 100.0) / 100.0).collect();
        let m = harness::mask(w, h, seed ^ 11, 30);
        let (min_den, fallback) = (0.25f32, -3.5f32);
        let want_ratio = cpu::logic::ratio(&a, &b, min_den, fallback);
        let want_weight = cpu::logic::weight_outside(&m);
        let want_select = cpu::logic::select_masked(&a, &b, &m);
        for (bk, gpu) in gpus() {
            let mut rec = Recorder::new(gpu);
            let up = |rec: &mut Recorder, v: &[f32]| GpuPlane { buf: rec.upload(v), kind: RawKind::F32, width: w as u32, height: h as u32 };
            let (ga, gb) = (up(&mut rec, &a), up(&mut rec, &b));
            let mp = u32_plane(&mut rec, &m, w, h);
            let r = filters::ratio(&mut rec, &ga, &gb, min_den, fallback).unwrap();
            let wo = filters::weight_outside(&mut rec, &mp).unwrap();
            let sel = filters::select_masked(&mut rec, &ga, &gb, &mp).unwrap();
            rec.submit();
            prop_assert!(read_f32(gpu, &wo) == want_weight, "{bk:?} weight_outside");
            prop_assert!(read_f32(gpu, &sel) == want_select, "{bk:?} select_masked");
            for (i, (g, c)) in read_f32(gpu, &r).iter().zip(&want_ratio).enumerate() {
                let ulp = 2.5 * c.abs() * f32::EPSILON;
                prop_assert!((g - c).abs() <= ulp, "{bk:?} ratio px {i}: gpu {g} cpu {c} ({} / {})", a[i], b[i]);
            }
        }
    }
}

/// Clipped moments ignore an outlier: a ring of 100s with one 10000 has mean 100, SD 0.
#[test]
fn clipped_moments_reject_outliers() {
    let (w, h) = (40usize, 1usize);
    let lab = vec![1u32; w * h];
    let mut v = vec![100u16; w];
    v[7] = 10_000;
    let plane = migrascope::image::Plane::new(w, h, migrascope::image::PlaneData::U16(v)).unwrap();
    for (bk, gpu) in gpus() {
        let mut rec = Recorder::new(gpu);
        let lp = u32_plane(&mut rec, &lab, w, h);
        let cp = ops::upload_plane(&mut rec, &plane).unwrap();
        let m = moments::record_clipped_moments(&mut rec, &lp, &cp, 1, 3.0).unwrap();
        rec.submit();
        let r = read_words(gpu, &m.records, 5);
        let range = read_words(gpu, &m.range, 2);
        let d = moments::decode(&r, [range[0], range[1]], RawKind::U16);
        assert_eq!(d[0], (39, 100.0, 0.0), "{bk:?}");
    }
}
