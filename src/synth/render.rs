//! Pixels of a synthetic frame: each channel's signal (photons above background at full
//! illumination), blurred by the Gaussian PSF, thin rods (fibers, tethers, cargo puncta)
//! drawn already blurred, then illumination, background, Poisson shot noise, gain, offset and
//! read noise, rounded to uint16. Channels of a frame render on parallel threads; each plane's
//! noise comes from its own ChaCha8 stream (per 64-row chunk), so output does not depend on
//! the thread count.
//!
//! Not here: where things are (see `scene`, `layout`).

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

use super::dynamics::MODEL as DYNAMICS;
use super::geometry::{P2, polyline_minus_disks, seg_dist};
use super::poisson;
use super::realism::{DEBRIS_REACH, MODEL as REALISM};
use super::scene::{Blob, Cell, Look, Rod, Scene, texture};

/// Rows per noise stream.
const CHUNK_ROWS: usize = 64;

/// A plane of f32 samples with its pixel size, drawn in µm.
struct Canvas {
    n: usize,
    px: f64,
    v: Vec<f32>,
}

impl Canvas {
    fn new(n: usize, px: f64) -> Canvas {
        Canvas {
            n,
            px,
            v: vec![0.0; n * n],
        }
    }

    /// Pixel index ranges covering `[lo, hi]` µm (clamped to the plane).
    fn span(&self, lo: f64, hi: f64) -> std::ops::Range<usize> {
        let a = (lo / self.px).ceil().max(0.0) as usize;
        let b = ((hi / self.px).floor() + 1.0).clamp(0.0, self.n as f64) as usize;
        a.min(b)..b
    }

    /// Calls `f(p)` for every pixel centre within `r` µm (box) of `c`; adds what it returns.
    fn add_box(&mut self, c: P2, r: f64, mut f: impl FnMut(P2) -> f64) {
        for i in self.span(c.y - r, c.y + r) {
            let row = i * self.n;
            for j in self.span(c.x - r, c.x + r) {
                let v = f(P2::new(j as f64 * self.px, i as f64 * self.px));
                if v != 0.0 {
                    self.v[row + j] += v as f32;
                }
            }
        }
    }

    /// A rod with a Gaussian cross-section of SD `sd` µm and peak `peak`, max-combined.
    fn rod_max(&mut self, a: P2, b: P2, sd: f64, peak: f64) {
        let r = 3.5 * sd;
        let (x0, x1) = (a.x.min(b.x) - r, a.x.max(b.x) + r);
        let (y0, y1) = (a.y.min(b.y) - r, a.y.max(b.y) + r);
        let k = -0.5 / (sd * sd);
        for i in self.span(y0, y1) {
            for j in self.span(x0, x1) {
                let d = seg_dist(P2::new(j as f64 * self.px, i as f64 * self.px), a, b);
                if d <= r {
                    let v = (peak * (k * d * d).exp()) as f32;
                    let cell = &mut self.v[i * self.n + j];
                    *cell = cell.max(v);
                }
            }
        }
    }

    /// A Gaussian blur of SD `sigma_px` approximated by three box passes per axis (running
    /// sums, clamped edges): for wide blurs such as out-of-focus haze.
    fn box_blur3(&mut self, sigma_px: f64) {
        // Box half-width w for three passes: variance 3 · ((2w+1)² - 1) / 12 = σ².
        let w = (((4.0 * sigma_px * sigma_px + 1.0).sqrt() - 1.0) / 2.0).round() as usize;
        if w == 0 {
            return;
        }
        let n = self.n;
        let mut line = vec![0f32; n];
        let pass = |line: &mut [f32]| {
            let src = line.to_vec();
            let at = |k: isize| src[k.clamp(0, n as isize - 1) as usize] as f64;
            let norm = 1.0 / (2 * w + 1) as f64;
            let mut acc: f64 = (-(w as isize)..=w as isize).map(at).sum();
            for (k, o) in line.iter_mut().enumerate() {
                *o = (acc * norm) as f32;
                let k = k as isize;
                acc += at(k + w as isize + 1) - at(k - w as isize);
            }
        };
        for i in 0..n {
            let row = &mut self.v[i * n..(i + 1) * n];
            for _ in 0..3 {
                pass(row);
            }
        }
        for j in 0..n {
            for (i, l) in line.iter_mut().enumerate() {
                *l = self.v[i * n + j];
            }
            for _ in 0..3 {
                pass(&mut line);
            }
            for (i, l) in line.iter().enumerate() {
                self.v[i * n + j] = *l;
            }
        }
    }

