// Resampling for large-scale background estimates (rolling-ball-like background subtraction
// runs at a reduced size, where a cell-sized disk is small).
//   down_mean    dst(x, y) = mean of the F x F block at (x F, y F) of src (partial blocks at
//                the right and bottom edges average the pixels they have)
//   up_bilinear  dst(x, y) = bilinear sample of src at ((x + 0.5) / F - 0.5, (y + 0.5) / F - 0.5),
//                coordinates clamped to the small image (edges extend)
#import common/index

struct Params { src_w: u32, src_h: u32, dst_w: u32, dst_h: u32, factor: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn down_mean(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.dst_w * p.dst_h) { return; }
        let x0 = (i % p.dst_w) * p.factor;
        let y0 = (i / p.dst_w) * p.factor;
        let x1 = min(x0 + p.factor, p.src_w);
        let y1 = min(y0 + p.factor, p.src_h);
        var acc = 0.0;
        for (var y = y0; y < y1; y = y + 1u) {
            for (var x = x0; x < x1; x = x + 1u) {
                acc = acc + src[y * p.src_w + x];
            }
        }
        dst[i] = acc / f32((x1 - x0) * (y1 - y0));
    }
}

// Source position of output pixel x: (x + 1/2) / f - 1/2 = (2x + 1 - f) / (2f), clamped to
// [0, n - 1], as (integer part, fraction). Integer arithmetic keeps the fraction exact:
// computed in f32 the position loses ~1e-4 px at x ~ 4000, visible as 1e-5 relative error
// next to sharp edges.
fn src_coord(x: u32, f: u32, n: u32) -> vec2<f32> {
    let num = 2u * x + 1u;
    if (num <= f) { return vec2<f32>(0.0, 0.0); }
    let m = num - f;
    let k = m / (2u * f);
    if (k >= n - 1u) { return vec2<f32>(f32(n - 1u), 0.0); }
    return vec2<f32>(f32(k), f32(m % (2u * f)) / f32(2u * f));
}

// up_bilinear takes a run of UP_RUN consecutive outputs of one row per invocation: the row's
// source rows and weight once, then per pixel two columns, their weight and four loads (per
// pixel with ITEMS pixels WG apart it cost three times a plain per-pixel pass on lavapipe).
const UP_RUN: u32 = 32u;

@compute @workgroup_size(256)
fn up_bilinear(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let runs = (p.dst_w + UP_RUN - 1u) / UP_RUN;
    let id = linear_id(wid, nwg, lid);
    if (id >= runs * p.dst_h) { return; }
    let y = id / runs;
    let xs = (id - y * runs) * UP_RUN;
    let cy = src_coord(y, p.factor, p.src_h);
    let y0 = u32(cy.x);
    let y1 = min(y0 + 1u, p.src_h - 1u);
    let ty = cy.y;
    let top_row = y0 * p.src_w;
    let bottom_row = y1 * p.src_w;
    let xe = min(xs + UP_RUN, p.dst_w);
    let o = y * p.dst_w;
    // src_coord of x, carried along the run: m = 2x + 1 - f = k (2f) + rem
    let f = p.factor;
    let f2 = 2u * f;
    var num = 2u * xs + 1u;
    var k = 0u;
    var rem = 0u;
    if (num > f) {
        k = (num - f) / f2;
        rem = num - f - k * f2;
    }
    for (var x = xs; x < xe; x = x + 1u) {
        var x0 = 0u;
        var tx = 0.0;
        if (num > f) {
            if (k >= p.src_w - 1u) {
                x0 = p.src_w - 1u;
            } else {
                x0 = k;
                tx = f32(rem) / f32(f2);
            }
        }
        let x1 = min(x0 + 1u, p.src_w - 1u);
        let top = mix(src[top_row + x0], src[top_row + x1], tx);
        let bottom = mix(src[bottom_row + x0], src[bottom_row + x1], tx);
        dst[o + x] = mix(top, bottom, ty);
        num = num + 2u;
        if (num > f) {
            if (num <= f + 2u) {
                k = (num - f) / f2;
                rem = num - f - k * f2;
            } else {
                rem = rem + 2u;
                if (rem >= f2) {
                    rem = rem - f2;
                    k = k + 1u;
                }
            }
        }
    }
}
