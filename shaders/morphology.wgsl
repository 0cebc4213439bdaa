// Grey erosion and dilation of f32 images with a flat disk footprint (skimage.morphology.disk:
// x^2 + y^2 <= r^2), boundary mode 'reflect' (skimage's default for erosion/dilation/top-hat).
// half_width[dy + r] is the footprint's half width in row dy.
//
// 'reflect' adds nothing to a disk's minimum or maximum: folding an outside position back
// into the image moves it no farther from the centre, in rows and in columns, and a disk's
// half width does not grow away from its centre row, so every reflected pixel is in the
// clipped footprint already. Each footprint row is a span of one image row, answered from a
// sparse table of the rows (level k at x: the extreme of the 2^k pixels from x, clipped at
// the row's end; level 0 is the image) with two reads: 2(2r+1) reads per pixel, not about
// pi r^2.
#import common/index

struct Params { width: u32, height: u32, radius: u32, level: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> half_width: array<i32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
// levels 1.. of the sparse table, one image each
@group(0) @binding(4) var<storage, read_write> table: array<f32>;

fn pick(a: f32, b: f32, take_max: bool) -> f32 {
    return select(min(a, b), max(a, b), take_max);
}

// Level p.level (>= 1) of the table at pixel i, from the level below.
fn span_level(i: u32, take_max: bool) {
    let n = p.width * p.height;
    let x = i % p.width;
    let j = i - x + min(x + (1u << (p.level - 1u)), p.width - 1u);
    var a: f32;
    var b: f32;
    if (p.level == 1u) {
        a = src[i];
        b = src[j];
    } else {
        let o = (p.level - 2u) * n;
        a = table[o + i];
        b = table[o + j];
    }
    table[(p.level - 1u) * n + i] = pick(a, b, take_max);
}

// The extreme of row pixels a..=b (row starts at `row`).
fn span(row: u32, a: u32, b: u32, take_max: bool) -> f32 {
    let k = firstLeadingBit(b - a + 1u);
    if (k == 0u) { return src[row + a]; }
    let o = (k - 1u) * p.width * p.height + row;
    return pick(table[o + a], table[o + b + 1u - (1u << k)], take_max);
}

fn extreme(i: u32, take_max: bool) -> f32 {
    let x = i32(i % p.width);
    let y = i32(i / p.width);
    let r = i32(p.radius);
    let w = i32(p.width);
    var acc = src[i];
    for (var dy = max(-r, -y); dy <= min(r, i32(p.height) - 1 - y); dy = dy + 1) {
        let hw = half_width[u32(dy + r)];
        let a = u32(max(x - hw, 0));
        let b = u32(min(x + hw, w - 1));
        acc = pick(acc, span(u32(y + dy) * p.width, a, b, take_max), take_max);
    }
    return acc;
}

@compute @workgroup_size(256)
fn span_min(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.width * p.height) { return; }
        span_level(i, false);
    }
}

@compute @workgroup_size(256)
fn span_max(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.width * p.height) { return; }
        span_level(i, true);
    }
}

@compute @workgroup_size(256)
fn erode(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.width * p.height) { return; }
        dst[i] = extreme(i, false);
    }
}

@compute @workgroup_size(256)
fn dilate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.width * p.height) { return; }
        dst[i] = extreme(i, true);
    }
}