    /// Separable Gaussian blur (clamped edges); skipped below 0.2 px.
    fn blur(&mut self, sigma_px: f64) {
        if sigma_px < 0.2 {
            return;
        }
        let rad = (3.5 * sigma_px).ceil() as isize;
        let mut k: Vec<f32> = (-rad..=rad)
            .map(|d| (-(d * d) as f64 / (2.0 * sigma_px * sigma_px)).exp() as f32)
            .collect();
        let s: f32 = k.iter().sum();
        k.iter_mut().for_each(|x| *x /= s);
        let n = self.n as isize;
        let mut tmp = vec![0f32; self.v.len()];
        for i in 0..n {
            let row = &self.v[(i * n) as usize..((i + 1) * n) as usize];
            for j in 0..n {
                let mut acc = 0f32;
                for (t, w) in k.iter().enumerate() {
                    acc += w * row[(j + t as isize - rad).clamp(0, n - 1) as usize];
                }
                tmp[(i * n + j) as usize] = acc;
            }
        }
        for i in 0..n {
            let out = &mut self.v[(i * n) as usize..((i + 1) * n) as usize];
            out.fill(0.0);
            for (t, w) in k.iter().enumerate() {
                let src = (i + t as isize - rad).clamp(0, n - 1);
                let srow = &tmp[(src * n) as usize..((src + 1) * n) as usize];
                for (o, s) in out.iter_mut().zip(srow) {
                    *o += w * s;
                }
            }
        }
    }
}

/// Edge coverage of a pixel `inside` µm within an outline (anti-aliasing over one pixel).
fn cover(inside: f64, px: f64) -> f64 {
    (inside / px + 0.5).clamp(0.0, 1.0)
}

/// Renders frames of a scene.
pub struct Renderer<'a> {
    scene: &'a Scene,
    /// Multiplicative illumination, row-major.
    pub illum: Vec<f32>,
}

impl<'a> Renderer<'a> {
    pub fn new(scene: &'a Scene) -> Renderer<'a> {
        let n = scene.cfg.size;
        let px = scene.cfg.pixel_size_um;
        let (c, s) = scene.illumination;
        let w = scene.cfg.field_um();
        let corners = [
            P2::new(0.0, 0.0),
            P2::new(w, 0.0),
            P2::new(0.0, w),
            P2::new(w, w),
        ];
        let dmax = corners.iter().map(|q| q.dist(c)).fold(0.0, f64::max);
        let g = |d: f64| (-d * d / (2.0 * s * s)).exp();
        let gmin = g(dmax);
        let lo = scene.model.illumination_min;
        let mut illum = Vec::with_capacity(n * n);
        for i in 0..n {
            for j in 0..n {
                let d = P2::new(j as f64 * px, i as f64 * px).dist(c);
                let u = ((g(d) - gmin) / (1.0 - gmin)).clamp(0.0, 1.0);
                illum.push((lo + (1.0 - lo) * u) as f32);
            }
        }
        // Realism: a smooth field 1 ± X, scaled so that it spans exactly ±X over the image.
        let x = scene.cfg.realism.illumination;
        if x > 0.0 && !scene.illum_waves.is_empty() {
            let f: Vec<f64> = (0..n * n)
                .map(|k| {
                    let p = P2::new((k % n) as f64 * px, (k / n) as f64 * px);
                    texture(&scene.illum_waves, p)
                })
                .collect();
            let (fmin, fmax) = f
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let (mid, half) = (0.5 * (fmin + fmax), (0.5 * (fmax - fmin)).max(1e-12));
            for (i, v) in illum.iter_mut().zip(f) {
                *i *= (1.0 + x * (v - mid) / half) as f32;
            }
        }
        Renderer { scene, illum }
    }

    /// The frame's planes in channel order.
    pub fn frame(&self, t: usize) -> Vec<Vec<u16>> {
        let nc = self.scene.model.channels.len();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..nc)
                .map(|c| s.spawn(move || self.channel(t, c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("render thread"))
                .collect()
        })
    }

