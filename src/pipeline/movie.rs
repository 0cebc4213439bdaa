//! The benchmark movie: a seeded, 2-channel TCYX uint16 time-lapse with the model of the
//! peers' original movie generator (dim soft-edged cells drifting slowly, ~15 bright Gaussian
//! spots per cell appearing over time, cargo in 40% of them, background 300, shot noise plus
//! read noise 20). Same model and sizes, not the same pixels (another random generator); shot
//! noise uses the normal approximation of Poisson (every mean here is >= 300).
//! `migrascope bench` makes it when no `--input` is given.

use std::path::Path;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal, Poisson, StandardNormal};

use crate::error::Result;
use crate::image::{PlaneData, SampleType};
use crate::io::{PixelSize, Shape, StackWriter, WriteFlavor, WriteSpec};

struct Cell {
    cy: f64,
    cx: f64,
    ry: f64,
    rx: f64,
    theta: f64,
    amp: f64,
    vy: f64,
    vx: f64,
}

struct Spot {
    cell: usize,
    oy: f64,
    ox: f64,
    sigma: f64,
    amp: f64,
    cargo: f64,
    birth: i64,
    walk: Vec<(f64, f64)>,
}

fn soft_ellipse(img: &mut [f32], n: usize, c: &Cell, t: f64) {
    let (cy, cx) = (c.cy + c.vy * t, c.cx + c.vx * t);
    let edge = 4.0;
    let r = c.ry.max(c.rx) + 6.0 * edge;
    let (y0, y1) = ((cy - r).max(0.0) as usize, ((cy + r) as usize + 1).min(n));
    let (x0, x1) = ((cx - r).max(0.0) as usize, ((cx + r) as usize + 1).min(n));
    let (co, si) = (c.theta.cos(), c.theta.sin());
    for y in y0..y1 {
        for x in x0..x1 {
            let (dy, dx) = (y as f64 - cy, x as f64 - cx);
            let u = (co * dx + si * dy) / c.rx;
            let v = (-si * dx + co * dy) / c.ry;
            let d = ((u * u + v * v).sqrt() - 1.0) * 0.5 * (c.rx + c.ry);
            img[y * n + x] += (c.amp / (1.0 + (d / edge).clamp(-50.0, 50.0).exp())) as f32;
        }
    }
}

fn gauss_spot(img: &mut [f32], n: usize, cy: f64, cx: f64, sigma: f64, amp: f64) {
    let r = (4.0 * sigma).ceil() as i64;
    let (iy, ix) = (cy.round() as i64, cx.round() as i64);
    for y in (iy - r).max(0)..(iy + r + 1).min(n as i64) {
        let gy = (-0.5 * ((y as f64 - cy) / sigma).powi(2)).exp();
        for x in (ix - r).max(0)..(ix + r + 1).min(n as i64) {
            let gx = (-0.5 * ((x as f64 - cx) / sigma).powi(2)).exp();
            img[y as usize * n + x as usize] += (amp * gy * gx) as f32;
        }
    }
}

/// Writes the movie to `path` (ImageJ hyperstack); returns the spots present per frame.
pub fn make_movie(path: &Path, seed: u64, frames: usize, size: usize) -> Result<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = size;
    let scale = (n as f64 / 2048.0).powi(2);
    let n_cells = ((40.0 * scale).round() as usize).max(1);
    let margin = (150.0 * n as f64 / 2048.0).max(8.0);
    let normal =
        |rng: &mut ChaCha8Rng, m: f64, s: f64| Normal::new(m, s).expect("finite").sample(rng);
    let cells: Vec<Cell> = (0..n_cells)
        .map(|_| {
            let r = normal(&mut rng, 80.0, 10.0).clamp(55.0, 110.0);
            Cell {
                cy: rng.random_range(margin..n as f64 - margin),
                cx: rng.random_range(margin..n as f64 - margin),
                ry: r * rng.random_range(0.8..1.0),
                rx: r * rng.random_range(1.0..1.2),
                theta: rng.random_range(0.0..std::f64::consts::PI),
                amp: rng.random_range(150.0..300.0),
                vy: normal(&mut rng, 0.0, 0.7),
                vx: normal(&mut rng, 0.0, 0.7),
            }
        })
        .collect();
    let mut spots = Vec::new();
    for (ci, c) in cells.iter().enumerate() {
        let k = Poisson::new(15.0).expect("positive").sample(&mut rng) as usize;
        let r = 0.5 * (c.ry / 0.9 + c.rx / 1.1);
        for _ in 0..k {
            let ang = rng.random_range(0.0..std::f64::consts::TAU);
            let dist = r * rng.random_range(1.05..2.2);
            let rad = rng.random_range(3.0..8.0);
            let cargo = if rng.random::<f64>() < 0.4 {
                rng.random_range(400.0..2000.0)
            } else {
                0.0
            };
            let mut walk = Vec::with_capacity(frames);
            let (mut wy, mut wx) = (0.0, 0.0);
            for _ in 0..frames {
                wy += normal(&mut rng, 0.0, 0.5);
                wx += normal(&mut rng, 0.0, 0.5);
                walk.push((wy, wx));
            }
            spots.push(Spot {
                cell: ci,
                oy: dist * ang.sin(),
                ox: dist * ang.cos(),
                sigma: rad / 2.0,
                amp: rng.random_range(800.0..3000.0),
                cargo,
                birth: rng.random_range(-(frames as i64)..frames as i64),
                walk,
            });
        }
    }
    let spec = WriteSpec {
        shape: Shape {
            t: frames,
            c: 2,
            z: 1,
            y: n,
            x: n,
        },
        pixel_size_um: PixelSize::default(),
        time_increment_s: None,
        channels: vec![Some("membrane".into()), Some("cargo".into())],
    };
    let mut w = StackWriter::create(path, &spec, SampleType::U16, WriteFlavor::ImageJ)?;
    let mut present = Vec::with_capacity(frames);
    for t in 0..frames {
        let mut ch0 = vec![0f32; n * n];
        let mut ch1 = vec![0f32; n * n];
        for c in &cells {
            soft_ellipse(&mut ch0, n, c, t as f64);
        }
        let mut count = 0;
        for s in &spots {
            if (t as i64) < s.birth {
                continue;
            }
            let c = &cells[s.cell];
            let y = c.cy + c.vy * t as f64 + s.oy + s.walk[t].0;
            let x = c.cx + c.vx * t as f64 + s.ox + s.walk[t].1;
            if !(0.0..n as f64).contains(&y) || !(0.0..n as f64).contains(&x) {
                continue;
            }
            count += 1;
            gauss_spot(&mut ch0, n, y, x, s.sigma, s.amp);
            if s.cargo > 0.0 {
                gauss_spot(&mut ch1, n, y, x, s.sigma, s.cargo);
            }
        }
        present.push(count);
        for ch in [ch0, ch1] {
            let noisy: Vec<u16> = ch
                .iter()
                .map(|&v| {
                    let lam = v as f64 + 300.0;
                    let z: f64 = StandardNormal.sample(&mut rng);
                    let r: f64 = StandardNormal.sample(&mut rng);
                    (lam + lam.sqrt() * z + 20.0 * r)
                        .round()
                        .clamp(0.0, 65535.0) as u16
                })
                .collect();
            w.push_plane(&PlaneData::U16(noisy))?;
        }
    }
    w.finish()?;
    Ok(present)
}
