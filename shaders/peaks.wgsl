// Local maxima with skimage.feature.peak_local_max semantics:
//   candidates  v == max over the (2d+1)^2 window (mode 'nearest'), v > threshold, outside
//               the excluded border; threshold = max(threshold_abs or the image minimum,
//               threshold_rel * image maximum), from the image's [min, max] keys. Also flags
//               whether any pixel differs from its window maximum (a flat image has no peaks).
//   resolve     one round of the greedy spacing rule (skimage's _ensure_spacing): candidates
//               are taken by decreasing value, ties in raster order, and each one taken
//               rejects the candidates closer than d (Chebyshev). Two candidates closer than d
//               have equal values (each is its window's maximum), so priority among them is the
//               raster index. A candidate is kept once every higher-priority neighbour is
//               rejected, rejected once one is kept; rounds repeat until nothing is undecided.
// state: 0 not a peak, 1 undecided, 2 kept, 3 rejected.
#import common/index
#import common/raw

struct Params { width: u32, height: u32, dist: u32, border: u32,
                abs_thr: f32, rel_thr: f32, use_abs: u32, use_rel: u32,
                use_within: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> img: array<f32>;
@group(0) @binding(2) var<storage, read> range: array<u32, 2>;
@group(0) @binding(3) var<storage, read_write> state: array<atomic<u32>>;
// counters[VARIED]: nonzero once any pixel differs from its window maximum (a flat image has
// no peaks); counters[LISTED]: the candidates in `list`
@group(0) @binding(4) var<storage, read_write> counters: array<atomic<u32>, 2>;
const VARIED: u32 = 0u;
const LISTED: u32 = 1u;
// undecided candidates after this round (only the last round's counter is read back)
@group(0) @binding(5) var<storage, read_write> undecided: array<atomic<u32>, 1>;
// the candidates' pixel indices (any order; counters[LISTED] of them): the rounds visit only
// them
@group(0) @binding(8) var<storage, read_write> list: array<u32>;

@compute @workgroup_size(256)
fn candidates(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    // set once per invocation: one atomic on one address per pixel is slow on every backend
    var varied = false;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        let w = p.width;
        if (i >= w * p.height) { break; }
        let x = i32(i % w);
        let y = i32(i / w);
        let d = i32(p.dist);
        if (p.use_within != 0u && within[i] == 0u) { atomicStore(&state[i], 0u); varied = true; continue; }
        let v = img[i];
        var mx = v;
        for (var dy = -d; dy <= d; dy = dy + 1) {
            let row = clamp_idx(y + dy, p.height) * w;
            for (var dx = -d; dx <= d; dx = dx + 1) {
                mx = max(mx, img[row + clamp_idx(x + dx, w)]);
            }
        }
        if (v != mx) { varied = true; }
        var thr = key_f32(range[0]);
        if (p.use_abs != 0u) { thr = p.abs_thr; }
        if (p.use_rel != 0u) { thr = max(thr, p.rel_thr * key_f32(range[1])); }
        let b = p.border;
        let inside = u32(x) >= b && u32(y) >= b && u32(x) + b < w && u32(y) + b < p.height;
        let cand = v == mx && v > thr && inside;
        atomicStore(&state[i], select(0u, 1u, cand));
        if (cand) { list[atomicAdd(&counters[LISTED], 1u)] = i; }
    }
    if (varied) { atomicOr(&counters[VARIED], 1u); }
}

// args: the work-group counts of a dispatch over the candidate list (folded into x and y
// like gpu::grid_1d), for dispatch_workgroups_indirect
@group(0) @binding(10) var<storage, read_write> args: array<u32, 3>;

@compute @workgroup_size(1)
fn list_args() {
    let groups = (atomicLoad(&counters[LISTED]) + WG - 1u) / WG;
    let x = min(groups, 65535u);
    args[0] = x;
    args[1] = select(1u, (groups + x - 1u) / max(x, 1u), groups > 0u);
    args[2] = 1u;
}

// One round over the candidate list (one invocation per candidate; the list's order does
// not matter: a neighbour decided during the round is as valid as one decided before).
@compute @workgroup_size(256)
fn resolve(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let k = linear_id(wid, nwg, lid);
    if (k >= atomicLoad(&counters[LISTED])) { return; }
    let i = list[k];
    let w = p.width;
    if (atomicLoad(&counters[VARIED]) == 0u) { atomicStore(&state[i], 0u); return; }
    if (atomicLoad(&state[i]) != 1u) { return; }
    let x = i32(i % w);
    let y = i32(i / w);
    let r = i32(p.dist) - 1; // closer than d
    var all_rejected = true;
    var rejected = false;
    for (var dy = -r; dy <= r && !rejected; dy = dy + 1) {
        let yy = y + dy;
        if (yy < 0 || yy >= i32(p.height)) { continue; }
        for (var dx = -r; dx <= r; dx = dx + 1) {
            let xx = x + dx;
            if (xx < 0 || xx >= i32(w)) { continue; }
            let j = u32(yy) * w + u32(xx);
            if (j >= i) { continue; }   // only earlier (higher-priority) candidates
            // neighbours may be decided during this round; any value read is a valid state
            let s = atomicLoad(&state[j]);
            if (s == 2u) { rejected = true; break; }
            if (s == 1u) { all_rejected = false; }
        }
    }
    if (rejected) {
        atomicStore(&state[i], 3u);
    } else if (all_rejected) {
        atomicStore(&state[i], 2u);
    } else {
        atomicAdd(&undecided[0], 1u);
    }
}

// bindings: 0 params, 3 state, 6 mask out. mask = 1 where the candidate was kept.
@group(0) @binding(6) var<storage, read_write> mask: array<u32>;
// candidates: with use_within, only pixels where within != 0 are considered (the others are
// not peaks), which skips the window scan over most of the frame
@group(0) @binding(7) var<storage, read> within: array<u32>;

@compute @workgroup_size(256)
fn kept(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.width * p.height) { return; }
        mask[i] = select(0u, 1u, atomicLoad(&state[i]) == 2u);
    }
}
