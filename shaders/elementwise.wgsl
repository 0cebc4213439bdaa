// Pixelwise arithmetic on f32 images: out = f(a, b).
//   sub        a - b
//   sub_clamp  max(a - b, 0)       (background subtraction)
//   axpby      alpha * a + beta * b
//   replace_masked  alpha where a mask is set (e.g. spots painted over with background)
//   ratio      a / b where b > alpha, else beta (normalised convolution)
//   weight_outside  0 where a mask is set, else 1
//   select_masked   b where a mask is set, else a
//   ridge      bright-ridge strength from the Hessian (a = Hyy, b = Hxx, c = Hxy):
//              alpha * max(-lambda_min, 0), lambda_min the smaller eigenvalue
#import common/index

struct Params { n: u32, _p0: u32, alpha: f32, beta: f32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn sub(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        out[i] = a[i] - b[i];
    }
}

@compute @workgroup_size(256)
fn sub_clamp(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        out[i] = max(a[i] - b[i], 0.0);
    }
}

@compute @workgroup_size(256)
fn axpby(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        out[i] = p.alpha * a[i] + p.beta * b[i];
    }
}

@group(0) @binding(4) var<storage, read> c: array<f32>;

@compute @workgroup_size(256)
fn ridge(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        let yy = a[i];
        let xx = b[i];
        let xy = c[i];
        let d = xx - yy;
        let lmin = 0.5 * (xx + yy - sqrt(d * d + 4.0 * xy * xy));
        out[i] = p.alpha * max(-lmin, 0.0);
    }
}

// replace_masked: out = alpha where sel != 0, else a (bindings 0, 1, 3, 5)
@group(0) @binding(5) var<storage, read> sel: array<u32>;

@compute @workgroup_size(256)
fn replace_masked(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        out[i] = select(a[i], p.alpha, sel[i] != 0u);
    }
}

// ratio: out = a / b where b > alpha, else beta
@compute @workgroup_size(256)
fn ratio(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        let d = b[i];
        out[i] = select(p.beta, a[i] / d, d > p.alpha);
    }
}

// weight_outside: out = 0 where sel != 0, else 1 (bindings 0, 3, 5)
@compute @workgroup_size(256)
fn weight_outside(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        out[i] = select(1.0, 0.0, sel[i] != 0u);
    }
}

// select_masked: out = b where sel != 0, else a (bindings 0, 1, 2, 3, 5)
@compute @workgroup_size(256)
fn select_masked(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        out[i] = select(a[i], b[i], sel[i] != 0u);
    }
}
