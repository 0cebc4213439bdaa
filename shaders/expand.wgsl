// Exact Euclidean feature transform (Maurer et al. 2003, the algorithm and tie rules of
// scipy.ndimage.distance_transform_edt) and skimage.segmentation.expand_labels on top of it.
//   ft_cols   one invocation per column: nearest feature row in the column (ties: the upper)
//   ft_rows   one invocation per row: lower envelope of the column candidates (Voronoi along
//             the row), then each pixel's nearest feature (ties: the leftmost on the envelope)
//   assign    out = labels[feature] where squared distance <= max_d2, else 0
//   shell     out = labels[feature] (or 1) where from_d2 < squared distance <= to_d2 and the
//             exclusion mask is 0, else 0: an annulus in one pass (see ops::expand::Shell)
// Features are the nonzero label pixels. All arithmetic is integer (64-bit as u32 pairs), so
// every backend and the CPU reference (cpu::expand) agree exactly.
#import common/index
#import common/wide

const NONE: u32 = 0xffffffffu;

struct Params { width: u32, height: u32, max_d2_lo: u32, max_d2_hi: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
// ft_cols: row of the nearest feature in the column (NONE if the column has none)
@group(0) @binding(2) var<storage, read_write> col_ft: array<u32>;
// ft_rows: scratch stack (one row of width entries per row) and the result, a linear index
@group(0) @binding(3) var<storage, read_write> stack: array<u32>;
@group(0) @binding(4) var<storage, read_write> feature: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<u32>;

fn absdiff(a: u32, b: u32) -> u32 {
    return select(b - a, a - b, a > b);
}

@compute @workgroup_size(256)
fn ft_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let x = linear_id(wid, nwg, lid);
    let w = p.width;
    if (x >= w) { return; }
    // forward: the last feature at or above y
    var last = NONE;
    for (var y = 0u; y < p.height; y = y + 1u) {
        if (labels[y * w + x] != 0u) { last = y; }
        col_ft[y * w + x] = last;
    }
    // backward: the next feature at or below y; the upper one wins ties
    var next = NONE;
    for (var k = 0u; k < p.height; k = k + 1u) {
        let y = p.height - 1u - k;
        if (labels[y * w + x] != 0u) { next = y; }
        let up = col_ft[y * w + x];
        if (next != NONE && (up == NONE || (next - y) < (y - up))) {
            col_ft[y * w + x] = next;
        }
    }
}

// c*vR <= b*uR + a*wR + a*b*c (scipy: `c*vR - b*uR - a*wR - a*b*c <= 0` keeps g[l])
fn keeps(a: u32, b: u32, uR: u32, vR: u32, wR: u32) -> bool {
    let c = a + b;
    let lhs = wide_mul(c, vR);
    let rhs = wide_add(wide_add(wide_mul(b, uR), wide_mul(a, wR)), wide_mul(a * b, c));
    return wide_le(lhs, rhs);
}

fn dist2(fx: u32, fy: u32, x: u32, y: u32) -> vec2<u32> {
    let dx = absdiff(fx, x);
    let dy = absdiff(fy, y);
    return wide_add(wide_mul(dx, dx), wide_mul(dy, dy));
}

@compute @workgroup_size(256)
fn ft_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let y = linear_id(wid, nwg, lid);
    let w = p.width;
    if (y >= p.height) { return; }
    let row = y * w;
    // lower envelope of the candidates (column x, row col_ft) as seen from row y
    var l: i32 = -1;
    for (var x = 0u; x < w; x = x + 1u) {
        let fy = col_ft[row + x];
        if (fy == NONE) { continue; }
        let dw = absdiff(fy, y);
        let wR = dw * dw;
        loop {
            if (l < 1) { break; }
            let i1 = stack[row + u32(l)];
            let i2 = stack[row + u32(l - 1)];
            let du = absdiff(col_ft[row + i2], y);
            let dv = absdiff(col_ft[row + i1], y);
            if (keeps(i1 - i2, x - i1, du * du, dv * dv, wR)) { break; }
            l = l - 1;
        }
        l = l + 1;
        stack[row + u32(l)] = x;
    }
    let maxl = l;
    if (maxl < 0) {
        for (var x = 0u; x < w; x = x + 1u) { feature[row + x] = NONE; }
        return;
    }
    var k: i32 = 0;
    for (var x = 0u; x < w; x = x + 1u) {
        var c1 = stack[row + u32(k)];
        var d1 = dist2(c1, col_ft[row + c1], x, y);
        loop {
            if (k >= maxl) { break; }
            let c2 = stack[row + u32(k + 1)];
            let d2 = dist2(c2, col_ft[row + c2], x, y);
            if (wide_le(d1, d2)) { break; }
            d1 = d2;
            k = k + 1;
        }
        c1 = stack[row + u32(k)];
        feature[row + x] = col_ft[row + c1] * w + c1;
    }
}

@compute @workgroup_size(256)
fn assign(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        let w = p.width;
        if (i >= w * p.height) { return; }
        let f = feature[i];
        if (f == NONE) { out[i] = 0u; continue; }
        let d = dist2(f % w, f / w, i % w, i / w);
        out[i] = select(0u, labels[f], wide_le(d, vec2<u32>(p.max_d2_lo, p.max_d2_hi)));
    }
}

// ---- shell: bindings 1 labels, 4 feature, 5 out, 6 params, 7 exclusion mask ----
struct ShellParams { width: u32, height: u32, from_lo: u32, from_hi: u32,
                     to_lo: u32, to_hi: u32, as_one: u32, _p: u32 }

@group(0) @binding(6) var<storage, read> shell_in: ShellParams;
var<private> sp: ShellParams;
@group(0) @binding(7) var<storage, read> exclude: array<u32>;

// A pixel without a feature is infinitely far: beyond any `from` (even the largest), within
// `to` only when `to` is the largest value (then it takes 1, or 0 for a label: it has none).
@compute @workgroup_size(256)
fn shell(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    sp = shell_in;
    let w = sp.width;
    let near = vec2<u32>(sp.from_lo, sp.from_hi);
    let far = vec2<u32>(sp.to_lo, sp.to_hi);
    let everything = far.x == 0xffffffffu && far.y == 0xffffffffu;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= w * sp.height) { return; }
        let f = feature[i];
        var inside = everything;
        var v = select(0u, 1u, sp.as_one != 0u);
        if (f != NONE) {
            let d = dist2(f % w, f / w, i % w, i / w);
            inside = !wide_le(d, near) && wide_le(d, far);
            if (sp.as_one == 0u) { v = labels[f]; }
        }
        out[i] = select(0u, v, inside && exclude[i] == 0u);
    }
}
