// Separable 1D correlation along x or y with boundary mode 'nearest' (clamped indices), the
// building block of gaussian_blur, difference of Gaussians and Laplacian of Gaussian.
// weights[k], k = 0..2r, are applied at offset k - r, as scipy.ndimage.correlate1d does.
//   conv_x / conv_y       any weights
//   sym_x / sym_y         symmetric weights (Gaussian): w[r]*c + sum_k w[r+k]*(s[-k] + s[+k]),
//                         half the multiplies
#import common/index

struct Params { width: u32, height: u32, radius: u32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn conv_x(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= p.width * p.height) { return; }
    let x = i32(i % p.width);
    let row = i - u32(x);
    let r = i32(p.radius);
    var acc = 0.0;
    for (var k = -r; k <= r; k = k + 1) {
        acc = acc + weights[u32(k + r)] * src[row + clamp_idx(x + k, p.width)];
    }
    dst[i] = acc;
}

@compute @workgroup_size(256)
fn conv_y(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= p.width * p.height) { return; }
    let x = i % p.width;
    let y = i32(i / p.width);
    let r = i32(p.radius);
    var acc = 0.0;
    for (var k = -r; k <= r; k = k + 1) {
        acc = acc + weights[u32(k + r)] * src[clamp_idx(y + k, p.height) * p.width + x];
    }
    dst[i] = acc;
}

@compute @workgroup_size(256)
fn sym_x(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= p.width * p.height) { return; }
    let x = i32(i % p.width);
    let row = i - u32(x);
    let r = i32(p.radius);
    var acc = weights[p.radius] * src[i];
    for (var k = 1; k <= r; k = k + 1) {
        let a = src[row + clamp_idx(x - k, p.width)];
        let b = src[row + clamp_idx(x + k, p.width)];
        acc = acc + weights[u32(r + k)] * (a + b);
    }
    dst[i] = acc;
}

@compute @workgroup_size(256)
fn sym_y(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= p.width * p.height) { return; }
    let x = i % p.width;
    let y = i32(i / p.width);
    let r = i32(p.radius);
    var acc = weights[p.radius] * src[i];
    for (var k = 1; k <= r; k = k + 1) {
        let a = src[clamp_idx(y - k, p.height) * p.width + x];
        let b = src[clamp_idx(y + k, p.height) * p.width + x];
        acc = acc + weights[u32(r + k)] * (a + b);
    }
    dst[i] = acc;
}
