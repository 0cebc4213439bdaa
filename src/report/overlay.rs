//! QC overlay pictures: the membrane channel, contrast-stretched, with cell bodies outlined
//! (green), territory borders (blue) and every migrasome ringed: yellow when no cargo is
//! positive, magenta when any cargo is; released migrasomes get a second, dashed cyan ring;
//! in a movie, each migrasome track's last positions are drawn as an orange tail.
//! A second picture shows what was not counted and why (`render_rejected`).

use std::path::Path;

use crate::error::{Error, Result};
use crate::image::Plane;
use crate::pipeline::migrasome::FrameResult;
use crate::pipeline::migrasome::shape::Reject;

type Rgb = [u8; 3];

const BODY: Rgb = [40, 220, 60];
const TERRITORY: Rgb = [60, 110, 255];
const NEGATIVE: Rgb = [255, 230, 0];
const POSITIVE: Rgb = [255, 40, 220];
const RELEASED: Rgb = [0, 230, 255];

/// Grey levels from the 0.5th to the 99.5th percentile of the plane.
fn stretch(p: &Plane) -> Vec<u8> {
    let v = p.data.to_f64_vec();
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return vec![0; v.len()];
    }
    s.sort_by(|a, b| a.total_cmp(b));
    let lo = s[(s.len() as f64 * 0.005) as usize];
    let hi = s[((s.len() as f64 * 0.995) as usize).min(s.len() - 1)];
    let span = (hi - lo).max(1e-12);
    v.iter()
        .map(|&x| (((x - lo) / span).clamp(0.0, 1.0) * 255.0) as u8)
        .collect()
}

fn outline(labels: &[u32], w: usize, h: usize, i: usize) -> bool {
    let l = labels[i];
    if l == 0 {
        return false;
    }
    let (x, y) = (i % w, i / w);
    (x > 0 && labels[i - 1] != l)
        || (x + 1 < w && labels[i + 1] != l)
        || (y > 0 && labels[i - w] != l)
        || (y + 1 < h && labels[i + w] != l)
}

fn put(img: &mut [u8], w: usize, h: usize, x: i64, y: i64, c: Rgb) {
    if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
        let o = (y as usize * w + x as usize) * 3;
        img[o..o + 3].copy_from_slice(&c);
    }
}

fn ring(img: &mut [u8], w: usize, h: usize, cx: f64, cy: f64, r: f64, c: Rgb) {
    ring_dashed(img, w, h, (cx, cy, r), c, false);
}

/// A ring two pixels wide; `dashed` draws every other of 16 arcs.
fn ring_dashed(img: &mut [u8], w: usize, h: usize, circle: (f64, f64, f64), c: Rgb, dashed: bool) {
    let (cx, cy, r) = circle;
    let steps = (r * 8.0).max(32.0) as usize;
    for k in 0..steps {
        if dashed && (k * 16 / steps) % 2 == 1 {
            continue;
        }
        let a = k as f64 / steps as f64 * std::f64::consts::TAU;
        for dr in [0.0, 1.0] {
            put(
                img,
                w,
                h,
                (cx + (r + dr) * a.cos()).round() as i64,
                (cy + (r + dr) * a.sin()).round() as i64,
                c,
            );
        }
    }
}

/// Renders the overlay of one frame to an RGB buffer (width * height * 3) without the
/// released rings ([`draw_released`]): a movie's frame is drawn before its migrasomes'
/// released states are known (see `report::tracking`).
pub fn render_base(membrane: &Plane, frame: &FrameResult) -> Vec<u8> {
    let (w, h) = (frame.width, frame.height);
    let grey = stretch(membrane);
    let mut img: Vec<u8> = grey.iter().flat_map(|&g| [g, g, g]).collect();
    for i in 0..w * h {
        if outline(&frame.labels.cells, w, h, i) {
            img[i * 3..i * 3 + 3].copy_from_slice(&TERRITORY);
        }
        if outline(&frame.labels.bodies, w, h, i) {
            img[i * 3..i * 3 + 3].copy_from_slice(&BODY);
        }
    }
    for m in &frame.migrasomes {
        let r = m.stats.equivalent_diameter() / 2.0 + 3.0;
        let c = if m.cargo.iter().any(|x| x.positive) {
            POSITIVE
        } else {
            NEGATIVE
        };
        ring(&mut img, w, h, m.stats.centroid_x, m.stats.centroid_y, r, c);
    }
    img
}

/// The second, dashed ring of each released migrasome.
pub fn draw_released(img: &mut [u8], frame: &FrameResult) {
    let (w, h) = (frame.width, frame.height);
    for m in frame.migrasomes.iter().filter(|m| m.released) {
        let r = m.stats.equivalent_diameter() / 2.0 + 3.0;
        let circle = (m.stats.centroid_x, m.stats.centroid_y, r + 3.0);
        ring_dashed(img, w, h, circle, RELEASED, true);
    }
}

