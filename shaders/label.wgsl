// Connected-component labelling by union-find on the GPU (Playne & Hawick 2018 style).
// The input is a u32 plane: 0 is background, and neighbours join when their values are equal
// (skimage.measure.label on an integer image; a 0/1 mask is the common case).
//   init      parent[i] = i for foreground pixels, NONE for background
//   merge     every foreground pixel unions itself with its earlier neighbours (left, up,
//             and for 8-connectivity up-left and up-right); union is lock-free: roots only
//             ever point to smaller indices via atomicMin, so the root of a component is its
//             first pixel in raster order
//   compress  parent[i] = root(i)
//   roots     flag[i] = 1 where i is a root (then ops::scan numbers the roots in raster order)
//   finalize  label[i] = rank(root(i)) + 1: the numbering of skimage.measure.label
#import common/index

const NONE: u32 = 0xffffffffu;

struct Params { width: u32, height: u32, conn: u32, _p: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> mask: array<u32>;
@group(0) @binding(2) var<storage, read_write> parent: array<atomic<u32>>;

fn find_root(start: u32) -> u32 {
    var r = start;
    loop {
        let q = atomicLoad(&parent[r]);
        if (q == r) { return r; }
        r = q;
    }
    return r;
}

fn union_sets(a0: u32, b0: u32) {
    var a = a0;
    var b = b0;
    loop {
        a = find_root(a);
        b = find_root(b);
        if (a == b) { return; }
        if (a < b) { let t = a; a = b; b = t; }
        // a > b: hang root a under b. If a stopped being a root meanwhile, its new parent
        // `old` must still be joined with b, so carry on with it.
        let old = atomicMin(&parent[a], b);
        if (old == a) { return; }
        a = old;
    }
}

@compute @workgroup_size(256)
fn init(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.width * p.height) { return; }
        atomicStore(&parent[i], select(NONE, i, mask[i] != 0u));
    }
}

@compute @workgroup_size(256)
fn merge(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        let w = p.width;
        if (i >= w * p.height) { return; }
        let v = mask[i];
        if (v == 0u) { continue; }
        let x = i % w;
        let y = i / w;
        let left = x > 0u && mask[i - 1u] == v;
        if (left) { union_sets(i, i - 1u); }
        if (y > 0u) {
            let up = mask[i - w] == v;
            if (up) { union_sets(i, i - w); }
            if (p.conn == 8u) {
                // up-left is already joined through left or up when either has the same value;
                // up-right through up
                if (x > 0u && !left && !up && mask[i - w - 1u] == v) { union_sets(i, i - w - 1u); }
                if (x + 1u < w && !up && mask[i - w + 1u] == v) { union_sets(i, i - w + 1u); }
            }
        }
    }
}

@compute @workgroup_size(256)
fn compress(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.width * p.height) { return; }
        if (mask[i] == 0u) { continue; }
        atomicStore(&parent[i], find_root(i));
    }
}
