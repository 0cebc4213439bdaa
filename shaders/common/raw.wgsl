// Raw samples as uploaded: planes packed into u32 words (u8/i8 four per word, u16/i16 two,
// u32/i32/f32 one), little-endian lanes. Kinds must match ops::RawKind.
const K_U8: u32 = 0u;
const K_I8: u32 = 1u;
const K_U16: u32 = 2u;
const K_I16: u32 = 3u;
const K_U32: u32 = 4u;
const K_I32: u32 = 5u;
const K_F32: u32 = 6u;

// Index of the word that holds sample i.
fn raw_word(i: u32, kind: u32) -> u32 {
    if (kind <= K_I8) { return i >> 2u; }
    if (kind <= K_I16) { return i >> 1u; }
    return i;
}

// Sample i's bits, sign-extended to 32 bits for signed kinds.
fn raw_bits(word: u32, i: u32, kind: u32) -> u32 {
    switch kind {
        case 0u: { return (word >> ((i & 3u) * 8u)) & 0xffu; }
        case 1u: { return bitcast<u32>(bitcast<i32>(word << (24u - (i & 3u) * 8u)) >> 24u); }
        case 2u: { return (word >> ((i & 1u) * 16u)) & 0xffffu; }
        case 3u: { return bitcast<u32>(bitcast<i32>(word << (16u - (i & 1u) * 16u)) >> 16u); }
        default: { return word; }
    }
}

fn is_signed_kind(kind: u32) -> bool {
    return kind == K_I8 || kind == K_I16 || kind == K_I32;
}

// Order-preserving key of a float: a < b  <=>  f32_key(a) < f32_key(b) (NaN aside).
fn f32_key(f: f32) -> u32 {
    let b = bitcast<u32>(f);
    if ((b & 0x80000000u) != 0u) { return ~b; }
    return b | 0x80000000u;
}

fn key_f32(k: u32) -> f32 {
    if ((k & 0x80000000u) != 0u) { return bitcast<f32>(k & 0x7fffffffu); }
    return bitcast<f32>(~k);
}

// Order-preserving u32 key of a raw sample of any kind.
fn raw_key(bits: u32, kind: u32) -> u32 {
    if (kind == K_F32) { return f32_key(bitcast<f32>(bits)); }
    if (is_signed_kind(kind)) { return bits ^ 0x80000000u; }
    return bits;
}

fn raw_is_nan(bits: u32, kind: u32) -> bool {
    return kind == K_F32 && (bits & 0x7fffffffu) > 0x7f800000u;
}

// Sample value as f32 (exact for 8/16-bit kinds; u32/i32 above 2^24 round).
fn raw_f32(bits: u32, kind: u32) -> f32 {
    if (kind == K_F32) { return bitcast<f32>(bits); }
    if (is_signed_kind(kind)) { return f32(bitcast<i32>(bits)); }
    return f32(bits);
}
