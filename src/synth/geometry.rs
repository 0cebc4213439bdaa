//! Plane geometry for the generator, all in µm: points, segments and polylines, irregular cell
//! bodies (an ellipse whose radius carries a few random Fourier harmonics) and elliptical
//! nuclei, each with an exact-enough distance to its outline (a dense polygon).
//!
//! Not here: randomness (see `scene`), pixels (see `render`).

use std::f64::consts::TAU;

/// A point or vector in µm (x to the right, y down, pixel (0,0) centre at the origin).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct P2 {
    pub x: f64,
    pub y: f64,
}

// `add`/`sub` as plain methods (not `ops`): chained calls read left to right.
#[allow(clippy::should_implement_trait)]
impl P2 {
    pub const fn new(x: f64, y: f64) -> P2 {
        P2 { x, y }
    }
    pub fn add(self, o: P2) -> P2 {
        P2::new(self.x + o.x, self.y + o.y)
    }
    pub fn sub(self, o: P2) -> P2 {
        P2::new(self.x - o.x, self.y - o.y)
    }
    pub fn scale(self, s: f64) -> P2 {
        P2::new(self.x * s, self.y * s)
    }
    pub fn dot(self, o: P2) -> f64 {
        self.x * o.x + self.y * o.y
    }
    pub fn norm(self) -> f64 {
        self.x.hypot(self.y)
    }
    pub fn dist(self, o: P2) -> f64 {
        self.sub(o).norm()
    }
    /// Unit vector at angle `a` (radians).
    pub fn polar(a: f64) -> P2 {
        P2::new(a.cos(), a.sin())
    }
}

