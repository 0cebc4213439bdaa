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
            let sx = ((x as f64 + 0.5) / f as f64 - 0.5).clamp(0.0, (sw - 1) as f64);
            let sy = ((y as f64 + 0.5) / f as f64 - 0.5).clamp(0.0, (sh - 1) as f64);
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(sw - 1), (y0 + 1).min(sh - 1));
            let (tx, ty) = (sx - x0 as f64, sy - y0 as f64);
            let top = src[y0 * sw + x0] * (1.0 - tx) + src[y0 * sw + x1] * tx;
            let bottom = src[y1 * sw + x0] * (1.0 - tx) + src[y1 * sw + x1] * tx;
            out[y * w + x] = top * (1.0 - ty) + bottom * ty;
        }
    }
    out
}
