// Grey erosion and dilation of f32 images with a flat disk footprint (skimage.morphology.disk:
// x^2 + y^2 <= r^2), boundary mode 'reflect' (skimage's default for erosion/dilation/top-hat).
// half_width[dy + r] is the footprint's half width in row dy.
#import common/index

struct Params { width: u32, height: u32, radius: u32, _p: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> half_width: array<i32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

fn extreme(i: u32, take_max: bool) -> f32 {
    let x = i32(i % p.width);
    let y = i32(i / p.width);
    let r = i32(p.radius);
    var acc = src[i];
    for (var dy = -r; dy <= r; dy = dy + 1) {
        let row = reflect_idx(y + dy, p.height) * p.width;
        let hw = half_width[u32(dy + r)];
        for (var dx = -hw; dx <= hw; dx = dx + 1) {
            let v = src[row + reflect_idx(x + dx, p.width)];
            if (take_max) { acc = max(acc, v); } else { acc = min(acc, v); }
        }
    }
    return acc;
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
