// Per-component "any": a component is flagged when any of its pixels is set in `cond`, and the
// flag is painted on every pixel of the component. Works on the compressed union-find parents
// of label.wgsl (parent[i] = the component's root, NONE for background), so it needs no
// per-label table and no capacity.
//   mark    flags[root(i)] = 1 where cond[i] != 0       (flags zeroed beforehand)
//   spread  out[i] = flags[root(i)], 0 on background
#import common/index

const NONE: u32 = 0xffffffffu;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> parent: array<u32>;
@group(0) @binding(2) var<storage, read> cond: array<u32>;
@group(0) @binding(3) var<storage, read_write> flags: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(256)
fn mark(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        let r = parent[i];
        if (r != NONE && cond[i] != 0u) { atomicStore(&flags[r], 1u); }
    }
}

@compute @workgroup_size(256)
fn spread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        let r = parent[i];
        out[i] = select(atomicLoad(&flags[r]), 0u, r == NONE);
    }
}
