// Separable 1D correlation along x or y with boundary mode 'nearest' (clamped indices), the
// building block of gaussian_blur, difference of Gaussians and Laplacian of Gaussian.
// weights[k], k = 0..2r, are applied at offset k - r, as scipy.ndimage.correlate1d does.
//
// Each invocation computes a run of RUN consecutive outputs along the axis with a sliding
// window held in registers: per tap it loads one weight and one new sample and does RUN
// multiply-adds. That is (2r + RUN) loads for RUN outputs instead of (2r + 1) per output,
// which is what matters on CPU adapters (lavapipe/llvmpipe load each lane separately) and
// keeps the work per invocation large on GPUs.
//   win_y  runs down a column; consecutive invocations take neighbouring columns
//   win_x  runs along a row; consecutive invocations take neighbouring runs
#import common/index

const RUN: u32 = 32u;

struct Params { width: u32, height: u32, radius: u32, _p: u32 }

// The radius as a pipeline constant when the host specialises the pipeline (it does, one
// pipeline per radius): the tap loop then has a constant trip count the driver can unroll.
// -1: take it from the parameters.
override SPEC_RADIUS: i32 = -1;

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;


// One run of RUN outputs at positions s0.. along an axis of length n, whose samples sit at
// base + position * stride.
fn run(base: u32, stride: u32, s0: i32, n: u32) {
    let r = select(i32(p.radius), SPEC_RADIUS, SPEC_RADIUS >= 0);
    var a0 = 0.0;
    var a1 = 0.0;
    var a2 = 0.0;
    var a3 = 0.0;
    var a4 = 0.0;
    var a5 = 0.0;
    var a6 = 0.0;
    var a7 = 0.0;
    var a8 = 0.0;
    var a9 = 0.0;
    var a10 = 0.0;
    var a11 = 0.0;
    var a12 = 0.0;
    var a13 = 0.0;
    var a14 = 0.0;
    var a15 = 0.0;
    var a16 = 0.0;
    var a17 = 0.0;
    var a18 = 0.0;
    var a19 = 0.0;
    var a20 = 0.0;
    var a21 = 0.0;
    var a22 = 0.0;
    var a23 = 0.0;
    var a24 = 0.0;
    var a25 = 0.0;
    var a26 = 0.0;
    var a27 = 0.0;
    var a28 = 0.0;
    var a29 = 0.0;
    var a30 = 0.0;
    var a31 = 0.0;
    var v0 = src[base + clamp_idx(s0 + 0 - r, n) * stride];
    var v1 = src[base + clamp_idx(s0 + 1 - r, n) * stride];
    var v2 = src[base + clamp_idx(s0 + 2 - r, n) * stride];
    var v3 = src[base + clamp_idx(s0 + 3 - r, n) * stride];
    var v4 = src[base + clamp_idx(s0 + 4 - r, n) * stride];
    var v5 = src[base + clamp_idx(s0 + 5 - r, n) * stride];
    var v6 = src[base + clamp_idx(s0 + 6 - r, n) * stride];
    var v7 = src[base + clamp_idx(s0 + 7 - r, n) * stride];
    var v8 = src[base + clamp_idx(s0 + 8 - r, n) * stride];
    var v9 = src[base + clamp_idx(s0 + 9 - r, n) * stride];
    var v10 = src[base + clamp_idx(s0 + 10 - r, n) * stride];
    var v11 = src[base + clamp_idx(s0 + 11 - r, n) * stride];
    var v12 = src[base + clamp_idx(s0 + 12 - r, n) * stride];
    var v13 = src[base + clamp_idx(s0 + 13 - r, n) * stride];
    var v14 = src[base + clamp_idx(s0 + 14 - r, n) * stride];
    var v15 = src[base + clamp_idx(s0 + 15 - r, n) * stride];
    var v16 = src[base + clamp_idx(s0 + 16 - r, n) * stride];
    var v17 = src[base + clamp_idx(s0 + 17 - r, n) * stride];
    var v18 = src[base + clamp_idx(s0 + 18 - r, n) * stride];
    var v19 = src[base + clamp_idx(s0 + 19 - r, n) * stride];
    var v20 = src[base + clamp_idx(s0 + 20 - r, n) * stride];
    var v21 = src[base + clamp_idx(s0 + 21 - r, n) * stride];
    var v22 = src[base + clamp_idx(s0 + 22 - r, n) * stride];
    var v23 = src[base + clamp_idx(s0 + 23 - r, n) * stride];
    var v24 = src[base + clamp_idx(s0 + 24 - r, n) * stride];
    var v25 = src[base + clamp_idx(s0 + 25 - r, n) * stride];
    var v26 = src[base + clamp_idx(s0 + 26 - r, n) * stride];
    var v27 = src[base + clamp_idx(s0 + 27 - r, n) * stride];
    var v28 = src[base + clamp_idx(s0 + 28 - r, n) * stride];
    var v29 = src[base + clamp_idx(s0 + 29 - r, n) * stride];
    var v30 = src[base + clamp_idx(s0 + 30 - r, n) * stride];
    var v31 = src[base + clamp_idx(s0 + 31 - r, n) * stride];
    for (var k = 0; k <= 2 * r; k = k + 1) {
        let wk = weights[u32(k)];
        a0 = a0 + wk * v0;
        a1 = a1 + wk * v1;
        a2 = a2 + wk * v2;
        a3 = a3 + wk * v3;
        a4 = a4 + wk * v4;
        a5 = a5 + wk * v5;
        a6 = a6 + wk * v6;
        a7 = a7 + wk * v7;
        a8 = a8 + wk * v8;
        a9 = a9 + wk * v9;
        a10 = a10 + wk * v10;
        a11 = a11 + wk * v11;
        a12 = a12 + wk * v12;
        a13 = a13 + wk * v13;
        a14 = a14 + wk * v14;
        a15 = a15 + wk * v15;
        a16 = a16 + wk * v16;
        a17 = a17 + wk * v17;
        a18 = a18 + wk * v18;
        a19 = a19 + wk * v19;
        a20 = a20 + wk * v20;
        a21 = a21 + wk * v21;
        a22 = a22 + wk * v22;
        a23 = a23 + wk * v23;
        a24 = a24 + wk * v24;
        a25 = a25 + wk * v25;
        a26 = a26 + wk * v26;
        a27 = a27 + wk * v27;
        a28 = a28 + wk * v28;
        a29 = a29 + wk * v29;
        a30 = a30 + wk * v30;
        a31 = a31 + wk * v31;
        v0 = v1;
        v1 = v2;
        v2 = v3;
        v3 = v4;
        v4 = v5;
        v5 = v6;
        v6 = v7;
        v7 = v8;
        v8 = v9;
        v9 = v10;
        v10 = v11;
        v11 = v12;
        v12 = v13;
        v13 = v14;
        v14 = v15;
        v15 = v16;
        v16 = v17;
        v17 = v18;
        v18 = v19;
        v19 = v20;
        v20 = v21;
        v21 = v22;
        v22 = v23;
        v23 = v24;
        v24 = v25;
        v25 = v26;
        v26 = v27;
        v27 = v28;
        v28 = v29;
        v29 = v30;
        v30 = v31;
        v31 = src[base + clamp_idx(s0 + 32 + k - r, n) * stride];
    }
    if (u32(s0) + 0u < n) { dst[base + (u32(s0) + 0u) * stride] = a0; }
    if (u32(s0) + 1u < n) { dst[base + (u32(s0) + 1u) * stride] = a1; }
    if (u32(s0) + 2u < n) { dst[base + (u32(s0) + 2u) * stride] = a2; }
    if (u32(s0) + 3u < n) { dst[base + (u32(s0) + 3u) * stride] = a3; }
    if (u32(s0) + 4u < n) { dst[base + (u32(s0) + 4u) * stride] = a4; }
    if (u32(s0) + 5u < n) { dst[base + (u32(s0) + 5u) * stride] = a5; }
    if (u32(s0) + 6u < n) { dst[base + (u32(s0) + 6u) * stride] = a6; }
    if (u32(s0) + 7u < n) { dst[base + (u32(s0) + 7u) * stride] = a7; }
    if (u32(s0) + 8u < n) { dst[base + (u32(s0) + 8u) * stride] = a8; }
    if (u32(s0) + 9u < n) { dst[base + (u32(s0) + 9u) * stride] = a9; }
    if (u32(s0) + 10u < n) { dst[base + (u32(s0) + 10u) * stride] = a10; }
    if (u32(s0) + 11u < n) { dst[base + (u32(s0) + 11u) * stride] = a11; }
    if (u32(s0) + 12u < n) { dst[base + (u32(s0) + 12u) * stride] = a12; }
    if (u32(s0) + 13u < n) { dst[base + (u32(s0) + 13u) * stride] = a13; }
    if (u32(s0) + 14u < n) { dst[base + (u32(s0) + 14u) * stride] = a14; }
    if (u32(s0) + 15u < n) { dst[base + (u32(s0) + 15u) * stride] = a15; }
    if (u32(s0) + 16u < n) { dst[base + (u32(s0) + 16u) * stride] = a16; }
    if (u32(s0) + 17u < n) { dst[base + (u32(s0) + 17u) * stride] = a17; }
    if (u32(s0) + 18u < n) { dst[base + (u32(s0) + 18u) * stride] = a18; }
    if (u32(s0) + 19u < n) { dst[base + (u32(s0) + 19u) * stride] = a19; }
    if (u32(s0) + 20u < n) { dst[base + (u32(s0) + 20u) * stride] = a20; }
    if (u32(s0) + 21u < n) { dst[base + (u32(s0) + 21u) * stride] = a21; }
    if (u32(s0) + 22u < n) { dst[base + (u32(s0) + 22u) * stride] = a22; }
    if (u32(s0) + 23u < n) { dst[base + (u32(s0) + 23u) * stride] = a23; }
    if (u32(s0) + 24u < n) { dst[base + (u32(s0) + 24u) * stride] = a24; }
    if (u32(s0) + 25u < n) { dst[base + (u32(s0) + 25u) * stride] = a25; }
    if (u32(s0) + 26u < n) { dst[base + (u32(s0) + 26u) * stride] = a26; }
    if (u32(s0) + 27u < n) { dst[base + (u32(s0) + 27u) * stride] = a27; }
    if (u32(s0) + 28u < n) { dst[base + (u32(s0) + 28u) * stride] = a28; }
    if (u32(s0) + 29u < n) { dst[base + (u32(s0) + 29u) * stride] = a29; }
    if (u32(s0) + 30u < n) { dst[base + (u32(s0) + 30u) * stride] = a30; }
    if (u32(s0) + 31u < n) { dst[base + (u32(s0) + 31u) * stride] = a31; }
}

@compute @workgroup_size(256)
fn win_y(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let i = linear_id(wid, nwg, lid);
    let w = p.width;
    let runs = (p.height + RUN - 1u) / RUN;
    if (i >= w * runs) { return; }
    run(i % w, w, i32(i / w * RUN), p.height);
}

@compute @workgroup_size(256)
fn win_x(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let i = linear_id(wid, nwg, lid);
    let runs = (p.width + RUN - 1u) / RUN;
    if (i >= runs * p.height) { return; }
    run(i / runs * p.width, 1u, i32(i % runs * RUN), p.width);
}