/// Distance from `p` to the segment `a`–`b`.
pub fn seg_dist(p: P2, a: P2, b: P2) -> f64 {
    let ab = b.sub(a);
    let l2 = ab.dot(ab);
    let t = if l2 > 0.0 {
        (p.sub(a).dot(ab) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    p.dist(a.add(ab.scale(t)))
}

/// The pieces of segment `a`–`b` outside the disk of centre `c` and radius `r`: none, one
/// or two.
pub fn seg_minus_disk(a: P2, b: P2, c: P2, r: f64) -> Vec<(P2, P2)> {
    let ab = b.sub(a);
    let ac = a.sub(c);
    let (qa, qb, qc) = (ab.dot(ab), 2.0 * ab.dot(ac), ac.dot(ac) - r * r);
    let disc = qb * qb - 4.0 * qa * qc;
    if qa <= 0.0 || disc <= 0.0 {
        return if qc < 0.0 { vec![] } else { vec![(a, b)] };
    }
    let sq = disc.sqrt();
    let (s0, s1) = ((-qb - sq) / (2.0 * qa), (-qb + sq) / (2.0 * qa));
    if s1 <= 0.0 || s0 >= 1.0 {
        return vec![(a, b)];
    }
    let at = |s: f64| a.add(ab.scale(s));
    let mut v = Vec::new();
    if s0 > 0.0 {
        v.push((a, at(s0)));
    }
    if s1 < 1.0 {
        v.push((at(s1), b));
    }
    v
}

/// The segments of the polyline `pts` outside every disk (centre, radius) in `disks`.
pub fn polyline_minus_disks(pts: &[P2], disks: &[(P2, f64)]) -> Vec<(P2, P2)> {
    let mut pieces: Vec<(P2, P2)> = pts.windows(2).map(|w| (w[0], w[1])).collect();
    for &(c, r) in disks {
        pieces = (pieces.into_iter())
            .flat_map(|(a, b)| seg_minus_disk(a, b, c, r))
            .collect();
    }
    pieces
}

/// Distance from `p` to an open polyline (∞ when it has no points).
pub fn polyline_dist(p: P2, pts: &[P2]) -> f64 {
    match pts {
        [] => f64::INFINITY,
        [a] => p.dist(*a),
        _ => pts
            .windows(2)
            .map(|w| seg_dist(p, w[0], w[1]))
            .fold(f64::INFINITY, f64::min),
    }
}

/// Signed distance from `p` to a closed polygon: negative inside, positive outside.
pub fn polygon_sdist(p: P2, poly: &[P2]) -> f64 {
    let n = poly.len();
    let mut d = f64::INFINITY;
    let mut inside = false;
    for i in 0..n {
        let a = poly[i];
        let b = poly[(i + 1) % n];
        d = d.min(seg_dist(p, a, b));
        if (a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y) {
            inside = !inside;
        }
    }
    if inside { -d } else { d }
}

/// Vertices used to measure distances to a body or nucleus outline.
const OUTLINE_VERTICES: usize = 192;
/// Beyond this many µm past an outline's largest radius, distances are lower bounds.
const FAR: f64 = 10.0;

/// An irregular cell body centred at the origin: radius
/// `r(θ) = ellipse(θ) · (1 + Σ_k a_k cos(kθ + φ_k))`, the ellipse rotated by `rot`.
#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    /// Semi-axes of the base ellipse (µm).
    pub a: f64,
    pub b: f64,
    pub rot: f64,
    /// Fourier harmonics `(k, amplitude, phase)`.
    pub harmonics: Vec<(u32, f64, f64)>,
    /// The outline as a polygon (body frame, µm), for distances.
    pub outline: Vec<P2>,
    /// Largest radius (µm).
    pub r_max: f64,
}

impl Body {
    pub fn new(a: f64, b: f64, rot: f64, harmonics: Vec<(u32, f64, f64)>) -> Body {
        let mut body = Body {
            a,
            b,
            rot,
            harmonics,
            outline: Vec::new(),
            r_max: 0.0,
        };
        body.outline = (0..OUTLINE_VERTICES)
            .map(|i| {
                let th = TAU * i as f64 / OUTLINE_VERTICES as f64;
                P2::polar(th).scale(body.radius(th))
            })
            .collect();
        body.r_max = body.outline.iter().map(|p| p.norm()).fold(0.0, f64::max);
        body
    }

    /// Radius of the outline in direction `th` (body frame).
    pub fn radius(&self, th: f64) -> f64 {
        let u = th - self.rot;
        let (s, c) = u.sin_cos();
        let base = self.a * self.b / ((self.b * c).powi(2) + (self.a * s).powi(2)).sqrt();
        let wobble: f64 = self
            .harmonics
            .iter()
            .map(|&(k, amp, ph)| amp * (k as f64 * th + ph).cos())
            .sum();
        base * (1.0 + wobble)
    }

    /// Signed distance of body-frame point `q` to the outline (negative inside).
    pub fn sdist(&self, q: P2) -> f64 {
        let r = q.norm();
        if r > self.r_max + FAR {
            return r - self.r_max; // a lower bound, beyond every clearance we test
        }
        polygon_sdist(q, &self.outline)
    }
}

/// An elliptical nucleus centred at the origin (semi-axes `a ≥ b`, rotated by `rot`).
#[derive(Clone, Debug, PartialEq)]
pub struct Nucleus {
    pub a: f64,
    pub b: f64,
    pub rot: f64,
    pub outline: Vec<P2>,
}

impl Nucleus {
    pub fn new(a: f64, b: f64, rot: f64) -> Nucleus {
        let (s, c) = rot.sin_cos();
        let outline = (0..OUTLINE_VERTICES)
            .map(|i| {
                let th = TAU * i as f64 / OUTLINE_VERTICES as f64;
                let (u, v) = (a * th.cos(), b * th.sin());
                P2::new(u * c - v * s, u * s + v * c)
            })
            .collect();
        Nucleus { a, b, rot, outline }
    }

    /// `(x/a)² + (y/b)²` in the ellipse's frame: below 1 inside.
    pub fn level(&self, q: P2) -> f64 {
        let (s, c) = self.rot.sin_cos();
        let u = q.x * c + q.y * s;
        let v = -q.x * s + q.y * c;
        (u / self.a).powi(2) + (v / self.b).powi(2)
    }

    /// Distance of nucleus-frame point `q` to the nucleus (0 inside).
    pub fn dist(&self, q: P2) -> f64 {
        if q.norm() > self.a + 6.0 * FAR {
            return q.norm() - self.a; // a lower bound, beyond any territory we test
        }
        polygon_sdist(q, &self.outline).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert!(
            (seg_dist(P2::new(1.0, 1.0), P2::new(0.0, 0.0), P2::new(2.0, 0.0)) - 1.0).abs() < 1e-12
        );
        assert!(
            (seg_dist(P2::new(3.0, 0.0), P2::new(0.0, 0.0), P2::new(2.0, 0.0)) - 1.0).abs() < 1e-12
        );
        let sq = [
            P2::new(0.0, 0.0),
            P2::new(2.0, 0.0),
            P2::new(2.0, 2.0),
            P2::new(0.0, 2.0),
        ];
        assert!((polygon_sdist(P2::new(1.0, 1.0), &sq) + 1.0).abs() < 1e-12);
        assert!((polygon_sdist(P2::new(3.0, 1.0), &sq) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn segments_minus_disks() {
        let (a, b) = (P2::new(0.0, 0.0), P2::new(10.0, 0.0));
        let v = seg_minus_disk(a, b, P2::new(5.0, 0.0), 1.0);
        assert_eq!(v.len(), 2);
        assert!((v[0].1.x - 4.0).abs() < 1e-12 && (v[1].0.x - 6.0).abs() < 1e-12);
        assert_eq!(seg_minus_disk(a, b, P2::new(5.0, 3.0), 1.0), vec![(a, b)]);
        assert!(seg_minus_disk(a, b, P2::new(5.0, 0.0), 20.0).is_empty());
        let end = seg_minus_disk(a, b, P2::new(10.0, 0.5), 1.0);
        assert_eq!(end.len(), 1);
        assert!((end[0].1.x - (10.0 - 0.75f64.sqrt())).abs() < 1e-12);
        let pts = [a, b, P2::new(10.0, 10.0)];
        let cut =
            polyline_minus_disks(&pts, &[(P2::new(10.0, 0.0), 2.0), (P2::new(0.0, 0.0), 1.0)]);
        assert_eq!(cut.len(), 2);
        for (p, q) in cut {
            for x in [p, q] {
                assert!(x.dist(P2::new(10.0, 0.0)) >= 2.0 - 1e-9);
                assert!(x.dist(a) >= 1.0 - 1e-9);
            }
        }
    }

    #[test]
    fn circle_body_and_nucleus() {
        let b = Body::new(10.0, 10.0, 0.3, vec![]);
        assert!((b.radius(1.0) - 10.0).abs() < 1e-9);
        assert!((b.sdist(P2::new(12.0, 0.0)) - 2.0).abs() < 1e-2);
        assert!((b.sdist(P2::new(0.0, 0.0)) + 10.0).abs() < 1e-2);
        let n = Nucleus::new(6.0, 4.0, 0.0);
        assert!(n.level(P2::new(5.9, 0.0)) < 1.0 && n.level(P2::new(0.0, 4.1)) > 1.0);
        assert!((n.dist(P2::new(0.0, 6.0)) - 2.0).abs() < 1e-2);
        assert_eq!(n.dist(P2::new(1.0, 1.0)), 0.0);
    }
}
