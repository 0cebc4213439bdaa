//! Thresholds: GPU histogram kernels plus the host maths of each method, written to give
//! scikit-image's numbers (including its float32 steps), and the `image > threshold` kernel.
//!
//! Histograms follow `skimage.exposure.histogram(source_range='image')`: integer images get
//! one bin per integer value from min to max (8- and 16-bit samples; 32-bit integers fall back
//! to 256 bins); float images 256 bins over [min, max].

use serde::Serialize;

use super::{GpuPlane, NKind, RawKind, grid_px, minmax};
use crate::error::{Error, Result};
use crate::gpu::{Buf, Gpu, Readback, Recorder, WG, grid_1d};

/// How a threshold is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// `skimage.filters.threshold_otsu`.
    Otsu,
    /// ImageJ's "Default" (its IsoData variant), on the 256-bin histogram ImageJ uses.
    Isodata,
    /// `skimage.filters.threshold_li` (integer images exact; float images on 256 bins).
    Li,
    /// `skimage.filters.threshold_yen`.
    Yen,
    /// `skimage.filters.threshold_triangle`.
    Triangle,
    /// `skimage.filters.threshold_mean` (float images: from the 256-bin histogram).
    Mean,
    /// A fixed value.
    Value(f64),
}

impl Method {
    /// `otsu`, `isodata`, `default` (= isodata), `li`, `yen`, `triangle`, `mean`, or a number.
    pub fn parse(s: &str) -> Result<Method> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "otsu" => Method::Otsu,
            "isodata" | "default" | "ij_isodata" => Method::Isodata,
            "li" => Method::Li,
            "yen" => Method::Yen,
            "triangle" => Method::Triangle,
            "mean" => Method::Mean,
            other => match other.parse::<f64>() {
                Ok(v) if v.is_finite() => Method::Value(v),
                _ => {
                    return Err(Error::invalid(format!(
                        "unknown threshold '{s}' (expected otsu, isodata, li, yen, triangle, mean or a number)"
                    )));
                }
            },
        })
    }

    pub fn name(&self) -> String {
        match self {
            Method::Value(v) => format!("{v}"),
            other => serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
        }
    }
}

/// A histogram as scikit-image returns it: counts and bin centers.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub counts: Vec<u32>,
    pub centers: Vec<f64>,
    /// True when the bins are the integer values themselves.
    pub integer: bool,
    /// The image's min and max.
    pub min: f64,
    pub max: f64,
}

/// Which histogram a plane gets: one bin per integer value, or 256 float bins.
pub fn integer_bins(kind: RawKind) -> Option<usize> {
    match kind {
        RawKind::U8 | RawKind::I8 => Some(256),
        RawKind::U16 | RawKind::I16 => Some(65_536),
        _ => None,
    }
}

/// Records the histogram kernel for `src` given its `[min, max]` key buffer.
pub fn histogram(rec: &mut Recorder, src: &GpuPlane, range: &Buf) -> Result<Buf> {
    match integer_bins(src.kind) {
        Some(nbins) => {
            let hist = rec.zeroed(nbins as u64 * 4);
            let p = rec.params(&NKind {
                n: src.len() as u32,
                kind: src.kind as u32,
                a: nbins as u32,
                b: 0,
            });
            rec.dispatch(
                "histogram",
                "hist_int",
                &[&p, &src.buf, range, &hist],
                grid_px(src),
            )?;
            Ok(hist)
        }
        None => {
            let hist = rec.zeroed(256 * 4);
            let p = rec.params(&NKind {
                n: src.len() as u32,
                kind: src.kind as u32,
                a: 256,
                b: 0,
            });
            rec.dispatch(
                "histogram",
                "hist_float",
                &[&p, &src.buf, range, &hist],
                grid_1d(src.len() as u64, WG * 32),
            )?;
            Ok(hist)
        }
    }
}

/// A histogram recorded on the GPU, not yet read back.
pub struct PendingHistogram {
    kind: RawKind,
    range: Readback,
    hist: Readback,
}

/// Records min/max and the histogram of `src` and their readbacks.
pub fn record_histogram(rec: &mut Recorder, src: &GpuPlane) -> Result<PendingHistogram> {
    let range = minmax(rec, src)?;
    let hist = histogram(rec, src, &range)?;
    let nbytes = hist.len();
    Ok(PendingHistogram {
        kind: src.kind,
        range: rec.readback(&range, 0, 8),
        hist: rec.readback(&hist, 0, nbytes),
    })
}

