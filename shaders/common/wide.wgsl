// 64-bit integers as (lo, hi) u32 pairs, two's complement. WGSL atomics are 32-bit, so a
// 64-bit atomic add is an atomicAdd on lo plus a carry into hi, detected from lo's old value.

// 64-bit two's complement of a sign-extended 32-bit sample.
fn wide_from_bits(bits: u32, signed: bool) -> vec2<u32> {
    if (signed && (bits & 0x80000000u) != 0u) { return vec2<u32>(bits, 0xffffffffu); }
    return vec2<u32>(bits, 0u);
}

fn wide_neg(v: vec2<u32>) -> vec2<u32> {
    let lo = ~v.x + 1u;
    var hi = ~v.y;
    if (lo == 0u) { hi = hi + 1u; }
    return vec2<u32>(lo, hi);
}

// round-free conversion of a float that is an integer-valued multiple of its ulp
// (|x| < 2^62) to 64-bit two's complement.
fn wide_from_f32_int(x: f32) -> vec2<u32> {
    let a = abs(x);
    let hi_f = floor(a * 2.3283064365386963e-10); // a / 2^32, exact
    let lo_f = a - hi_f * 4294967296.0;            // exact: drops a's top bits
    let v = vec2<u32>(u32(lo_f), u32(hi_f));
    if (x < 0.0) { return wide_neg(v); }
    return v;
}

// Full 64-bit product of two u32 (16-bit limbs; no 64-bit types needed).
fn wide_mul(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let lo = (p00 & 0xffffu) | (mid << 16u);
    let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(lo, hi);
}

fn wide_add(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    var hi = a.y + b.y;
    if (lo < a.x) { hi = hi + 1u; }
    return vec2<u32>(lo, hi);
}

// Unsigned a <= b.
fn wide_le(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y < b.y || (a.y == b.y && a.x <= b.x);
}
