// The numbering half of labelling (see label.wgsl): final labels from label::compress's
// per-segment root numbers and the exclusive scan of its segment counts.
#import common/index

const NONE: u32 = 0xffffffffu;

// capacity: first_pixels only (the labels it records)
struct Params { n: u32, _kind: u32, capacity: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> parent: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

// out = final labels: root r is number offsets[segment of r] + local[r] (0-based) in raster
// order
@group(0) @binding(3) var<storage, read> local: array<u32>;
@group(0) @binding(5) var<storage, read> offsets: array<u32>;

@compute @workgroup_size(256)
fn finalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        let r = parent[i];
        if (r == NONE) { out[i] = 0u; continue; }
        out[i] = offsets[r / ACC_RUN] + local[r] + 1u;
    }
}

// first[label - 1] = r for every root r with a label up to the capacity: each
// label's first pixel in raster order. `labels` may be relabelled (kept components
// renumbered in order): a kept component's root is still its first pixel.
@group(0) @binding(7) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> first: array<u32>;


@compute @workgroup_size(256)
fn first_pixels(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        let l = labels[i];
        if (parent[i] == i && l != 0u && l <= p.capacity) { first[l - 1u] = i; }
    }
}
