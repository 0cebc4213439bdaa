// Per-label statistics in one pass over the label image, for any number of labels.
//   init_geometry / init_channel  reset `capacity` records
//   geometry  per label: area, bbox (min x, min y, max x, max y), sum x, sum y (64-bit pairs)
//   channel   per label and channel: 64-bit sum, min key, max key of the raw samples
// Labels above `capacity` are not counted; `over` records the largest label seen so the
// host can grow the buffers and measure again (ops::label_statistics).
// Sums are exact: integers as 64-bit two's complement; float samples as fixed point
// v * 2^e truncated toward zero, e = 61 - bits(max|v|) - bits(n) chosen from the channel's
// range so no sum can overflow (see cpu::measure::fixed_exponent).
#import common/index
#import common/raw
#import common/wide

const GEO: u32 = 9u;  // words per geometry record
const CHN: u32 = 4u;  // words per channel record

struct Params { width: u32, height: u32, capacity: u32, kind: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> stats: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> over: array<atomic<u32>, 1>;

fn add_wide(base: u32, v: vec2<u32>) {
    let old = atomicAdd(&stats[base], v.x);
    var carry = 0u;
    if (old + v.x < old) { carry = 1u; }
    let hi = v.y + carry;
    if (hi != 0u) { atomicAdd(&stats[base + 1u], hi); }
}

@compute @workgroup_size(256)
fn init_geometry(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let l = linear_id(wid, nwg, lid);
    if (l >= p.capacity) { return; }
    let b = l * GEO;
    atomicStore(&stats[b], 0u);
    atomicStore(&stats[b + 1u], 0xffffffffu);
    atomicStore(&stats[b + 2u], 0xffffffffu);
    atomicStore(&stats[b + 3u], 0u);
    atomicStore(&stats[b + 4u], 0u);
    for (var k = 5u; k < GEO; k = k + 1u) { atomicStore(&stats[b + k], 0u); }
    if (l == 0u) { atomicStore(&over[0], 0u); }
}

fn flush_geometry(l: u32, n: u32, lo: vec2<u32>, hi: vec2<u32>, sx: vec2<u32>, sy: vec2<u32>) {
    if (n == 0u) { return; }
    let b = (l - 1u) * GEO;
    atomicAdd(&stats[b], n);
    atomicMin(&stats[b + 1u], lo.x);
    atomicMin(&stats[b + 2u], lo.y);
    atomicMax(&stats[b + 3u], hi.x);
    atomicMax(&stats[b + 4u], hi.y);
    add_wide(b + 5u, sx);
    add_wide(b + 7u, sy);
}

// A run of pixels with one label is gathered in registers (64-bit coordinate sums, exact
// for any width) and flushed with one set of atomics.
@compute @workgroup_size(256)
fn geometry(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    var cur = 0u;
    var n = 0u;
    var lo = vec2<u32>(0xffffffffu, 0xffffffffu);
    var hi = vec2<u32>(0u, 0u);
    var sx = vec2<u32>(0u, 0u);
    var sy = vec2<u32>(0u, 0u);
    for (var item = 0u; item < ACC_RUN; item = item + 1u) {
        let i = run_id(wid, nwg, lid, item);
        if (i >= p.width * p.height) { break; }
        let l = labels[i];
        if (l == 0u) { continue; }
        if (l > p.capacity) { atomicMax(&over[0], l); continue; }
        if (l != cur) {
            flush_geometry(cur, n, lo, hi, sx, sy);
            cur = l;
            n = 0u;
            lo = vec2<u32>(0xffffffffu, 0xffffffffu);
            hi = vec2<u32>(0u, 0u);
            sx = vec2<u32>(0u, 0u);
            sy = vec2<u32>(0u, 0u);
        }
        let c = vec2<u32>(i % p.width, i / p.width);
        n = n + 1u;
        lo = min(lo, c);
        hi = max(hi, c);
        sx = wide_add(sx, vec2<u32>(c.x, 0u));
        sy = wide_add(sy, vec2<u32>(c.y, 0u));
    }
    flush_geometry(cur, n, lo, hi, sx, sy);
}

// ---- per channel ----
@group(0) @binding(4) var<storage, read> raw: array<u32>;
@group(0) @binding(5) var<storage, read> range: array<u32, 2>;

@compute @workgroup_size(256)
fn init_channel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let l = linear_id(wid, nwg, lid);
    if (l >= p.capacity) { return; }
    let b = l * CHN;
    atomicStore(&stats[b], 0u);
    atomicStore(&stats[b + 1u], 0u);
    atomicStore(&stats[b + 2u], 0xffffffffu);
    atomicStore(&stats[b + 3u], 0u);
}

fn bit_length(x: u32) -> i32 {
    return 32 - i32(countLeadingZeros(x));
}

// Fixed-point exponent for float sums (mirrors cpu::measure::fixed_exponent).
fn fixed_exponent() -> i32 {
    let a = max(abs(key_f32(range[0])), abs(key_f32(range[1])));
    let ea = i32((bitcast<u32>(a) >> 23u) & 0xffu) - 126; // a < 2^ea
    return clamp(61 - ea - bit_length(p.width * p.height), -126, 126);
}

fn flush_channel(l: u32, n: u32, sum: vec2<u32>, kmin: u32, kmax: u32) {
    if (n == 0u) { return; }
    let b = (l - 1u) * CHN;
    add_wide(b, sum);
    atomicMin(&stats[b + 2u], kmin);
    atomicMax(&stats[b + 3u], kmax);
}

// Runs of one label are gathered in registers as in `geometry` (64-bit sums wrap exactly
// like the atomics they replace).
@compute @workgroup_size(256)
fn channel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    var e = 0;
    if (p.kind == K_F32) { e = fixed_exponent(); }
    var cur = 0u;
    var n = 0u;
    var sum = vec2<u32>(0u, 0u);
    var kmin = 0xffffffffu;
    var kmax = 0u;
    for (var item = 0u; item < ACC_RUN; item = item + 1u) {
        let i = run_id(wid, nwg, lid, item);
        if (i >= p.width * p.height) { break; }
        let l = labels[i];
        if (l == 0u || l > p.capacity) { continue; }
        let bits = raw_bits(raw[raw_word(i, p.kind)], i, p.kind);
        if (raw_is_nan(bits, p.kind)) { continue; }
        if (l != cur) {
            flush_channel(cur, n, sum, kmin, kmax);
            cur = l;
            n = 0u;
            sum = vec2<u32>(0u, 0u);
            kmin = 0xffffffffu;
            kmax = 0u;
        }
        var v: vec2<u32>;
        if (p.kind == K_F32) {
            v = wide_from_f32_int(ldexp(bitcast<f32>(bits), e));
        } else {
            v = wide_from_bits(bits, is_signed_kind(p.kind));
        }
        n = n + 1u;
        sum = wide_add(sum, v);
        let key = raw_key(bits, p.kind);
        kmin = min(kmin, key);
        kmax = max(kmax, key);
    }
    flush_channel(cur, n, sum, kmin, kmax);
}
