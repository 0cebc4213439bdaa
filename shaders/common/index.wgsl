// Index math shared by every kernel.
// 1D kernels run 256 invocations per workgroup; the host (gpu::grid_1d) folds the workgroup
// count into x and y so it stays under 65535 per dimension, and `linear_id` unfolds it.
const WG: u32 = 256u;

fn linear_id(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * WG + lid.x;
}

// Clamp a signed coordinate into [0, n-1] (boundary mode 'nearest').
fn clamp_idx(i: i32, n: u32) -> u32 {
    return u32(clamp(i, 0, i32(n) - 1));
}

// Mirror a signed coordinate into [0, n-1] (scipy mode 'reflect': d c b a | a b c d | d c b a).
// The pattern is symmetric about -1/2, so a negative i maps to -1 - i first: `%` then only
// sees non-negative operands (GLSL leaves `%` of negative numbers undefined).
fn reflect_idx(i: i32, n: u32) -> u32 {
    var j = u32(select(i, -1 - i, i < 0)) % (2u * n);
    if (j >= n) { j = 2u * n - 1u - j; }
    return j;
}

// Per-pixel kernels handle ITEMS pixels per invocation, WG apart (so neighbouring invocations
// still touch neighbouring pixels): fewer invocations for the same work, which is what costs
// on CPU adapters. The host sizes their grids with gpu::grid_px.
const ITEMS: u32 = 8u;

fn item_id(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>, item: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * WG * ITEMS + item * WG + lid.x;
}

// Kernels that carry state along a run of pixels (per-label sums flushed by atomics once per
// run of one label; labelling's runs of equal pixels) take ACC_RUN consecutive pixels (a
// segment, which may span rows) per invocation, so a large label does not serialize its
// pixels on one address. The host sizes their grids with ops::grid_run (ops::RUN, checked
// equal to this by a unit test).
const ACC_RUN: u32 = 32u;

fn run_id(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>, item: u32) -> u32 {
    return linear_id(wid, nwg, lid) * ACC_RUN + item;
}
