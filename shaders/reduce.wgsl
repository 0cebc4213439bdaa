// Min and max over a plane, as order-preserving keys (see common/raw.wgsl), NaN skipped.
// out[0] must start at 0xffffffff and out[1] at 0 (ops::minmax writes them).
#import common/index
#import common/raw

struct Params { n: u32, kind: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> raw: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<atomic<u32>, 2>;

var<workgroup> wmin: array<u32, 256>;
var<workgroup> wmax: array<u32, 256>;

// Each invocation folds FLOAT_ITEMS samples (strided by the workgroup size, so neighbours read
// neighbours), then the workgroup tree-reduces: few barriers per sample, which matters on CPU
// adapters where a barrier switches between every invocation.
const FLOAT_ITEMS: u32 = 32u; // gpu: ops::minmax grid
@compute @workgroup_size(256)
fn minmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let base = ((wid.y * nwg.x + wid.x) * WG) * FLOAT_ITEMS + lid.x;
    var lo = 0xffffffffu;
    var hi = 0u;
    for (var k = 0u; k < FLOAT_ITEMS; k = k + 1u) {
        let i = base + k * WG;
        if (i < p.n) {
            let bits = raw_bits(raw[raw_word(i, p.kind)], i, p.kind);
            if (!raw_is_nan(bits, p.kind)) {
                let key = raw_key(bits, p.kind);
                lo = min(lo, key);
                hi = max(hi, key);
            }
        }
    }
    wmin[lid.x] = lo;
    wmax[lid.x] = hi;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid.x < s) {
            wmin[lid.x] = min(wmin[lid.x], wmin[lid.x + s]);
            wmax[lid.x] = max(wmax[lid.x], wmax[lid.x + s]);
        }
        workgroupBarrier();
    }
    if (lid.x == 0u) {
        atomicMin(&out[0], wmin[0]);
        atomicMax(&out[1], wmax[0]);
    }
}
