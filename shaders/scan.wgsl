// Exclusive prefix sum of u32 (ops::scan drives it level by level):
//   blocks  each workgroup scans 4096 elements in place (16 per invocation) and writes its total
//           to sums[workgroup]
//   add     element j of block b gets sums[b] (the scanned block totals) added
#import common/index

const PER: u32 = 16u;
const BLOCK: u32 = 4096u; // WG * PER

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> params_in: Params;
// parameters come in a storage buffer and are copied once per invocation (see gpu/buffers.rs)
var<private> p: Params;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;
@group(0) @binding(2) var<storage, read_write> sums: array<u32>;

var<workgroup> part: array<u32, 256>;

fn block_of(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}

@compute @workgroup_size(256)
fn blocks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let b = block_of(wid, nwg);
    let base = b * BLOCK + lid.x * PER;
    var v: array<u32, 16>;
    var total = 0u;
    for (var k = 0u; k < PER; k = k + 1u) {
        let i = base + k;
        var x = 0u;
        if (i < p.n) { x = data[i]; }
        v[k] = total;
        total = total + x;
    }
    part[lid.x] = total;
    workgroupBarrier();
    // Hillis-Steele inclusive scan of the 256 partial totals
    for (var s = 1u; s < WG; s = s << 1u) {
        var add = 0u;
        if (lid.x >= s) { add = part[lid.x - s]; }
        workgroupBarrier();
        part[lid.x] = part[lid.x] + add;
        workgroupBarrier();
    }
    var before = 0u;
    if (lid.x > 0u) { before = part[lid.x - 1u]; }
    for (var k = 0u; k < PER; k = k + 1u) {
        let i = base + k;
        if (i < p.n) { data[i] = v[k] + before; }
    }
    if (lid.x == WG - 1u) { sums[b] = part[WG - 1u]; }
}

@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_id) lid: vec3<u32>) {
    p = params_in;
    let b = block_of(wid, nwg);
    let base = b * BLOCK + lid.x * PER;
    let s = sums[b];
    for (var k = 0u; k < PER; k = k + 1u) {
        let i = base + k;
        if (i < p.n) { data[i] = data[i] + s; }
    }
}
