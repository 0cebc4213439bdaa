//! Host-side shape of each migrasome candidate, from the candidate label image the GPU read
//! back, and the keep/reject decision with its reason (size, elongation). A migrasome is a
//! round vesicle: a candidate whose second moments make it much longer than wide is a piece
//! of fiber, a filopodium or a ruffle, not a vesicle.
//!
//! Not here: the GPU work that finds candidates (see `frame`), the body-zone rule (applied on
//! the GPU to whole components before splitting).

use serde::Serialize;

/// Second moments of one object (pixel units).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Shape {
    /// Lengths of the major and minor axes of the ellipse with the same second moments
    /// (skimage's `axis_major_length`, `axis_minor_length`).
    pub major: f64,
    pub minor: f64,
    /// The brightest ridge (fiber or filopodium) pixel just outside the object over the
    /// object's own peak, both on the membrane smoothed at the spot detector's noise scale
    /// (so neither is a maximum of pixel noise) and above the local background: near 1 for a
    /// protrusion's tip on its shaft or a speck of noise on dim debris, about 0.1–0.3 for a
    /// migrasome on a retraction fiber, 0 with no ridge.
    pub tip_ratio: f64,
}

impl Shape {
    /// Major over minor axis (1 for a disk); infinite for a one-pixel-wide line.
    pub fn elongation(&self) -> f64 {
        if self.minor > 0.0 {
            self.major / self.minor
        } else if self.major > 0.0 {
            f64::INFINITY
        } else {
            1.0
        }
    }
}

/// Shapes of labels 1..=n of a `w`-wide label image (label 0 is background; labels above n
/// are ignored).
pub fn shapes(labels: &[u32], w: usize, n: usize) -> Vec<Shape> {
    // per label: count, sum x, sum y, sum xx, sum yy, sum xy (pixel centres)
    let mut acc = vec![[0f64; 6]; n];
    for (i, &l) in labels.iter().enumerate() {
        if l == 0 || l as usize > n {
            continue;
        }
        let (x, y) = ((i % w) as f64, (i / w) as f64);
        let a = &mut acc[l as usize - 1];
        a[0] += 1.0;
        a[1] += x;
        a[2] += y;
        a[3] += x * x;
        a[4] += y * y;
        a[5] += x * y;
    }
    acc.iter()
        .map(|a| {
            if a[0] == 0.0 {
                return Shape::default();
            }
            let (mx, my) = (a[1] / a[0], a[2] / a[0]);
            // central moments, with the 1/12 of a unit pixel so a single pixel is a disk
            let cxx = a[3] / a[0] - mx * mx + 1.0 / 12.0;
            let cyy = a[4] / a[0] - my * my + 1.0 / 12.0;
            let cxy = a[5] / a[0] - mx * my;
            let tr = (cxx + cyy) / 2.0;
            let d = (((cxx - cyy) / 2.0).powi(2) + cxy * cxy).sqrt();
            Shape {
                major: 4.0 * (tr + d).max(0.0).sqrt(),
                minor: 4.0 * (tr - d).max(0.0).sqrt(),
                tip_ratio: 0.0,
            }
        })
        .collect()
}

/// Why a candidate is not counted as a migrasome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reject {
    /// Part of a spot that reaches into a cell body's exclusion zone (its edge, a ruffle, a
    /// protrusion, the Golgi).
    InBodyZone,
    TooSmall,
    TooLarge,
    /// Much longer than wide: a fiber segment or filopodium.
    Elongated,
    /// A filopodium's tip: small and on a protrusion (a short piece of ridge from a body),
    /// or beside a ridge or fragment nearly as bright as itself.
    ProtrusionTip,
    /// Far fainter than the frame's typical migrasome: debris or haze.
    Faint,
    /// On a plateau higher above the background than the candidate stands above it: inside
    /// a dim part of a body that the body mask missed, or a bump on a piece of debris (see
    /// `MigrasomeParams::max_plateau_ratio`).
    OnPlateau,
}

/// The geometric rules a candidate must pass (pixels).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ShapeRules {
    pub min_area: u32,
    pub max_area: u32,
    pub max_elongation: f64,
    pub max_tip_ratio: f64,
}

/// `None` when the candidate is a migrasome, else the first rule it breaks.
pub fn judge(area: u64, shape: &Shape, rules: &ShapeRules) -> Option<Reject> {
    if area < rules.min_area as u64 {
        Some(Reject::TooSmall)
    } else if area > rules.max_area as u64 {
        Some(Reject::TooLarge)
    } else if shape.elongation() > rules.max_elongation {
        Some(Reject::Elongated)
    } else if shape.tip_ratio > rules.max_tip_ratio {
        Some(Reject::ProtrusionTip)
    } else {
        None
    }
}

