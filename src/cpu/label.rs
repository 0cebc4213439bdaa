//! Mirror of `shaders/label.wgsl` + `label_final.wgsl`: connected components of a mask,
//! numbered 1..N in raster order of each component's first pixel (skimage.measure.label).
//! Neighbours join when their values are equal and nonzero. Plain flood fill with a stack.

/// Labels of `mask` (0 = background; equal nonzero values join), 4- or 8-connected;
/// returns (labels, count).
pub fn label(mask: &[u32], width: usize, height: usize, conn: u32) -> (Vec<u32>, u32) {
    let mut labels = vec![0u32; width * height];
    let mut next = 0u32;
    let mut stack = Vec::new();
    for start in 0..width * height {
        if mask[start] == 0 || labels[start] != 0 {
            continue;
        }
        next += 1;
        labels[start] = next;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = ((i % width) as i64, (i / width) as i64);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    if (dx == 0 && dy == 0) || (conn == 4 && dx != 0 && dy != 0) {
                        continue;
                    }
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= width as i64 || ny >= height as i64 {
                        continue;
                    }
                    let j = ny as usize * width + nx as usize;
                    if mask[j] == mask[start] && labels[j] == 0 {
                        labels[j] = next;
                        stack.push(j);
                    }
                }
            }
        }
    }
    (labels, next)
}

/// Mirror of `shaders/components.wgsl`: 1 on every pixel of each labelled component that has
/// a pixel with `cond` set.
pub fn component_any(labels: &[u32], count: u32, cond: &[u32]) -> Vec<u32> {
    let mut any = vec![false; count as usize + 1];
    for (l, c) in labels.iter().zip(cond) {
        if *l != 0 && *c != 0 {
            any[*l as usize] = true;
        }
    }
    labels
        .iter()
        .map(|&l| (l != 0 && any[l as usize]) as u32)
        .collect()
}
