// Per-label count, sum and sum of squares of a channel, in fixed point, optionally only over
// pixels inside per-label bounds; and bounds mean +- k SD from such moments. Together they
// give a sigma-clipped (robust) mean and SD of a local background (e.g. an annulus).
//   moments  per label: n, sum (64-bit two's complement), sumsq (64-bit), of v * 2^e where
//            e = 20 - bits(max|v|) (mirrors cpu::moments::exponent), so |v * 2^e| < 2^21:
//            integer samples up to 20 bits are exact; squares and sums fit 64 bits for any
//            label smaller than 2^22 pixels
//   bounds   lo/hi per label = mean -+ k * sd (f32, value units) from a moments record
#import common/index
#import common/raw
#import common/wide

const REC: u32 = 5u; // n, sum lo, sum hi, sumsq lo, sumsq hi

struct Params { n: u32, capacity: u32, kind: u32, use_bounds: u32, k: f32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read> raw: array<u32>;
@group(0) @binding(3) var<storage, read> range: array<u32, 2>;
@group(0) @binding(4) var<storage, read> bounds_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> rec: array<atomic<u32>>;

fn bit_length(x: u32) -> i32 {
    return 32 - i32(countLeadingZeros(x));
}

fn exponent() -> i32 {
    let lo = raw_f32(range[0] ^ select(0u, 0x80000000u, is_signed_kind(p.kind)), p.kind);
    let hi = raw_f32(range[1] ^ select(0u, 0x80000000u, is_signed_kind(p.kind)), p.kind);
    var a = max(abs(lo), abs(hi));
    if (p.kind == K_F32) { a = max(abs(key_f32(range[0])), abs(key_f32(range[1]))); }
    let ea = i32((bitcast<u32>(a) >> 23u) & 0xffu) - 126; // a < 2^ea
    return clamp(20 - ea, -126, 126);
}

fn add_wide(base: u32, v: vec2<u32>) {
    let old = atomicAdd(&rec[base], v.x);
    var carry = 0u;
    if (old + v.x < old) { carry = 1u; }
    let hi = v.y + carry;
    if (hi != 0u) { atomicAdd(&rec[base + 1u], hi); }
}

fn flush(l: u32, n: u32, s: vec2<u32>, sq: vec2<u32>) {
    if (l == 0u || n == 0u) { return; }
    let b = (l - 1u) * REC;
    atomicAdd(&rec[b], n);
    add_wide(b + 1u, s);
    add_wide(b + 3u, sq);
}

// Running moments of one label: count, sum and sum of squares (64-bit pairs).
struct Acc { n: u32, s: vec2<u32>, sq: vec2<u32> }

// The sample at pixel i if it counts for label l (not NaN, inside l's bounds if any),
// as its fixed-point integer x = trunc(v * 2^e); ok false otherwise.
struct Sample { ok: bool, x: f32 }

fn sample(i: u32, l: u32, e: i32) -> Sample {
    let bits = raw_bits(raw[raw_word(i, p.kind)], i, p.kind);
    if (raw_is_nan(bits, p.kind)) { return Sample(false, 0.0); }
    let v = raw_f32(bits, p.kind);
    if (p.use_bounds != 0u) {
        let lo = bounds_in[2u * (l - 1u)];
        let hi = bounds_in[2u * (l - 1u) + 1u];
        if (v < lo || v > hi) { return Sample(false, 0.0); }
    }
    return Sample(true, trunc(ldexp(v, e)));
}

fn accumulate(a: Acc, x: f32) -> Acc {
    let ax = u32(abs(x));
    var sx = vec2<u32>(ax, 0u);
    if (x < 0.0) { sx = wide_neg(sx); }
    return Acc(a.n + 1u, wide_add(a.s, sx), wide_add(a.sq, wide_mul(ax, ax)));
}

fn flush_acc(l: u32, a: Acc) {
    flush(l, a.n, a.s, a.sq);
}

const ZERO: Acc = Acc(0u, vec2<u32>(0u, 0u), vec2<u32>(0u, 0u));

// A run of consecutive pixels with the same label is summed in registers and flushed with
// one set of atomics (a large label would otherwise serialize its pixels on one address).
@compute @workgroup_size(256)
fn moments(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let e = exponent();
    var cur = 0u;
    var a = ZERO;
    for (var item = 0u; item < ACC_RUN; item = item + 1u) {
        let i = run_id(wid, nwg, lid, item);
        if (i >= p.n) { break; }
        let l = labels[i];
        if (l == 0u || l > p.capacity) { continue; }
        let smp = sample(i, l, e);
        if (!smp.ok) { continue; }
        if (l != cur) {
            flush_acc(cur, a);
            cur = l;
            a = ZERO;
        }
        a = accumulate(a, smp.x);
    }
    flush_acc(cur, a);
}

// Pixels per invocation of `moments_whole` (the host sizes its grid with it).
const WHOLE_RUN: u32 = 128u;

// The whole frame as label 1 (no label image read): every invocation sums WHOLE_RUN
// consecutive pixels and flushes once, so the one record sees few atomics.
@compute @workgroup_size(256)
fn moments_whole(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let e = exponent();
    var a = ZERO;
    let base = linear_id(wid, nwg, lid) * WHOLE_RUN;
    for (var item = 0u; item < WHOLE_RUN; item = item + 1u) {
        let i = base + item;
        if (i >= p.n) { break; }
        let smp = sample(i, 1u, e);
        if (smp.ok) { a = accumulate(a, smp.x); }
    }
    flush_acc(1u, a);
}

// ---- bounds: bindings 0 params, 3 range, 6 moments records, 7 bounds out ----
@group(0) @binding(6) var<storage, read> mrec: array<u32>;
@group(0) @binding(7) var<storage, read_write> bounds_out: array<f32>;

fn wide_f32(lo: u32, hi: u32) -> f32 {
    if ((hi & 0x80000000u) != 0u) {
        let v = wide_neg(vec2<u32>(lo, hi));
        return -(f32(v.y) * 4294967296.0 + f32(v.x));
    }
    return f32(hi) * 4294967296.0 + f32(lo);
}

@compute @workgroup_size(256)
fn bounds(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let l = linear_id(wid, nwg, lid);
    if (l >= p.capacity) { return; }
    let b = l * REC;
    let n = f32(mrec[b]);
    let scale = ldexp(1.0, -exponent());
    if (mrec[b] == 0u) {
        bounds_out[2u * l] = 1.0;
        bounds_out[2u * l + 1u] = -1.0; // empty: nothing passes
        return;
    }
    let mean = wide_f32(mrec[b + 1u], mrec[b + 2u]) / n;
    let var_ = max(wide_f32(mrec[b + 3u], mrec[b + 4u]) / n - mean * mean, 0.0);
    let sd = sqrt(var_);
    bounds_out[2u * l] = (mean - p.k * sd) * scale;
    bounds_out[2u * l + 1u] = (mean + p.k * sd) * scale;
}

// ---- low_contrast: bindings 0 params, 8 inside bounds, 9 ring bounds, 10 flags out ----
// From two bounds records with k = 0 (lo = hi = the mean; lo > hi when empty): flag 1 where
// a label's mean stands above the mean of its ring by less than the fraction k of itself,
// (inside - ring) < k * inside; 0 where either is empty.
@group(0) @binding(8) var<storage, read> inside_b: array<f32>;
@group(0) @binding(9) var<storage, read> ring_b: array<f32>;
@group(0) @binding(10) var<storage, read_write> flags_out: array<u32>;

@compute @workgroup_size(256)
fn low_contrast(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let l = linear_id(wid, nwg, lid);
    if (l >= p.capacity) { return; }
    let a = inside_b[2u * l];
    let b = ring_b[2u * l];
    let known = a <= inside_b[2u * l + 1u] && b <= ring_b[2u * l + 1u];
    flags_out[l] = select(0u, 1u, known && (a - b) < p.k * a);
}