    /// Noise-free signal (photons above background, illumination 1.0) of channel `c`.
    pub fn signal(&self, t: usize, c: usize) -> Vec<f32> {
        let sc = self.scene;
        let m = &sc.model;
        let px = sc.cfg.pixel_size_um;
        let amp = m.channels[c].amplitude_photons;
        let mut pre = Canvas::new(sc.cfg.size, px);
        let mut post = Canvas::new(sc.cfg.size, px);
        let alive: Vec<_> = sc.alive(t).collect();
        // the uptake channel (last): labelled migrasomes only (see `uptake`)
        if let Some(labels) = &sc.gfp
            && c + 1 == m.channels.len()
        {
            for p in super::uptake::puncta(sc, labels, t, DYNAMICS.blink_dim) {
                dome(&mut pre, p.c, p.r, amp * p.peak_rel);
            }
            pre.blur(m.psf_sigma_um / px);
            return self.finish_signal(pre, post);
        }
        for cell in &sc.cells {
            match c {
                0 => nucleus(&mut pre, cell, t, amp * m.nucleus_rel, m.chromatin_texture),
                1 => {
                    match &cell.look {
                        None => body(&mut pre, cell, t, amp, sc),
                        Some(look) => {
                            real_body(&mut pre, cell, look, t, amp, sc);
                            extras(&mut pre, &mut post, cell, look, t, amp, m.psf_sigma_um);
                        }
                    }
                    let breaks = sc.fiber_breaks(cell.id, t);
                    for f in &cell.fibers {
                        let rod = |a, b| Rod {
                            a,
                            b,
                            width: f.width,
                            peak: f.peak_rel * amp,
                        };
                        for (a, b) in polyline_minus_disks(&f.pts, &breaks) {
                            blurred_rod(&mut post, &rod(a, b), m.psf_sigma_um);
                        }
                        if f.tethered && t > 0 && cell.velocity.norm() > 0.0 {
                            let tip = f.pts[0].add(cell.velocity.scale(t as f64));
                            blurred_rod(&mut post, &rod(f.pts[0], tip), m.psf_sigma_um);
                        }
                    }
                }
                _ => {
                    let k = c - 2;
                    let pos = cell.pos(t);
                    let level = amp * m.cargo_diffuse_rel;
                    pre.add_box(pos, cell.body.r_max + px, |p| {
                        let q = p.sub(pos);
                        let inside = cell.body.radius(q.y.atan2(q.x)) - q.norm();
                        level * cover(inside, px)
                    });
                    for r in &cell.puncta[k] {
                        let rod = Rod {
                            a: r.a.add(pos),
                            b: r.b.add(pos),
                            peak: r.peak * amp,
                            ..*r
                        };
                        blurred_rod(&mut post, &rod, m.psf_sigma_um);
                    }
                }
            }
        }
        for mig in alive {
            let peak = match c {
                0 => None,
                1 => Some(mig.amp_rel),
                _ => mig.cargo[c - 2],
            };
            if let Some(rel) = peak {
                // a blinking migrasome is dimmed below detection
                let dim = if mig.visible(t) {
                    1.0
                } else {
                    DYNAMICS.blink_dim
                };
                let (r, a, at) = (0.5 * mig.diameter, amp * rel * dim, mig.pos_at(t));
                pre.add_box(at, r + px, |p| {
                    let rho = p.dist(at);
                    let dome = 0.85 + 0.15 * (1.0 - (rho / r).powi(2)).max(0.0).sqrt();
                    a * dome * cover(r - rho, px)
                });
            }
        }
        for d in &sc.debris {
            let peak = d.peaks[c] * amp;
            if peak > 0.0 {
                let (s, co) = d.rot.sin_cos();
                pre.add_box(d.c, DEBRIS_REACH * d.a + px, |p| {
                    let q = p.sub(d.c);
                    let (u, v) = (q.x * co + q.y * s, -q.x * s + q.y * co);
                    let rho2 = (u / d.a).powi(2) + (v / d.b).powi(2);
                    if rho2 > DEBRIS_REACH * DEBRIS_REACH {
                        0.0
                    } else {
                        peak * (-rho2 * rho2).exp()
                    }
                });
            }
        }
        pre.blur(m.psf_sigma_um / px);
        self.finish_signal(pre, post)
    }

