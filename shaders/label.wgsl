// Connected-component labelling by union-find on the GPU (Playne & Hawick 2018 style).
// The input is a u32 plane: 0 is background, and neighbours join when their values are equal
// (skimage.measure.label on an integer image; a 0/1 mask is the common case).
//   init      parent[i] = the first pixel of i's run of equal values within its segment
//             (ACC_RUN consecutive pixels; runs are also cut at row starts), NONE for
//             background
//   merge     foreground pixels union with their earlier neighbours (left, up, and for
//             8-connectivity up-left and up-right) where init has not joined them already;
//             union is lock-free: roots only ever point to smaller indices via atomicMin, so
//             the root of a component is its first pixel in raster order
//   compress  parent[i] = root(i), and each root's number within its segment, and the
//             segment's count of roots (then ops::scan numbers the segments' roots)
//   finalize  label[i] = rank(root(i)) + 1, the numbering of skimage.measure.label (rank: the
//             root's number in raster order)
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

// init, merge and compress take ACC_RUN consecutive pixels per invocation (grid_run): init
// hangs every pixel of a run of equal values within that segment (cut at row starts) under
// the run's first pixel there (parents still point to smaller indices), so merge only unions where a
// run can meet another tree: a segment's first pixel with its left neighbour, and a pixel
// with the row above where the pixel to its left does not already join it (left and
// up-left both equal). Every union it skips is implied by those it makes, so the
// components, and the roots (each component's first pixel), are those of all unions.
@compute @workgroup_size(256)
fn init(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let w = p.width;
    var start = NONE;
    var prev = 0u;
    for (var item = 0u; item < ACC_RUN; item = item + 1u) {
        let i = run_id(wid, nwg, lid, item);
        if (i >= w * p.height) { return; }
        let v = mask[i];
        if (v == 0u) {
            atomicStore(&parent[i], NONE);
        } else {
            if (item == 0u || i % w == 0u || v != prev) { start = i; }
            atomicStore(&parent[i], start);
        }
        prev = v;
    }
}

// The unions a pixel needs are listed first and made at one call site: on SIMD backends
// (lavapipe) a group of lanes runs every call site that any of its lanes takes.
@compute @workgroup_size(256)
fn merge(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let w = p.width;
    for (var item = 0u; item < ACC_RUN; item = item + 1u) {
        let i = run_id(wid, nwg, lid, item);
        if (i >= w * p.height) { return; }
        let v = mask[i];
        if (v == 0u) { continue; }
        let x = i % w;
        let y = i / w;
        // the targets in registers, flagged in `todo` (a dynamically indexed array would
        // live in memory on CPU adapters)
        var t0 = 0u;
        var t1 = 0u;
        var t2 = 0u;
        var todo = 0u;
        let left = x > 0u && mask[i - 1u] == v;
        // within the segment, init already joined i to its left neighbour's run
        if (left && item == 0u) { t0 = i - 1u; todo = 1u; }
        if (y > 0u) {
            let up = mask[i - w] == v;
            let up_left = x > 0u && mask[i - w - 1u] == v;
            // left and up-left equal: i ~ i-1 ~ i-w-1 ~ i-w already
            if (up && !(left && up_left)) { t1 = i - w; todo = todo | 2u; }
            if (p.conn == 8u) {
                // up-left is already joined through left or up when either has the same
                // value (so never with up: it shares t1); up-right through up
                if (up_left && !left && !up) { t1 = i - w - 1u; todo = todo | 2u; }
                if (x + 1u < w && !up && mask[i - w + 1u] == v) { t2 = i - w + 1u; todo = todo | 4u; }
            }
        }
        loop {
            if (todo == 0u) { break; }
            let k = countTrailingZeros(todo);
            todo = todo & (todo - 1u);
            union_sets(i, select(select(t2, t1, k == 1u), t0, k == 0u));
        }
    }
}

// parent[i] = root(i); for a root, local[i] = the number of roots before it in its segment,
// and counts[segment] = the segment's roots (an exclusive scan of the counts then numbers
// the roots in raster order: label_final::finalize)
@group(0) @binding(3) var<storage, read_write> local: array<u32>;
@group(0) @binding(4) var<storage, read_write> counts: array<u32>;

@compute @workgroup_size(256)
fn compress(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    var c = 0u;
    for (var item = 0u; item < ACC_RUN; item = item + 1u) {
        let i = run_id(wid, nwg, lid, item);
        if (i >= p.width * p.height) { break; }
        if (mask[i] == 0u) { continue; }
        let r = find_root(i);
        atomicStore(&parent[i], r);
        if (r == i) {
            local[i] = c;
            c = c + 1u;
        }
    }
    let seg = linear_id(wid, nwg, lid);
    if (seg * ACC_RUN < p.width * p.height) { counts[seg] = c; }
}
