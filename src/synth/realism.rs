//! The realism pass (`SynthConfig::realism`): what real WGA / TSPAN4-GFP images hold besides
//! migrasomes: bright bodies with a membrane rim, Golgi and vesicle puncta, filopodia with
//! tips, ruffles, dim debris and a smooth illumination field. It runs after the classic
//! layout, from its own random stream, and places nothing within 1 µm of a migrasome.
//! Cells in contact and cells cut by the border are placed in `scene`.
//!
//! Not here: pixels (see `render`), the classic model (see `scene`, `layout`).

use std::f64::consts::{PI, TAU};

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};
use serde::Serialize;

use super::geometry::{P2, polyline_dist};
use super::scene::{Blob, Cell, Debris, Filopodium, Look, Ruffle, Scene, uni, waves};

/// The fixed numbers of the realism model (written to `truth.json` when realism is on).
#[derive(Clone, Debug, Serialize)]
pub struct RealismModel {
    pub rim_width_um: (f64, f64),
    pub rim_fade_fraction: f64,
    pub golgi_fraction: f64,
    pub golgi_diameter_um: (f64, f64),
    pub golgi_peak_rel: (f64, f64),
    pub golgi_spread_um: f64,
    pub vesicle_diameter_um: (f64, f64),
    pub vesicle_peak_rel: (f64, f64),
    pub filopodium_length_um: (f64, f64),
    pub filopodium_length_skew: f64,
    pub filopodium_width_um: (f64, f64),
    pub filopodium_peak_rel: (f64, f64),
    pub filopodium_tip_probability: f64,
    pub filopodium_tip_diameter_um: (f64, f64),
    pub filopodium_tip_peak_rel: (f64, f64),
    pub filopodium_other_body_clearance_um: f64,
    pub ruffle_probability: f64,
    pub ruffle_arc_deg: (f64, f64),
    pub ruffle_depth_um: (f64, f64),
    pub ruffle_spacing_um: (f64, f64),
    pub ruffle_peak_rel: (f64, f64),
    /// Extra mottling of a realistic body (± this, waves of 1.5–5 µm).
    pub body_fine_texture: f64,
    pub contact_gap_um: (f64, f64),
    pub border_nucleus_inset_um: f64,
    pub illumination_wavelength_fields: (f64, f64),
    pub haze_sigma_um: f64,
    pub debris_length_um: (f64, f64),
    pub debris_peak_rel: (f64, f64),
    pub debris_cargo_probability: f64,
    pub migrasome_clearance_um: f64,
}

pub const MODEL: RealismModel = RealismModel {
    rim_width_um: (0.3, 1.0),
    rim_fade_fraction: 0.4,
    golgi_fraction: 1.0 / 3.0,
    golgi_diameter_um: (0.6, 1.5),
    golgi_peak_rel: (0.5, 1.0),
    golgi_spread_um: 2.0,
    vesicle_diameter_um: (0.5, 2.0),
    vesicle_peak_rel: (0.3, 1.0),
    filopodium_length_um: (1.0, 10.0),
    filopodium_length_skew: 1.7,
    filopodium_width_um: (0.1, 0.3),
    filopodium_peak_rel: (0.25, 0.7),
    filopodium_tip_probability: 0.6,
    filopodium_tip_diameter_um: (0.3, 0.7),
    filopodium_tip_peak_rel: (0.5, 1.2),
    filopodium_other_body_clearance_um: 0.5,
    ruffle_probability: 0.7,
    ruffle_arc_deg: (60.0, 140.0),
    ruffle_depth_um: (2.5, 6.0),
    ruffle_spacing_um: (0.8, 1.5),
    ruffle_peak_rel: (1.0, 2.0),
    body_fine_texture: 0.12,
    contact_gap_um: (-1.0, 0.3),
    border_nucleus_inset_um: 1.0,
    illumination_wavelength_fields: (0.6, 1.5),
    haze_sigma_um: 3.0,
    debris_length_um: (0.4, 4.0),
    debris_peak_rel: (0.05, 0.3),
    debris_cargo_probability: 0.3,
    migrasome_clearance_um: 1.0,
};

/// Debris profile `exp(-ρ⁴)` (ρ = elliptical radius / semi-axis), drawn out to this ρ.
pub const DEBRIS_REACH: f64 = 1.4;

/// Extra clearance for the motion between the frames at which constraints are checked.
const MOTION_MARGIN_UM: f64 = 0.3;

/// Adds the realistic look to every cell, the debris and the illumination field.
pub fn decorate(scene: &mut Scene, rng: &mut ChaCha8Rng) {
    let r = scene.cfg.realism.clone();
    if r.has_look() {
        for ci in 0..scene.cells.len() {
            let look = look(scene, ci, rng);
            scene.cells[ci].look = Some(look);
        }
    }
    if r.illumination > 0.0 {
        let w = scene.cfg.field_um();
        let (lo, hi) = MODEL.illumination_wavelength_fields;
        scene.illum_waves = waves(rng, 3, (lo * w, hi * w));
    }
    if r.debris > 0.0 {
        scene.debris = debris(scene, r.debris, rng);
    }
}