    /// `pre` (already blurred) plus `post`, with the haze.
    fn finish_signal(&self, mut pre: Canvas, post: Canvas) -> Vec<f32> {
        let sc = self.scene;
        let px = sc.cfg.pixel_size_um;
        for (a, b) in pre.v.iter_mut().zip(&post.v) {
            *a += b;
        }
        let haze = sc.cfg.realism.haze;
        if haze > 0.0 {
            let mut h = Canvas {
                n: pre.n,
                px,
                v: pre.v.clone(),
            };
            h.box_blur3(REALISM.haze_sigma_um / px);
            for (a, b) in pre.v.iter_mut().zip(&h.v) {
                *a += haze as f32 * b;
            }
        }
        pre.v
    }

    /// Channel `c` of frame `t` with illumination, background and noise, as uint16.
    fn channel(&self, t: usize, c: usize) -> Vec<u16> {
        let sc = self.scene;
        let m = &sc.model;
        let n = sc.cfg.size;
        let sig = self.signal(t, c);
        let bg = m.channels[c].background_photons;
        // each plane's noise streams; the uptake channel's come after every other plane's,
        // so turning it on changes no other channel's noise
        let nbase = m.channels.len() - usize::from(sc.gfp.is_some());
        let plane = if c < nbase {
            t * nbase + c
        } else {
            sc.cfg.frames * nbase + t
        } as u64;
        let chunks = n.div_ceil(CHUNK_ROWS) as u64;
        let mut out = vec![0u16; n * n];
        for (ci, rows) in out.chunks_mut(CHUNK_ROWS * n).enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(sc.cfg.seed);
            rng.set_stream(1 + plane * chunks + ci as u64);
            let base = ci * CHUNK_ROWS * n;
            for (k, o) in rows.iter_mut().enumerate() {
                let lam = self.illum[base + k] as f64 * (bg + sig[base + k].max(0.0) as f64);
                let photons = poisson::sample(&mut rng, lam);
                let read: f64 = rng.sample(StandardNormal);
                let adu = m.offset_adu + m.gain_adu_per_photon * photons + m.read_noise_adu * read;
                *o = adu.round().clamp(0.0, 65535.0) as u16;
            }
        }
        out
    }
}

/// A rod after PSF blurring: Gaussian cross-section of SD √(w²/2.355² + σ_psf²), at least half
/// a pixel (its integral kept when widened), peak as given.
fn blurred_rod(canvas: &mut Canvas, rod: &Rod, psf: f64) {
    let sd = ((rod.width / 2.355).powi(2) + psf * psf).sqrt();
    let sd_eff = sd.max(0.5 * canvas.px);
    canvas.rod_max(rod.a, rod.b, sd_eff, rod.peak * sd / sd_eff);
}

fn nucleus(canvas: &mut Canvas, cell: &Cell, t: usize, amp: f64, tex: f64) {
    let c = cell.nucleus_center(t);
    let px = canvas.px;
    let (nuc, waves) = (&cell.nucleus, &cell.chromatin);
    canvas.add_box(c, nuc.a + px, |p| {
        let q = p.sub(c);
        let inside = (1.0 - nuc.level(q).sqrt()) * nuc.b;
        let cov = cover(inside, px);
        if cov > 0.0 {
            amp * (1.0 + tex * texture(waves, q)) * cov
        } else {
            0.0
        }
    });
}

fn body(canvas: &mut Canvas, cell: &Cell, t: usize, amp: f64, sc: &Scene) {
    let m = &sc.model;
    let pos = cell.pos(t);
    let px = canvas.px;
    let g2 = 2.0 * 1.5f64.powi(2);
    canvas.add_box(pos, cell.body.r_max + px, |p| {
        let q = p.sub(pos);
        let inside = cell.body.radius(q.y.atan2(q.x)) - q.norm();
        let cov = cover(inside, px);
        if cov <= 0.0 {
            return 0.0;
        }
        let u = (inside / m.rim_width_um).clamp(0.0, 1.0);
        let golgi = (-q.sub(cell.golgi).dot(q.sub(cell.golgi)) / g2).exp();
        let level = m.body_rel * (1.0 + m.body_texture * texture(&cell.body_texture, q))
            + m.rim_rel * (1.0 - u).powi(2)
            + m.golgi_rel * golgi;
        amp * level * cov
    });
}