/// The median peak (above the local background) of the candidates `counted` says are
/// counted (`None` when there is none): the frame's typical migrasome.
pub fn typical_peak(peaks: &[f64], counted: impl Fn(usize) -> bool) -> Option<f64> {
    let counted: Vec<f64> = (0..peaks.len())
        .filter(|&i| counted(i))
        .map(|i| peaks[i])
        .collect();
    (!counted.is_empty()).then(|| crate::stats::median(&counted))
}

/// The faint rule: every candidate still counted whose peak (above its local background) is
/// below `fraction` of the median peak of those counted becomes [`Reject::Faint`]. The
/// median is the frame's own typical migrasome, so the rule follows the image's brightness
/// and contrast; with `fraction` 0 (off) or nothing counted, nothing changes. Returns the
/// floor applied (`None`: none).
pub fn reject_faint(peaks: &[f64], verdicts: &mut [Option<Reject>], fraction: f64) -> Option<f64> {
    if fraction <= 0.0 {
        return None;
    }
    let floor = fraction * typical_peak(peaks, |i| verdicts[i].is_none())?;
    for (&p, v) in peaks.iter().zip(verdicts.iter_mut()) {
        if v.is_none() && p < floor {
            *v = Some(Reject::Faint);
        }
    }
    Some(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paint(w: usize, h: usize, f: impl Fn(usize, usize) -> u32) -> Vec<u32> {
        (0..w * h).map(|i| f(i % w, i / w)).collect()
    }

    #[test]
    fn disk_is_round_and_line_is_long() {
        let (w, h) = (40, 40);
        let img = paint(w, h, |x, y| {
            let (dx, dy) = (x as f64 - 10.0, y as f64 - 10.0);
            if dx * dx + dy * dy <= 36.0 {
                1
            } else if y == 30 && (5..35).contains(&x) {
                2
            } else {
                0
            }
        });
        let s = shapes(&img, w, 2);
        // a disk of radius 6 has both axes about 12 px (4 * sqrt(r^2 / 4))
        assert!((s[0].major - 12.0).abs() < 0.6, "{:?}", s[0]);
        assert!((s[0].elongation() - 1.0).abs() < 0.02, "{:?}", s[0]);
        // a 30 x 1 line: variance (30^2 - 1) / 12 along it plus 1/12 for the pixel's own
        // width, so major = 4 * sqrt(900 / 12); minor = 4 * sqrt(1 / 12)
        assert!((s[1].major - 4.0 * (900.0f64 / 12.0).sqrt()).abs() < 1e-9);
        assert!((s[1].minor - 4.0 * (1.0f64 / 12.0).sqrt()).abs() < 1e-9);
        assert!(s[1].elongation() > 25.0);
    }

    #[test]
    fn rules_in_order() {
        let r = ShapeRules {
            min_area: 5,
            max_area: 100,
            max_elongation: 2.5,
            max_tip_ratio: 0.5,
        };
        let round = Shape {
            major: 4.0,
            minor: 4.0,
            tip_ratio: 0.2,
        };
        let long = Shape {
            major: 12.0,
            minor: 3.0,
            tip_ratio: 0.0,
        };
        let tip = Shape {
            tip_ratio: 0.8,
            ..round
        };
        assert_eq!(judge(50, &tip, &r), Some(Reject::ProtrusionTip));
        assert_eq!(judge(4, &round, &r), Some(Reject::TooSmall));
        assert_eq!(judge(101, &round, &r), Some(Reject::TooLarge));
        assert_eq!(judge(50, &long, &r), Some(Reject::Elongated));
        assert_eq!(judge(50, &round, &r), None);
    }

    #[test]
    fn faint_rule_follows_the_frames_median() {
        // counted peaks 10, 40, 50, 60, 100, 22; one already rejected at 1
        let peaks = [10.0, 40.0, 50.0, 1.0, 60.0, 100.0, 22.0];
        let base = [None, None, None, Some(Reject::TooSmall), None, None, None];
        let mut v = base;
        // median of 10, 40, 50, 60, 100, 22 = 45; floor 0.45 * 45 = 20.25
        reject_faint(&peaks, &mut v, 0.45);
        assert_eq!(v[0], Some(Reject::Faint));
        assert_eq!(v[3], Some(Reject::TooSmall), "an earlier reason is kept");
        assert_eq!(v[6], None, "22 is above the floor");
        assert!(v[1..3].iter().chain(&v[4..6]).all(Option::is_none));
        // scaling every peak scales the floor: the same verdicts
        let scaled: Vec<f64> = peaks.iter().map(|p| p * 37.0).collect();
        let mut w = base;
        reject_faint(&scaled, &mut w, 0.45);
        assert_eq!(v, w);
        // off, or nothing counted: unchanged
        let mut off = base;
        reject_faint(&peaks, &mut off, 0.0);
        assert_eq!(off, base);
        let mut none = [Some(Reject::TooLarge); 3];
        reject_faint(&[1.0, 2.0, 3.0], &mut none, 0.45);
        assert_eq!(none, [Some(Reject::TooLarge); 3]);
    }
}
