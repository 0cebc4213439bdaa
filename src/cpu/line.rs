//! Mirror of `shaders/line.wgsl`: line support, the largest mean of min(src, cap) / cap over
//! the unmasked samples of a short straight segment through each pixel, over 8 directions.
//! Written as the direct sum over each segment (the shader keeps a running sum along each
//! chain of pixels; both are exact integer sums of the quantised values).

/// Quantisation: `ONE` is a sample fully on a ridge (min(src, cap) = cap).
pub const ONE: f32 = 4096.0;
/// A masked pixel (left out of every segment, and 0 itself).
pub const SKIP: u32 = u32::MAX;

/// The 8 integer directions (0°, 26.6°, 45°, 63.4°, 90°, 116.6°, 135°, 153.4°) and each one's
/// half length in steps for a segment of half length `half` px (at least 1 step): (dx, dy,
/// steps). Neighbouring directions are at most 26.6° apart.
pub fn line_directions(half: u32) -> Vec<(i32, i32, u32)> {
    [
        (1, 0),
        (2, 1),
        (1, 1),
        (1, 2),
        (0, 1),
        (-1, 2),
        (-1, 1),
        (-2, 1),
    ]
    .iter()
    .map(|&(dx, dy): &(i32, i32)| {
        let len = ((dx * dx + dy * dy) as f64).sqrt();
        (dx, dy, ((half as f64 / len).round() as u32).max(1))
    })
    .collect()
}

/// `line_prep`: the quantised samples, `SKIP` on the mask. `scale` = ONE / cap in f32.
pub fn line_prep(src: &[f32], mask: &[u32], cap: f32, scale: f32) -> Vec<u32> {
    src.iter()
        .zip(mask)
        .map(|(&v, &m)| {
            if m != 0 {
                SKIP
            } else {
                (v.clamp(0.0, cap) * scale + 0.5).floor() as u32
            }
        })
        .collect()
}

/// Line support from the quantised samples: for each pixel and direction, the sum of the
/// non-`SKIP` samples p + t d (t = -steps..=steps, coordinates clamped) over (count * ONE),
/// 0 when fewer than steps + 1 (at least 2) count; the largest over the directions; 0 on `SKIP` pixels.
pub fn line_support(q: &[u32], width: usize, height: usize, half: u32) -> Vec<f32> {
    let clamp = |v: i64, n: usize| v.clamp(0, n as i64 - 1) as usize;
    let dirs = line_directions(half);
    let mut out = vec![0f32; q.len()];
    for y in 0..height as i64 {
        for x in 0..width as i64 {
            let i = y as usize * width + x as usize;
            if q[i] == SKIP {
                continue;
            }
            let mut best = 0f32;
            for &(dx, dy, steps) in &dirs {
                let s = steps as i64;
                let (mut sum, mut count) = (0u32, 0u32);
                for t in -s..=s {
                    let v = q[clamp(y + t * dy as i64, height) * width
                        + clamp(x + t * dx as i64, width)];
                    if v != SKIP {
                        sum += v;
                        count += 1;
                    }
                }
                if count > steps {
                    best = best.max(sum as f32 / (count as f32 * ONE));
                }
            }
            out[i] = best;
        }
    }
    out
}