impl PendingHistogram {
    /// Waits for the readbacks and builds the histogram (empty when every sample is NaN).
    pub fn finish(self, gpu: &Gpu) -> Result<Histogram> {
        let range: Vec<u32> = self.range.wait_as(gpu)?;
        let counts: Vec<u32> = self.hist.wait_as(gpu)?;
        Ok(build_histogram(self.kind, [range[0], range[1]], counts))
    }
}

/// Bin centers for the kernel's bins (trimmed to [min, max] for integer bins).
pub fn build_histogram(kind: RawKind, range: [u32; 2], counts: Vec<u32>) -> Histogram {
    if range[0] > range[1] {
        return Histogram {
            counts: vec![],
            centers: vec![],
            integer: !kind.is_float(),
            min: f64::NAN,
            max: f64::NAN,
        };
    }
    let (min, max) = (kind.key_value(range[0]), kind.key_value(range[1]));
    if integer_bins(kind).is_some() {
        let n = (range[1] - range[0]) as usize + 1;
        let counts = counts[..n].to_vec();
        let centers = (0..n).map(|i| min + i as f64).collect();
        Histogram {
            counts,
            centers,
            integer: true,
            min,
            max,
        }
    } else {
        // numpy: edges = linspace(min, max, 257); centers = (e[:-1] + e[1:]) / 2
        let step = (max - min) / 256.0;
        let edge = |k: usize| if k == 256 { max } else { k as f64 * step + min };
        let centers = (0..256).map(|k| (edge(k) + edge(k + 1)) / 2.0).collect();
        Histogram {
            counts,
            centers,
            integer: false,
            min,
            max,
        }
    }
}

/// The threshold `method` gives for `h` (NaN for an empty histogram).
pub fn compute(method: Method, h: &Histogram) -> f64 {
    if let Method::Value(v) = method {
        return v;
    }
    if h.counts.is_empty() {
        return f64::NAN;
    }
    if h.min == h.max {
        return h.min; // scikit-image returns the single value of a constant image
    }
    match method {
        Method::Otsu => otsu(h),
        Method::Isodata => ij_isodata(h),
        Method::Li => li(h),
        Method::Yen => yen(h),
        Method::Triangle => triangle(h),
        Method::Mean => mean(h),
        Method::Value(v) => v,
    }
}

/// First index of the maximum (numpy's argmax).
fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// skimage's threshold_otsu: counts are float32, their cumulative sums float32 (numpy
/// accumulates in the array's type), the class means float64, the product of weights float32.
pub fn otsu(h: &Histogram) -> f64 {
    let n = h.counts.len();
    if n < 2 {
        return h.centers.first().copied().unwrap_or(f64::NAN);
    }
    let c: Vec<f32> = h.counts.iter().map(|&x| x as f32).collect();
    let mut w1 = vec![0f32; n];
    let mut acc = 0f32;
    for i in 0..n {
        acc += c[i];
        w1[i] = acc;
    }
    let mut w2 = vec![0f32; n];
    acc = 0.0;
    for i in (0..n).rev() {
        acc += c[i];
        w2[i] = acc;
    }
    let cm: Vec<f64> = (0..n).map(|i| c[i] as f64 * h.centers[i]).collect();
    let mut m1 = vec![0f64; n];
    let mut s = 0f64;
    for i in 0..n {
        s += cm[i];
        m1[i] = s / w1[i] as f64;
    }
    let mut m2 = vec![0f64; n];
    s = 0.0;
    for i in (0..n).rev() {
        s += cm[i];
        m2[i] = s / w2[i] as f64;
    }
    let var: Vec<f64> = (0..n - 1)
        .map(|i| {
            let w = (w1[i] * w2[i + 1]) as f64;
            let d = m1[i] - m2[i + 1];
            w * (d * d)
        })
        .map(|v| if v.is_nan() { f64::NEG_INFINITY } else { v })
        .collect();
    h.centers[argmax(&var)]
}

