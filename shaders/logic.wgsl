// Pixelwise operations on u32 planes (masks and label images).
//   and_not     out = a where b == 0, else 0      (remove pixels covered by b)
//   and_mask    out = a where b != 0, else 0      (keep pixels covered by b)
//   or_nonzero  out = 1 where a != 0 or b != 0    (union of two masks)
//   neither     out = 1 where a == 0 and b == 0   (complement of the union)
//   fill        out = a where a != 0, else `value` where b != 0, else 0
//   lookup      out = table[a - 1] for a in 1..=n, else 0   (per-label value painted back)
#import common/index

struct Params { n: u32, table_len: u32, value: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(256)
fn and_not(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        out[i] = select(0u, a[i], b[i] == 0u);
    }
}

@compute @workgroup_size(256)
fn and_mask(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        out[i] = select(0u, a[i], b[i] != 0u);
    }
}

@compute @workgroup_size(256)
fn or_nonzero(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        out[i] = select(0u, 1u, a[i] != 0u || b[i] != 0u);
    }
}

@compute @workgroup_size(256)
fn neither(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        out[i] = select(0u, 1u, a[i] == 0u && b[i] == 0u);
    }
}

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        out[i] = select(select(0u, p.value, b[i] != 0u), a[i], a[i] != 0u);
    }
}

// b is the table here
@compute @workgroup_size(256)
fn lookup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        let l = a[i];
        out[i] = select(0u, b[l - 1u], l != 0u && l <= p.table_len);
    }
}