/// Colours of the rejected candidates, by reason.
pub fn reject_colour(r: Reject) -> Rgb {
    match r {
        Reject::InBodyZone => [255, 60, 60],
        Reject::TooSmall => [120, 120, 255],
        Reject::TooLarge => [255, 150, 0],
        Reject::Elongated => [0, 255, 200],
        Reject::ProtrusionTip => [255, 0, 255],
        Reject::Faint => [255, 255, 255],
        Reject::OnPlateau => [255, 160, 160],
    }
}

/// The second overlay: what was not counted and why. Bodies outlined green; spot pixels
/// that reached into a body's exclusion zone filled red; rejected candidates ringed in the
/// colour of their reason (too small blue, too large orange, elongated teal, protrusion tip
/// magenta, faint white); counted migrasomes ringed thin dashed yellow for reference, dashed
/// magenta when counted by time-lapse persistence (this frame alone took it for a tip).
pub fn render_rejected(membrane: &Plane, frame: &FrameResult) -> Vec<u8> {
    let (w, h) = (frame.width, frame.height);
    let grey = stretch(membrane);
    let mut img: Vec<u8> = grey.iter().flat_map(|&g| [g, g, g]).collect();
    for i in 0..w * h {
        if frame.labels.in_body_zone[i] != 0 {
            img[i * 3..i * 3 + 3].copy_from_slice(&reject_colour(Reject::InBodyZone));
        }
        if outline(&frame.labels.bodies, w, h, i) {
            img[i * 3..i * 3 + 3].copy_from_slice(&BODY);
        }
    }
    for r in &frame.rejected {
        let rad = r.stats.equivalent_diameter() / 2.0 + 3.0;
        let c = reject_colour(r.reason);
        ring(
            &mut img,
            w,
            h,
            r.stats.centroid_x,
            r.stats.centroid_y,
            rad,
            c,
        );
    }
    for m in &frame.migrasomes {
        let rad = m.stats.equivalent_diameter() / 2.0 + 3.0;
        let c = if m.persisted {
            reject_colour(Reject::ProtrusionTip)
        } else {
            NEGATIVE
        };
        ring_dashed(
            &mut img,
            w,
            h,
            (m.stats.centroid_x, m.stats.centroid_y, rad),
            c,
            true,
        );
    }
    img
}

/// Writes the rejection overlay as a PNG (to `path`, atomically).
pub fn write_rejected_png(path: &Path, membrane: &Plane, frame: &FrameResult) -> Result<()> {
    save_rgb(path, &render_rejected(membrane, frame), frame)
}

/// Colour of the track tails.
const TAIL: Rgb = [255, 140, 0];

/// Draws polylines (pixel coordinates, oldest first): each track's recent path.
pub fn draw_tails(img: &mut [u8], w: usize, h: usize, tails: &[Vec<(f64, f64)>]) {
    for tail in tails {
        for p in tail.windows(2) {
            let (a, b) = (p[0], p[1]);
            let n = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).max(1);
            for k in 0..=n {
                let f = k as f64 / n as f64;
                let (x, y) = (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f);
                put(img, w, h, x.round() as i64, y.round() as i64, TAIL);
            }
        }
    }
}

/// A movie frame's overlay drawn before its released states are known: the overlay without
/// the released rings ([`render_base`]) and the track tails to draw over them (pixel
/// coordinates, oldest first). Its membrane and label planes can go.
pub struct QcBase {
    pub rgb: Vec<u8>,
    pub tails: Vec<Vec<(f64, f64)>>,
}

/// Writes the overlay of `base` with the released rings of `frame` (its states now known),
/// then the track tails, as a PNG (to `path`, atomically).
pub fn write_png_from_base(path: &Path, base: QcBase, frame: &FrameResult) -> Result<()> {
    let mut img = base.rgb;
    draw_released(&mut img, frame);
    draw_tails(&mut img, frame.width, frame.height, &base.tails);
    save_rgb(path, &img, frame)
}

fn save_rgb(path: &Path, rgb: &[u8], frame: &FrameResult) -> Result<()> {
    let tmp = path.with_extension("png.tmp");
    image::save_buffer_with_format(
        &tmp,
        rgb,
        frame.width as u32,
        frame.height as u32,
        image::ColorType::Rgb8,
        image::ImageFormat::Png,
    )
    .map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::output(path, std::io::Error::other(format!("PNG: {e}")))
    })?;
    std::fs::rename(&tmp, path).map_err(|e| Error::output(path, e))
}
