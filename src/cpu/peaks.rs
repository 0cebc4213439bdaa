//! Reference of `shaders/peaks.wgsl`: `skimage.feature.peak_local_max` (p_norm = inf,
//! exclude_border = min_distance or 0), written the way scikit-image does it: a candidate mask
//! from a maximum filter, then greedy spacing in order of decreasing value (stable, so ties go
//! in raster order), each kept peak rejecting candidates closer than min_distance.

/// Peak mask (1 = peak) of `img`.
pub fn peak_local_max(
    img: &[f32],
    width: usize,
    height: usize,
    min_distance: usize,
    threshold_abs: Option<f32>,
    threshold_rel: Option<f32>,
    exclude_border: bool,
) -> Vec<u32> {
    let d = min_distance.max(1) as i64;
    let (w, h) = (width as i64, height as i64);
    let mn = img.iter().copied().fold(f32::INFINITY, f32::min);
    let mxv = img.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut thr = threshold_abs.unwrap_or(mn);
    if let Some(r) = threshold_rel {
        thr = thr.max(r * mxv);
    }
    let border = if exclude_border { d } else { 0 };
    let mut cand = Vec::new();
    let mut trivial = true;
    for y in 0..h {
        for x in 0..w {
            let v = img[(y * w + x) as usize];
            let mut m = v;
            for dy in -d..=d {
                for dx in -d..=d {
                    let (yy, xx) = ((y + dy).clamp(0, h - 1), (x + dx).clamp(0, w - 1));
                    m = m.max(img[(yy * w + xx) as usize]);
                }
            }
            if v != m {
                trivial = false;
            }
            let inside = x >= border && y >= border && x + border < w && y + border < h;
            if v == m && v > thr && inside {
                cand.push((y * w + x) as usize);
            }
        }
    }
    let mut out = vec![0u32; img.len()];
    if trivial {
        return out;
    }
    // stable sort by decreasing value keeps raster order among ties
    cand.sort_by(|&a, &b| {
        img[b]
            .partial_cmp(&img[a])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut kept: Vec<usize> = Vec::new();
    for &c in &cand {
        let (cy, cx) = ((c / width) as i64, (c % width) as i64);
        let close = kept.iter().any(|&k| {
            let (ky, kx) = ((k / width) as i64, (k % width) as i64);
            (ky - cy).abs().max((kx - cx).abs()) < d
        });
        if !close {
            kept.push(c);
            out[c] = 1;
        }
    }
    out
}
