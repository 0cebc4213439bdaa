//! Mirror of `shaders/morphology.wgsl`: grey erosion/dilation with a disk, mode 'reflect'.

/// Half width of `skimage.morphology.disk(radius)` in each row dy = -r..=r.
pub fn disk_half_widths(radius: usize) -> Vec<i32> {
    let r = radius as i64;
    (-r..=r)
        .map(|dy| {
            let mut hw = 0i64;
            while (hw + 1) * (hw + 1) + dy * dy <= r * r {
                hw += 1;
            }
            hw as i32
        })
        .collect()
}

/// scipy mode 'reflect' index (d c b a | a b c d | d c b a).
pub fn reflect(i: i64, n: usize) -> usize {
    let n = n as i64;
    let n2 = 2 * n;
    let mut j = i.rem_euclid(n2);
    if j >= n {
        j = n2 - 1 - j;
    }
    j as usize
}

pub fn erode_or_dilate(
    src: &[f32],
    width: usize,
    height: usize,
    radius: usize,
    dilate: bool,
) -> Vec<f32> {
    let hw = disk_half_widths(radius);
    let r = radius as i64;
    let mut out = vec![0f32; src.len()];
    for y in 0..height as i64 {
        for x in 0..width as i64 {
            let mut acc = src[y as usize * width + x as usize];
            for dy in -r..=r {
                let row = reflect(y + dy, height) * width;
                let h = hw[(dy + r) as usize] as i64;
                for dx in -h..=h {
                    let v = src[row + reflect(x + dx, width)];
                    acc = if dilate { acc.max(v) } else { acc.min(v) };
                }
            }
            out[y as usize * width + x as usize] = acc;
        }
    }
    out
}