/// A flat-topped dome (like a migrasome, 0.85 at the edge) at `c`, radius `b.r`, peak `peak`.
fn dome(canvas: &mut Canvas, c: P2, r: f64, peak: f64) {
    let px = canvas.px;
    canvas.add_box(c, r + px, |p| {
        let rho = p.dist(c);
        let d = 0.85 + 0.15 * (1.0 - (rho / r).powi(2)).max(0.0).sqrt();
        peak * d * cover(r - rho, px)
    });
}

/// A realistic body (`Look`): interior `body_rel` with texture, the rim as a multiple of the
/// interior (or the classic additive rim), the classic Golgi haze, and a ruffle band.
fn real_body(canvas: &mut Canvas, cell: &Cell, look: &Look, t: usize, amp: f64, sc: &Scene) {
    let m = &sc.model;
    let pos = cell.pos(t);
    let px = canvas.px;
    let g2 = 2.0 * 1.5f64.powi(2);
    let fade = REALISM.rim_fade_fraction;
    canvas.add_box(pos, cell.body.r_max + px, |p| {
        let q = p.sub(pos);
        let th = q.y.atan2(q.x);
        let inside = cell.body.radius(th) - q.norm();
        let cov = cover(inside, px);
        if cov <= 0.0 {
            return 0.0;
        }
        let tex = m.body_texture * texture(&cell.body_texture, q)
            + REALISM.body_fine_texture * texture(&look.texture, q);
        let interior = look.body_rel * (1.0 + tex);
        let golgi = (-q.sub(cell.golgi).dot(q.sub(cell.golgi)) / g2).exp();
        let mut level = match look.rim {
            Some((x, w)) => {
                // 1 over the outer (1 - fade) of the band, fading to 0 at its inner edge.
                let prof = ((1.0 - inside / w) / fade).clamp(0.0, 1.0);
                interior * (1.0 + (x - 1.0) * prof)
            }
            None => {
                let u = (inside / m.rim_width_um).clamp(0.0, 1.0);
                interior + m.rim_rel * (1.0 - u).powi(2)
            }
        } + m.golgi_rel * golgi;
        if let Some(r) = &look.ruffle {
            level += ruffle(r, th, inside);
        }
        amp * level * cov
    });
}

/// The ruffle's added brightness at angle `th` (body frame), `inside` µm in from the edge:
/// bands parallel to the edge, phase and depth wobbling along it, fading inwards and at the
/// ends of the ruffled stretch.
fn ruffle(r: &super::scene::Ruffle, th: f64, inside: f64) -> f64 {
    let d = {
        let x = (th - r.dir).rem_euclid(std::f64::consts::TAU);
        if x > std::f64::consts::PI {
            x - std::f64::consts::TAU
        } else {
            x
        }
    };
    if d.abs() >= r.half {
        return 0.0;
    }
    let wob: f64 = r
        .wobble
        .iter()
        .map(|&(k, a, ph)| a * (k as f64 * th + ph).cos())
        .sum();
    let depth = r.depth * (1.0 + 0.25 * wob).clamp(0.4, 1.6);
    if inside >= depth {
        return 0.0;
    }
    let env = (0.5 * std::f64::consts::PI * d / r.half).cos().powi(2);
    let bands =
        (0.5 + 0.5 * (std::f64::consts::TAU * inside / r.spacing + 2.5 * wob).cos()).powi(3);
    r.peak * env * (0.25 + 0.75 * bands) * (1.0 - inside / depth).sqrt()
}

/// Puncta (into `pre`, blurred with the rest), filopodia (drawn blurred into `post`) and
/// their tips, moving with the body.
fn extras(
    pre: &mut Canvas,
    post: &mut Canvas,
    cell: &Cell,
    look: &Look,
    t: usize,
    amp: f64,
    psf: f64,
) {
    let pos = cell.pos(t);
    for b in &look.puncta {
        dome(pre, b.c.add(pos), b.r, amp * b.peak);
    }
    for f in &look.filopodia {
        for w in f.pts.windows(2) {
            let rod = Rod {
                a: w[0].add(pos),
                b: w[1].add(pos),
                width: f.width,
                peak: f.peak * amp,
            };
            blurred_rod(post, &rod, psf);
        }
        if let Some(Blob { c, r, peak }) = f.tip {
            dome(pre, c.add(pos), r, amp * peak);
        }
    }
}