/// A Poisson draw with mean `mean` (0 when the mean is 0).
fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> usize {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean).map_or(0, |p| p.sample(rng) as usize)
}

fn look(scene: &Scene, ci: usize, rng: &mut ChaCha8Rng) -> Look {
    let r = &scene.cfg.realism;
    let cell = &scene.cells[ci];
    let body_rel = match r.body_rel {
        Some((lo, hi)) => (lo.ln() + (hi.ln() - lo.ln()) * rng.random::<f64>()).exp(),
        None => scene.model.body_rel,
    };
    let rim = r.rim.map(|x| (x, uni(rng, MODEL.rim_width_um)));
    let ruffle = (r.ruffles > 0.0 && rng.random_bool(MODEL.ruffle_probability)).then(|| {
        let (lo, hi) = MODEL.ruffle_arc_deg;
        Ruffle {
            dir: cell.rear + PI + uni(rng, (-0.4, 0.4)),
            half: 0.5 * uni(rng, (lo, hi)).to_radians(),
            depth: uni(rng, MODEL.ruffle_depth_um),
            spacing: uni(rng, MODEL.ruffle_spacing_um),
            peak: r.ruffles * uni(rng, MODEL.ruffle_peak_rel) * body_rel.max(0.5),
            wobble: (3..=24)
                .map(|k| {
                    (
                        k,
                        uni(rng, (0.0, 1.5)) / (k as f64).sqrt(),
                        uni(rng, (0.0, TAU)),
                    )
                })
                .collect(),
        }
    });
    let puncta = puncta(cell, poisson(rng, r.puncta), rng);
    let n = poisson(rng, r.filopodia);
    let mut filopodia = Vec::with_capacity(n);
    for _ in 0..n {
        for _try in 0..20 {
            let f = filopodium(cell, rng);
            if filopodium_ok(scene, ci, &f) {
                filopodia.push(f);
                break;
            }
        }
    }
    Look {
        body_rel,
        texture: waves(rng, 8, (1.5, 5.0)),
        rim,
        ruffle,
        puncta,
        filopodia,
    }
}

/// Golgi puncta (a third, at least one) beside the nucleus, vesicles anywhere in the body;
/// every punctum lies 0.3 µm inside the outline.
fn puncta(cell: &Cell, n: usize, rng: &mut ChaCha8Rng) -> Vec<Blob> {
    let n_golgi = if n == 0 {
        0
    } else {
        ((n as f64 * MODEL.golgi_fraction).round() as usize).max(1)
    };
    let rmax = cell.body.r_max;
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let golgi = k < n_golgi;
        let (dia, peak) = if golgi {
            (MODEL.golgi_diameter_um, MODEL.golgi_peak_rel)
        } else {
            (MODEL.vesicle_diameter_um, MODEL.vesicle_peak_rel)
        };
        let rad = 0.5 * uni(rng, dia);
        for _try in 0..30 {
            let c = if golgi {
                let s = MODEL.golgi_spread_um;
                cell.golgi
                    .add(P2::new(uni(rng, (-s, s)), uni(rng, (-s, s))))
            } else {
                P2::new(uni(rng, (-rmax, rmax)), uni(rng, (-rmax, rmax)))
            };
            if cell.body.sdist(c) <= -(rad + 0.3) {
                out.push(Blob {
                    c,
                    r: rad,
                    peak: uni(rng, peak),
                });
                break;
            }
        }
    }
    out
}

/// One filopodium of `cell` (body frame): from 0.3 µm inside the edge, along the outward
/// normal ± 0.6 rad, bent once at mid-length.
fn filopodium(cell: &Cell, rng: &mut ChaCha8Rng) -> Filopodium {
    let body = &cell.body;
    let th = uni(rng, (0.0, TAU));
    let (r, dr) = (
        body.radius(th),
        (body.radius(th + 1e-4) - body.radius(th - 1e-4)) / 2e-4,
    );
    let nrm = P2::polar(th)
        .scale(r)
        .sub(P2::polar(th + PI / 2.0).scale(dr));
    let h = nrm.y.atan2(nrm.x) + uni(rng, (-0.6, 0.6));
    let (lo, hi) = MODEL.filopodium_length_um;
    let len = lo + (hi - lo) * rng.random::<f64>().powf(MODEL.filopodium_length_skew);
    let root = P2::polar(th).scale(r - 0.3);
    let mid = root.add(P2::polar(h).scale(0.3 + 0.5 * len));
    let end = mid.add(P2::polar(h + uni(rng, (-0.35, 0.35))).scale(0.5 * len));
    let width = uni(rng, MODEL.filopodium_width_um);
    let peak = uni(rng, MODEL.filopodium_peak_rel);
    let tip = rng
        .random_bool(MODEL.filopodium_tip_probability)
        .then(|| Blob {
            c: end,
            r: 0.5 * uni(rng, MODEL.filopodium_tip_diameter_um),
            peak: uni(rng, MODEL.filopodium_tip_peak_rel),
        });
    Filopodium {
        pts: vec![root, mid, end],
        width,
        peak,
        tip,
    }
}