/// ImageJ's "Default" (IJ_IsoData) on the 256-bin histogram ImageJ uses (integer bins
/// regrouped into 256 over [min, max] when there are more, as ImageJ does for 16-bit images).
/// Returns the largest value of the chosen bin, so `image > t` keeps exactly the bins above.
pub fn ij_isodata(h: &Histogram) -> f64 {
    let (counts, upper) = regroup_256(h);
    let mut data: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    let max_value = data.len() - 1;
    data[0] = 0.0;
    data[max_value] = 0.0;
    let mut min = 0;
    while data[min] == 0.0 && min < max_value {
        min += 1;
    }
    let mut max = max_value;
    while data[max] == 0.0 && max > 0 {
        max -= 1;
    }
    if min >= max {
        return upper[data.len() / 2];
    }
    let mut moving = min;
    let mut result;
    loop {
        let (mut s1, mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0, 0.0);
        for (i, d) in data.iter().enumerate().take(moving + 1).skip(min) {
            s1 += i as f64 * d;
            s2 += d;
        }
        for (i, d) in data.iter().enumerate().take(max + 1).skip(moving + 1) {
            s3 += i as f64 * d;
            s4 += d;
        }
        result = (s1 / s2 + s3 / s4) / 2.0;
        moving += 1;
        if !((moving + 1) as f64 <= result && moving < max - 1) {
            break;
        }
    }
    let level = (result.round() as usize).min(upper.len() - 1);
    upper[level]
}

/// The histogram in 256 bins over [min, max], and for each bin the threshold that keeps the
/// bins above it: integer images with at most 256 values keep their bins (value = bin); more
/// integer values are regrouped as ImageJ does (`bin = (v - min) * 256 / (max - min + 1)`);
/// float bins end at their upper edge.
fn regroup_256(h: &Histogram) -> (Vec<u64>, Vec<f64>) {
    let n = h.counts.len();
    if !h.integer {
        let step = (h.max - h.min) / 256.0;
        let upper = (0..n).map(|k| h.min + (k + 1) as f64 * step).collect();
        return (h.counts.iter().map(|&c| c as u64).collect(), upper);
    }
    let mut counts = vec![0u64; 256];
    if n <= 256 {
        for (i, &c) in h.counts.iter().enumerate() {
            counts[i] = c as u64;
        }
        return (counts, (0..256).map(|i| h.min + i as f64).collect());
    }
    let span = h.max - h.min + 1.0;
    let scale = 256.0 / span;
    for (i, &c) in h.counts.iter().enumerate() {
        counts[((i as f64 * scale) as usize).min(255)] += c as u64;
    }
    let upper = (0..256)
        .map(|k| (h.min + (k + 1) as f64 * span / 256.0).ceil() - 1.0)
        .collect();
    (counts, upper)
}

/// skimage's threshold_li, on the histogram (exact for integer images, as skimage itself
/// iterates on the histogram there; float images use the 256 bin centers).
pub fn li(h: &Histogram) -> f64 {
    let min = h.min;
    let c: Vec<f64> = h.counts.iter().map(|&x| x as f32 as f64).collect();
    let x: Vec<f64> = h.centers.iter().map(|v| v - min).collect();
    let total: f64 = c.iter().sum();
    let tol = if h.integer {
        0.5
    } else {
        (x.get(1).copied().unwrap_or(1.0) - x[0]).abs() / 2.0
    };
    let mut t_next = c.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>() / total;
    let mut t_curr = -2.0 * tol;
    while (t_next - t_curr).abs() > tol {
        t_curr = t_next;
        let (mut wf, mut sf, mut wb, mut sb) = (0.0, 0.0, 0.0, 0.0);
        for (ci, xi) in c.iter().zip(&x) {
            if *xi > t_curr {
                wf += ci;
                sf += ci * xi;
            } else {
                wb += ci;
                sb += ci * xi;
            }
        }
        let mean_fore = sf / wf;
        let mean_back = sb / wb;
        if mean_back == 0.0 || wf == 0.0 {
            break;
        }
        t_next = (mean_back - mean_fore) / (mean_back.ln() - mean_fore.ln());
    }
    t_next + min
}

/// skimage's threshold_yen (float32 probabilities, as skimage).
pub fn yen(h: &Histogram) -> f64 {
    let n = h.counts.len();
    if n < 2 {
        return h.centers[0];
    }
    let total: f32 = h.counts.iter().map(|&c| c as f32).sum();
    let pmf: Vec<f32> = h.counts.iter().map(|&c| c as f32 / total).collect();
    let mut p1 = vec![0f32; n];
    let mut p1sq = vec![0f32; n];
    let (mut a, mut b) = (0f32, 0f32);
    for i in 0..n {
        a += pmf[i];
        b += pmf[i] * pmf[i];
        p1[i] = a;
        p1sq[i] = b;
    }
    let mut p2sq = vec![0f32; n];
    let mut s = 0f32;
    for i in (0..n).rev() {
        s += pmf[i] * pmf[i];
        p2sq[i] = s;
    }
    let crit: Vec<f64> = (0..n - 1)
        .map(|i| {
            let q = (p1[i] * (1.0 - p1[i])) as f64;
            let v = (1.0 / (p1sq[i] * p2sq[i + 1]) as f64 * q * q).ln();
            if v.is_nan() { f64::NEG_INFINITY } else { v }
        })
        .collect();
    h.centers[argmax(&crit)]
}

