// Removing objects from a label image while keeping raster numbering. `p.capacity` bounds the
// label range; the real label count is read from `count[0]` (written by labelling), so no
// host round trip is needed between labelling, measuring and relabelling.
//   keep_geometry  flag[l] = 1 when label l+1 exists, passes the area range and (optionally)
//                  does not touch the image edge, judged from its geometry record (measure.wgsl)
//   remap          out = rank of the kept label + 1 (rank = exclusive scan of the flags), or 0
//   compact        copies the records of kept labels to their new positions
#import common/index

const GEO: u32 = 9u;

struct Params { capacity: u32, min_area: u32, max_area: u32, exclude_edges: u32,
                width: u32, height: u32, n: u32, stride: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> keep: array<u32>;
@group(0) @binding(2) var<storage, read> rank: array<u32>;
@group(0) @binding(3) var<storage, read> count: array<u32, 1>;
@group(0) @binding(4) var<storage, read> src: array<u32>;
@group(0) @binding(5) var<storage, read_write> dst: array<u32>;

// bindings: 0 params, 3 count, 4 geometry records, 5 flags out
@compute @workgroup_size(256)
fn keep_geometry(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let l = linear_id(wid, nwg, lid);
    if (l >= p.capacity) { return; }
    let b = l * GEO;
    let area = src[b];
    var k = l < count[0] && area >= p.min_area && area <= p.max_area;
    if (p.exclude_edges != 0u) {
        let touches = src[b + 1u] == 0u || src[b + 2u] == 0u
            || src[b + 3u] + 1u >= p.width || src[b + 4u] + 1u >= p.height;
        k = k && !touches;
    }
    dst[l] = select(0u, 1u, k);
}

// bindings: 0 params, 1 flags, 2 ranks, 4 labels in, 5 labels out
@compute @workgroup_size(256)
fn remap(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.n) { return; }
        let l = src[i];
        if (l == 0u || l > p.capacity || keep[l - 1u] == 0u) {
            dst[i] = 0u;
        } else {
            dst[i] = rank[l - 1u] + 1u;
        }
    }
}

// bindings: 0 params, 1 flags, 2 ranks, 4 records in, 5 records out
@compute @workgroup_size(256)
fn compact(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let l = linear_id(wid, nwg, lid);
    if (l >= p.capacity || keep[l] == 0u) { return; }
    let d = rank[l] * p.stride;
    let s = l * p.stride;
    for (var k = 0u; k < p.stride; k = k + 1u) { dst[d + k] = src[s + k]; }
}
