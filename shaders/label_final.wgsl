// The numbering half of labelling (see label.wgsl): root flags, then final labels from the
// exclusive scan of those flags.
#import common/index

const NONE: u32 = 0xffffffffu;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> parent: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

// out = 1 where the pixel is a root
@compute @workgroup_size(256)
fn roots(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        out[i] = select(0u, 1u, parent[i] == i);
    }
}

// out = final labels; rank = exclusive scan of the root flags (a root's 0-based number)
@group(0) @binding(3) var<storage, read> rank: array<u32>;

@compute @workgroup_size(256)
fn finalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        let r = parent[i];
        out[i] = select(rank[r] + 1u, 0u, r == NONE);
    }
}

// first[rank[r]] = r for every root r: each label's first pixel (raster order), 0-based label
@group(0) @binding(4) var<storage, read_write> first: array<u32>;

@compute @workgroup_size(256)
fn first_pixels(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        if (parent[i] == i) { first[rank[i]] = i; }
    }
}
