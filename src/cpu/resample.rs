//! Mirror of `shaders/resample.wgsl`: block-mean downsampling and bilinear upsampling, in f64
//! (the GPU works in f32; tests compare with a stated tolerance).

pub fn down_mean(src: &[f32], w: usize, h: usize, f: usize) -> (Vec<f64>, usize, usize) {
    let (dw, dh) = (w.div_ceil(f), h.div_ceil(f));
    let mut out = vec![0.0; dw * dh];
    for dy in 0..dh {
        for dx in 0..dw {
            let (x1, y1) = ((dx * f + f).min(w), (dy * f + f).min(h));
            let mut acc = 0.0;
            for y in dy * f..y1 {
                for x in dx * f..x1 {
                    acc += src[y * w + x] as f64;
                }
            }
            out[dy * dw + dx] = acc / ((x1 - dx * f) * (y1 - dy * f)) as f64;
        }
    }
    (out, dw, dh)
}

pub fn up_bilinear(src: &[f64], sw: usize, sh: usize, w: usize, h: usize, f: usize) -> Vec<f64> {
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = bilinear_at(src, sw, sh, f, x as f64, y as f64);
        }
    }
    out
}

/// `up_bilinear`'s value at position (x, y) of the full-size image (pixel centres at whole
/// numbers): bilinear between the block centres of `src` (`sw` x `sh` blocks of `f` px),
/// constant beyond the outer ones. The host reads a fitted surface at a centroid with it.
pub fn bilinear_at<T: Copy + Into<f64>>(
    src: &[T],
    sw: usize,
    sh: usize,
    f: usize,
    x: f64,
    y: f64,
) -> f64 {
    let sx = ((x + 0.5) / f as f64 - 0.5).clamp(0.0, (sw - 1) as f64);
    let sy = ((y + 0.5) / f as f64 - 0.5).clamp(0.0, (sh - 1) as f64);
    let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(sw - 1), (y0 + 1).min(sh - 1));
    let (tx, ty) = (sx - x0 as f64, sy - y0 as f64);
    let at = |i: usize, j: usize| -> f64 { src[j * sw + i].into() };
    let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
    let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
    top * (1.0 - ty) + bottom * ty
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_at_interpolates_between_block_centres() {
        // 2 x 2 blocks of 4 px: centres at 1.5 and 5.5
        let grid = [0.0f32, 4.0, 8.0, 12.0];
        let at = |x, y| bilinear_at(&grid, 2, 2, 4, x, y);
        assert_eq!(at(1.5, 1.5), 0.0);
        assert_eq!(at(5.5, 5.5), 12.0);
        assert_eq!(at(3.5, 1.5), 2.0);
        assert_eq!(at(3.5, 3.5), 6.0);
        // constant beyond the outer centres
        assert_eq!(at(0.0, 0.0), 0.0);
        assert_eq!(at(7.0, 1.5), 4.0);
        // one block
        assert_eq!(bilinear_at(&[3.0f64], 1, 1, 8, 5.0, 2.0), 3.0);
        // the whole image is the same interpolation
        let grid64: Vec<f64> = grid.iter().map(|&v| v as f64).collect();
        let up = up_bilinear(&grid64, 2, 2, 8, 8, 4);
        assert_eq!(up[3 * 8 + 5], at(5.0, 3.0));
    }
}
