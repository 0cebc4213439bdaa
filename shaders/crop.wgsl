// crop32: copies the w x h rectangle at (ox, oy) of a 32-bit plane (f32 or u32 bit patterns)
// of width src_w into a plane of its own. Used to take the core of a tile out of its
// extended (halo) copy.
#import common/index

struct Params { src_w: u32, ox: u32, oy: u32, w: u32, h: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(256)
fn crop32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= p.w * p.h) { return; }
        let x = i % p.w;
        let y = i / p.w;
        dst[i] = src[(y + p.oy) * p.src_w + x + p.ox];
    }
}
