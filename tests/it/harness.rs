//! Test harness: one GPU context per backend under test, random planes, readback helpers.

use std::sync::OnceLock;

use migrascope::gpu::{BackendChoice, Gpu, GpuOptions, Recorder};
use migrascope::image::{Plane, PlaneData};
use migrascope::ops::GpuPlane;
use proptest::prelude::*;

/// Backends every GPU test runs on.
pub fn backends() -> Vec<BackendChoice> {
    let list = std::env::var("MIGRASCOPE_TEST_BACKENDS").unwrap_or_else(|_| "vulkan,gl".into());
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| BackendChoice::parse(s.trim()).expect("MIGRASCOPE_TEST_BACKENDS"))
        .collect()
}

/// One context per backend under test, created once; panics (fails loudly) when an adapter
/// is missing.
pub fn gpus() -> &'static [(BackendChoice, Gpu)] {
    static GPUS: OnceLock<Vec<(BackendChoice, Gpu)>> = OnceLock::new();
    GPUS.get_or_init(|| {
        backends()
            .into_iter()
            .map(|b| {
                let gpu = Gpu::new(&GpuOptions {
                    device: None,
                    backend: Some(b),
                })
                .unwrap_or_else(|e| panic!("no adapter for backend {b:?}: {e}"));
                (b, gpu)
            })
            .collect()
    })
}

/// Reads a whole u32 plane back.
pub fn read_u32(gpu: &Gpu, p: &GpuPlane) -> Vec<u32> {
    let mut rec = Recorder::new(gpu);
    let rb = rec.readback(&p.buf, 0, p.len() as u64 * 4);
    rec.submit();
    rb.wait_as(gpu).unwrap()
}

/// Reads a whole f32 plane back.
pub fn read_f32(gpu: &Gpu, p: &GpuPlane) -> Vec<f32> {
    let mut rec = Recorder::new(gpu);
    let rb = rec.readback(&p.buf, 0, p.len() as u64 * 4);
    rec.submit();
    rb.wait_as(gpu).unwrap()
}

/// Reads `n` u32 from the start of a buffer.
pub fn read_words(gpu: &Gpu, b: &migrascope::gpu::Buf, n: usize) -> Vec<u32> {
    let mut rec = Recorder::new(gpu);
    let rb = rec.readback(b, 0, n as u64 * 4);
    rec.submit();
    rb.wait_as(gpu).unwrap()
}

/// Plane sizes: mostly small random, plus the edge cases 1x1, 1xN, Nx1, 4099x3.
pub fn size() -> impl Strategy<Value = (usize, usize)> {
    prop_oneof![
        6 => (1usize..70, 1usize..70),
        1 => Just((1usize, 1usize)),
        1 => (1usize..300).prop_map(|w| (w, 1)),
        1 => (1usize..300).prop_map(|h| (1, h)),
        1 => Just((4099usize, 3usize)),
        1 => (200usize..400, 150usize..300),
    ]
}

/// Sample types the upload supports.
#[derive(Clone, Copy, Debug)]
pub enum Ty {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
}

pub fn ty() -> impl Strategy<Value = Ty> {
    prop_oneof![
        Just(Ty::U8),
        Just(Ty::I8),
        Just(Ty::U16),
        Just(Ty::I16),
        Just(Ty::U32),
        Just(Ty::I32),
        Just(Ty::F32)
    ]
}

/// A random plane of type `t` from `seed`; `levels` limits the number of distinct values
/// (small = big flat regions and ties).
pub fn plane(t: Ty, w: usize, h: usize, seed: u64, levels: u32) -> Plane {
    let mut s = seed | 1;
    let mut next = move || {
        // xorshift64*
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let n = w * h;
    let lv = levels.max(1) as u64;
    let data = match t {
        Ty::U8 => PlaneData::U8((0..n).map(|_| (next() % lv.min(256)) as u8).collect()),
        Ty::I8 => PlaneData::I8(
            (0..n)
                .map(|_| ((next() % lv.min(256)) as i64 - 128) as i8)
                .collect(),
        ),
        Ty::U16 => PlaneData::U16(
            (0..n)
                .map(|_| (next() % lv.min(65536) * (65535 / lv.clamp(1, 65535))) as u16)
                .collect(),
        ),
        Ty::I16 => PlaneData::I16(
            (0..n)
                .map(|_| ((next() % lv.min(65536)) as i64 - 30000).clamp(-32768, 32767) as i16)
                .collect(),
        ),
        Ty::U32 => PlaneData::U32((0..n).map(|_| (next() % lv) as u32 * 65_537).collect()),
        Ty::I32 => PlaneData::I32(
            (0..n)
                .map(|_| {
                    ((next() % lv) as i64 * 40_000 - 2_000_000_000)
                        .clamp(i32::MIN as i64, i32::MAX as i64) as i32
                })
                .collect(),
        ),
        Ty::F32 => PlaneData::F32((0..n).map(|_| (next() % lv) as f32 * 0.37 - 11.0).collect()),
    };
    Plane::new(w, h, data).unwrap()
}

/// A random 0/1 mask with foreground fraction ~ `fill`/100.
pub fn mask(w: usize, h: usize, seed: u64, fill: u64) -> Vec<u32> {
    let mut s = seed | 1;
    (0..w * h)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            (s.wrapping_mul(0x2545_F491_4F6C_DD1D) % 100 < fill) as u32
        })
        .collect()
}

/// Proptest config for GPU tests: each case runs on every backend, so keep the count modest.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Runs a command and asserts it succeeded (showing its stderr when not); returns its output.
pub fn run_ok(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().expect("the command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Asserts a run failed and printed exactly one non-empty line on stderr, starting with
/// `migrascope: `; returns that line.
pub fn one_error_line(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "should have failed");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("migrascope: "), "{err}");
    lines[0].to_string()
}

/// Asserts a run failed with exit code `code` (README, Commands) and one error line (see
/// [`one_error_line`]); returns that line.
pub fn fails_with(out: &std::process::Output, code: i32) -> String {
    let line = one_error_line(out);
    assert_eq!(out.status.code(), Some(code), "{line}");
    line
}
