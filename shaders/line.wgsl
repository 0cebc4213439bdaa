// Line support: how much of a short straight segment through each pixel lies on a ridge.
//
// line_prep quantises min(src, cap) / cap to q = floor(min(src, cap) * scale + 0.5) with
// scale = ONE / cap (ONE = 4096 is "fully on a ridge"), and marks mask pixels with SKIP.
// line_walk takes one direction d = (dx, dy) (integer, dy >= 0) and a half length h: the
// segment of pixel p holds the samples p + t d, t = -h..h (coordinates clamped: boundary mode
// 'nearest'); its value is sum(q) / (count * ONE) over the samples that are not SKIP, 0 when
// fewer than min_count are, and 0 on a SKIP pixel. Each invocation walks one chain p0, p0 + d,
// p0 + 2d, ... (p0 - d outside the image) keeping the window's integer sum and count: two
// loads per pixel instead of 2h + 1, and exact, so the result equals the direct sum. The
// first direction writes `out`, the others keep the larger value (the best direction).
#import common/index

const ONE: f32 = 4096.0;
const SKIP: u32 = 0xffffffffu;

struct PrepParams { n: u32, _p: u32, cap: f32, scale: f32 }

struct WalkParams {
    width: u32,
    height: u32,
    dx: i32,
    dy: i32,
    half: i32,
    min_count: u32,
    n_chains: u32,
    first: u32,
}

@group(0) @binding(0) var<storage, read> prep_in: PrepParams;
var<private> pp: PrepParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> q_out: array<u32>;

@compute @workgroup_size(256)
fn line_prep(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
    pp = prep_in;
    for (var item = 0u; item < ITEMS; item = item + 1u) {
        let i = item_id(wid, nwg, lid, item);
        if (i >= pp.n) { return; }
        if (mask[i] != 0u) {
            q_out[i] = SKIP;
        } else {
            q_out[i] = u32(floor(clamp(src[i], 0.0, pp.cap) * pp.scale + 0.5));
        }
    }
}

// (bindings of their own: each entry point has its own layout)
@group(0) @binding(4) var<storage, read> walk_in: WalkParams;
var<private> p: WalkParams;
@group(0) @binding(5) var<storage, read> q: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

fn at(x: i32, y: i32) -> u32 {
    return q[clamp_idx(y, p.height) * p.width + clamp_idx(x, p.width)];
}

@compute @workgroup_size(256)
fn line_walk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
    p = walk_in;
    let c = linear_id(wid, nwg, lid);
    if (c >= p.n_chains) { return; }
    let w = i32(p.width);
    let hgt = i32(p.height);
    // the chain's first pixel: the first dy rows, then |dx| columns of each row below
    let rows = u32(min(p.dy, hgt)) * p.width;
    var x: i32;
    var y: i32;
    if (c < rows) {
        y = i32(c / p.width);
        x = i32(c % p.width);
    } else {
        let cols = u32(min(abs(p.dx), w));
        let c2 = c - rows;
        y = p.dy + i32(c2 / cols);
        let k = i32(c2 % cols);
        x = select(w - 1 - k, k, p.dx > 0);
    }
    var sum = 0u;
    var count = 0u;
    for (var t = -p.half; t <= p.half; t = t + 1) {
        let v = at(x + t * p.dx, y + t * p.dy);
        if (v != SKIP) {
            sum = sum + v;
            count = count + 1u;
        }
    }
    loop {
        let i = u32(y) * p.width + u32(x);
        var val = 0.0;
        if (q[i] != SKIP && count >= p.min_count) {
            val = f32(sum) / (f32(count) * ONE);
        }
        if (p.first != 0u) {
            out[i] = val;
        } else {
            out[i] = max(out[i], val);
        }
        let nx = x + p.dx;
        let ny = y + p.dy;
        if (nx < 0 || nx >= w || ny >= hgt) { break; }
        let enter = at(x + (p.half + 1) * p.dx, y + (p.half + 1) * p.dy);
        let leave = at(x - p.half * p.dx, y - p.half * p.dy);
        if (enter != SKIP) {
            sum = sum + enter;
            count = count + 1u;
        }
        if (leave != SKIP) {
            sum = sum - leave;
            count = count - 1u;
        }
        x = nx;
        y = ny;
    }
}
