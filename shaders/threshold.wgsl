// mask = value > threshold, compared as order-preserving keys (exact for every kind; the host
// passes the key of the largest representable value <= the real threshold, or sets `all`
// when every value is above it). NaN is never in.
#import common/index
#import common/raw

struct Params { n: u32, kind: u32, key: u32, all: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> raw: array<u32>;
@group(0) @binding(2) var<storage, read_write> mask: array<u32>;

@compute @workgroup_size(256)
fn above(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        let bits = raw_bits(raw[raw_word(i, p.kind)], i, p.kind);
        mask[i] = select(0u, 1u, !raw_is_nan(bits, p.kind) && (p.all != 0u || raw_key(bits, p.kind) > p.key));
    }
}