/// skimage's threshold_triangle.
pub fn triangle(h: &Histogram) -> f64 {
    let nbins = h.counts.len();
    let mut hist: Vec<f64> = h.counts.iter().map(|&c| c as f64).collect();
    let mut arg_peak = 0;
    for i in 0..nbins {
        if hist[i] > hist[arg_peak] {
            arg_peak = i;
        }
    }
    let peak = hist[arg_peak];
    let nz: Vec<usize> = (0..nbins).filter(|&i| hist[i] != 0.0).collect();
    let (mut low, high) = (nz[0], nz[nz.len() - 1]);
    if low == high {
        return h.centers[low];
    }
    let flip = (arg_peak as i64 - low as i64) < (high as i64 - arg_peak as i64);
    if flip {
        hist.reverse();
        low = nbins - high - 1;
        arg_peak = nbins - arg_peak - 1;
    }
    let width = (arg_peak - low) as f64;
    let norm = (peak * peak + width * width).sqrt();
    let (ph, wd) = (peak / norm, width / norm);
    let len: Vec<f64> = (0..arg_peak - low)
        .map(|x1| ph * x1 as f64 - wd * hist[x1 + low])
        .collect();
    let mut level = argmax(&len) + low;
    if flip {
        level = nbins - level - 1;
    }
    h.centers[level]
}

/// Mean of the image from its histogram.
pub fn mean(h: &Histogram) -> f64 {
    let total: f64 = h.counts.iter().map(|&c| c as f64).sum();
    h.counts
        .iter()
        .zip(&h.centers)
        .map(|(&c, &x)| c as f64 * x)
        .sum::<f64>()
        / total
}

/// The key of the largest value of `kind` that is <= `t`, so that for every sample v,
/// `v > t` exactly when `key(v) > threshold_key(t)`; `None` when every value is above `t`.
pub fn threshold_key(kind: RawKind, t: f64) -> Option<u32> {
    use crate::cpu::raw::f32_key;
    if t.is_nan() {
        return Some(u32::MAX); // nothing is above NaN
    }
    if kind == RawKind::F32 {
        let mut f = t as f32;
        if f as f64 > t {
            f = f.next_down();
        }
        if f == f32::NEG_INFINITY && t > f64::NEG_INFINITY {
            return None;
        }
        if f == 0.0 {
            f = 0.0; // -0.0 -> +0.0: `v > -0.0` and `v > +0.0` agree, their keys do not
        }
        return Some(f32_key(f));
    }
    let (lo, hi) = match kind {
        RawKind::U8 => (0.0, 255.0),
        RawKind::I8 => (-128.0, 127.0),
        RawKind::U16 => (0.0, 65_535.0),
        RawKind::I16 => (-32_768.0, 32_767.0),
        RawKind::U32 => (0.0, u32::MAX as f64),
        _ => (i32::MIN as f64, i32::MAX as f64),
    };
    if t < lo {
        return None;
    }
    let v = t.floor().min(hi);
    Some(if kind.is_signed() {
        ((v as i64 as i32) as u32) ^ 0x8000_0000
    } else {
        v as u32
    })
}

/// Records `mask = src > threshold` (u32 0/1 plane).
pub fn threshold_above(rec: &mut Recorder, src: &GpuPlane, threshold: f64) -> Result<GpuPlane> {
    let key = threshold_key(src.kind, threshold);
    let mask = rec.storage(src.len() as u64 * 4);
    let p = rec.params(&NKind {
        n: src.len() as u32,
        kind: src.kind as u32,
        a: key.unwrap_or(0),
        b: key.is_none() as u32,
    });
    rec.dispatch("threshold", "above", &[&p, &src.buf, &mask], grid_px(src))?;
    Ok(GpuPlane {
        buf: mask,
        kind: RawKind::U32,
        width: src.width,
        height: src.height,
    })
}