/// Whether filopodium `f` of cell `ci` leaves its body for good, stays out of other bodies
/// and keeps 1 µm (plus a motion margin) from every migrasome, in every checked frame.
fn filopodium_ok(scene: &Scene, ci: usize, f: &Filopodium) -> bool {
    let cell = &scene.cells[ci];
    let clear = MODEL.migrasome_clearance_um + MOTION_MARGIN_UM;
    // Sample points from 0.6 µm along the filopodium to its end.
    let mut samples = Vec::new();
    let mut s0: f64 = 0.0;
    for w in f.pts.windows(2) {
        let l = w[0].dist(w[1]);
        let mut s = (0.6 - s0).max(0.0);
        while s <= l {
            samples.push(w[0].add(w[1].sub(w[0]).scale(s / l)));
            s += 0.25;
        }
        s0 += l;
    }
    samples.push(*f.pts.last().expect("points"));
    if !samples.iter().all(|&q| cell.body.sdist(q) > 0.1) {
        return false;
    }
    let tip_r = f.tip.map_or(0.0, |t| t.r);
    scene.check_frames.iter().all(|&t| {
        let pos = cell.pos(t);
        let others = (scene.cells.iter().enumerate()).filter(|(j, _)| *j != ci);
        let out_of_others = others.clone().all(|(_, o)| {
            samples.iter().all(|&q| {
                o.body_sdist(q.add(pos), t)
                    >= MODEL.filopodium_other_body_clearance_um + 0.5 * f.width + tip_r
            })
        });
        out_of_others
            && scene.migrasomes.iter().all(|m| {
                let q = m.pos.sub(pos);
                let r = 0.5 * m.diameter + clear;
                polyline_dist(q, &f.pts) >= r + 0.5 * f.width
                    && f.tip.is_none_or(|tip| q.dist(tip.c) >= r + tip.r)
            })
    }) && moving_clear(scene, ci, f, clear)
}

/// With dynamics: the migrasomes that move keep clear of filopodium `f` of cell `ci` in
/// every frame they exist (true in the classic model: no paths).
fn moving_clear(scene: &Scene, ci: usize, f: &Filopodium, clear: f64) -> bool {
    let cell = &scene.cells[ci];
    (scene.migrasomes.iter())
        .filter(|m| m.path.windows(2).any(|w| w[0] != w[1]))
        .all(|m| {
            (m.birth..m.birth + m.path.len()).all(|t| {
                let q = m.pos_at(t).sub(cell.pos(t));
                let r = 0.5 * m.diameter + clear;
                polyline_dist(q, &f.pts) >= r + 0.5 * f.width
                    && f.tip.is_none_or(|tip| q.dist(tip.c) >= r + tip.r)
            })
        })
}

/// Dim debris anywhere in the field, ≥ 1 µm (edge to edge) from every migrasome.
fn debris(scene: &Scene, per_cell: f64, rng: &mut ChaCha8Rng) -> Vec<Debris> {
    let n = poisson(rng, per_cell * scene.cells.len() as f64);
    let w = scene.cfg.field_um();
    // the uptake channel (last) gets no debris, so turning it on moves nothing here
    let gfp = usize::from(scene.cfg.uptake_channel);
    let nch = scene.model.channels.len() - gfp;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let a = 0.5 * uni(rng, MODEL.debris_length_um);
        let b = a * uni(rng, (0.4, 1.0));
        let rot = uni(rng, (0.0, PI));
        let peaks: Vec<f64> = (0..nch)
            .map(|c| match c {
                0 => 0.0,
                1 => uni(rng, MODEL.debris_peak_rel),
                _ if rng.random_bool(MODEL.debris_cargo_probability) => {
                    uni(rng, MODEL.debris_peak_rel)
                }
                _ => 0.0,
            })
            .chain(std::iter::repeat_n(0.0, gfp))
            .collect();
        for _try in 0..20 {
            let c = P2::new(uni(rng, (0.0, w)), uni(rng, (0.0, w)));
            let clear = scene.migrasomes.iter().all(|m| {
                let need = 0.5 * m.diameter + DEBRIS_REACH * a + MODEL.migrasome_clearance_um;
                m.pos.dist(c) >= need && m.path.iter().all(|p| p.dist(c) >= need)
            });
            if clear {
                out.push(Debris {
                    c,
                    a,
                    b,
                    rot,
                    peaks,
                });
                break;
            }
        }
    }
    out
}
