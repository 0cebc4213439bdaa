//! Mirror of `shaders/logic.wgsl` and of the `ridge` entry of `shaders/elementwise.wgsl`.

pub fn and_not(a: &[u32], b: &[u32]) -> Vec<u32> {
    a.iter()
        .zip(b)
        .map(|(&x, &m)| if m == 0 { x } else { 0 })
        .collect()
}

pub fn and_mask(a: &[u32], b: &[u32]) -> Vec<u32> {
    a.iter()
        .zip(b)
        .map(|(&x, &m)| if m != 0 { x } else { 0 })
        .collect()
}

pub fn or_nonzero(a: &[u32], b: &[u32]) -> Vec<u32> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x != 0 || y != 0) as u32)
        .collect()
}

pub fn neither(a: &[u32], b: &[u32]) -> Vec<u32> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x == 0 && y == 0) as u32)
        .collect()
}

pub fn fill(a: &[u32], b: &[u32], value: u32) -> Vec<u32> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            if x != 0 {
                x
            } else if y != 0 {
                value
            } else {
                0
            }
        })
        .collect()
}

pub fn lookup(labels: &[u32], table: &[u32]) -> Vec<u32> {
    labels
        .iter()
        .map(|&l| {
            if l == 0 || l as usize > table.len() {
                0
            } else {
                table[l as usize - 1]
            }
        })
        .collect()
}

/// `s2 * max(-lambda_min, 0)` of the Hessian (yy, xx, xy), in f64.
pub fn ridge(yy: &[f64], xx: &[f64], xy: &[f64], s2: f64) -> Vec<f64> {
    (0..yy.len())
        .map(|i| {
            let d = xx[i] - yy[i];
            let lmin = 0.5 * (xx[i] + yy[i] - (d * d + 4.0 * xy[i] * xy[i]).sqrt());
            s2 * (-lmin).max(0.0)
        })
        .collect()
}

/// Mirror of `replace_masked` in `shaders/elementwise.wgsl`.
pub fn replace_masked(img: &[f32], mask: &[u32], value: f32) -> Vec<f32> {
    img.iter()
        .zip(mask)
        .map(|(&v, &m)| if m != 0 { value } else { v })
        .collect()
}

/// Mirror of `ratio` in `shaders/elementwise.wgsl`.
pub fn ratio(a: &[f32], b: &[f32], min_den: f32, fallback: f32) -> Vec<f32> {
    a.iter()
        .zip(b)
        .map(|(&x, &d)| if d > min_den { x / d } else { fallback })
        .collect()
}

/// Mirror of `weight_outside` in `shaders/elementwise.wgsl`.
pub fn weight_outside(mask: &[u32]) -> Vec<f32> {
    mask.iter()
        .map(|&m| if m != 0 { 0.0 } else { 1.0 })
        .collect()
}

/// Mirror of `select_masked` in `shaders/elementwise.wgsl`.
pub fn select_masked(a: &[f32], b: &[f32], mask: &[u32]) -> Vec<f32> {
    a.iter()
        .zip(b)
        .zip(mask)
        .map(|((&x, &y), &m)| if m != 0 { y } else { x })
        .collect()
}
