// Histograms for thresholds.
// hist_int:   one bin per integer value from min to max (keys: bin = key - min_key), as
//             scikit-image does for integer images.
// hist_float: 256 bins over [min, max] of the values; bin k holds v with
//             (v - min) >= k * step, step = (max - min) / 256 (a power-of-two division, exact);
//             found by binary search on products and compares only, so every backend and the
//             CPU reference (cpu::histogram) agree bit for bit (no division, nothing to fuse).
#import common/index
#import common/raw

struct Params { n: u32, kind: u32, nbins: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> raw: array<u32>;
@group(0) @binding(2) var<storage, read> range: array<u32, 2>;
@group(0) @binding(3) var<storage, read_write> hist: array<atomic<u32>>;

var<workgroup> local_hist: array<atomic<u32>, 256>;

// hist_float: FLOAT_ITEMS samples per invocation (strided by the workgroup size), so each workgroup's
// private histogram and its two barriers serve WG * FLOAT_ITEMS samples.
const FLOAT_ITEMS: u32 = 32u;

@compute @workgroup_size(256)
fn hist_int(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        let bits = raw_bits(raw[raw_word(i, p.kind)], i, p.kind);
        let bin = raw_key(bits, p.kind) - range[0];
        if (bin < p.nbins) {
            atomicAdd(&hist[bin], 1u);
        }
    }
}

fn float_bin(v: f32, lo: f32, step: f32) -> u32 {
    let d = v - lo;
    var a = 0u;   // invariant: d >= f32(a) * step
    var b = 256u; // invariant: d <  f32(b) * step, or b == 256
    loop {
        if (b - a <= 1u) { break; }
        let m = (a + b) >> 1u;
        if (d >= f32(m) * step) { a = m; } else { b = m; }
    }
    return a;
}

@compute @workgroup_size(256)
fn hist_float(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    atomicStore(&local_hist[lid.x], 0u);
    workgroupBarrier();
    let lo = key_f32(range[0]);
    let hi = key_f32(range[1]);
    let step = (hi - lo) * 0.00390625;
    let base = ((wid.y * nwg.x + wid.x) * WG) * FLOAT_ITEMS + lid.x;
    for (var k = 0u; k < FLOAT_ITEMS; k = k + 1u) {
        let i = base + k * WG;
        if (i < p.n) {
            let bits = raw_bits(raw[raw_word(i, p.kind)], i, p.kind);
            if (!raw_is_nan(bits, p.kind)) {
                atomicAdd(&local_hist[float_bin(raw_f32(bits, p.kind), lo, step)], 1u);
            }
        }
    }
    workgroupBarrier();
    let c = atomicLoad(&local_hist[lid.x]);
    if (c != 0u) {
        atomicAdd(&hist[lid.x], c);
    }
}
