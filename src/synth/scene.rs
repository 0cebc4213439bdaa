//! The random scene behind a synthetic stack: the model's numbers ([`Model`]), cells placed
//! without overlap, their rear direction and drift, and the truth objects. Fibers and
//! migrasomes are laid out by `layout`; every random draw comes from one seeded ChaCha8
//! stream, in a fixed order, so a config always gives the same scene.
//!
//! Not here: pixels (see `render`), file formats (see `truth`).

use std::f64::consts::{PI, TAU};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use super::geometry::{Body, Nucleus, P2};
use super::layout;
use super::{Condition, SynthConfig};
use crate::error::{Error, Result};

/// Uniform draw in `[lo, hi)` (`lo` when the range is empty).
pub fn uni(rng: &mut ChaCha8Rng, (lo, hi): (f64, f64)) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// One channel's photometry.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelModel {
    pub name: String,
    /// `nuclei`, `membrane` or `cargo`.
    pub role: &'static str,
    pub background_photons: f64,
    /// √(background + read noise²), in ADU at illumination 1.0.
    pub background_sd: f64,
    /// Nominal peak above background (photons): migrasome (membrane), cargo-positive
    /// migrasome (cargo), nucleus (nuclei).
    pub amplitude_photons: f64,
}

/// Every number of the model (see the module doc of `synth`), written to `truth.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Model {
    pub snr_definition: &'static str,
    pub migrasomes_per_cell_mean: f64,
    pub released_fraction: f64,
    pub cargo_positive_fraction: f64,
    pub diameter_um: (f64, f64),
    pub diameter_skew_exponent: f64,
    pub body_mean_radius_um: (f64, f64),
    pub body_aspect: (f64, f64),
    pub body_harmonics: (u32, u32),
    pub body_harmonic_max: f64,
    pub body_gap_um: f64,
    pub nucleus_major_um: (f64, f64),
    pub nucleus_minor_ratio: (f64, f64),
    pub nucleus_inset_um: f64,
    pub fibers_per_cell: (usize, usize),
    pub fiber_length_um: (f64, f64),
    pub branch_length_um: (f64, f64),
    pub branch_probability: f64,
    pub fiber_width_um: (f64, f64),
    pub fiber_peak_rel: (f64, f64),
    pub fiber_body_clearance_um: f64,
    pub site_weights_tip_branch_along: (f64, f64, f64),
    pub released_max_from_tip_um: f64,
    pub released_fiber_clearance_um: f64,
    pub migrasome_gap_um: f64,
    pub migrasome_body_clearance_um: f64,
    pub border_clearance_um: f64,
    pub territory_margin_um: f64,
    pub territory_max_um: f64,
    pub migrasome_amplitude_rel: (f64, f64),
    pub cargo_fill_rel: (f64, f64),
    pub body_rel: f64,
    pub body_texture: f64,
    pub rim_rel: f64,
    pub rim_width_um: f64,
    pub golgi_rel: f64,
    pub nucleus_rel: f64,
    pub chromatin_texture: f64,
    pub cargo_diffuse_rel: f64,
    pub cargo_puncta_rel: (f64, f64),
    pub cargo_puncta_per_um2: f64,
    pub drift_um_per_frame: (f64, f64),
    pub drift_total_max_um: f64,
    pub birth_at_frame0: f64,
    pub psf_sigma_um: f64,
    pub illumination_min: f64,
    pub offset_adu: f64,
    pub gain_adu_per_photon: f64,
    pub read_noise_adu: f64,
    pub channels: Vec<ChannelModel>,
}

impl Model {
    pub fn new(cfg: &SynthConfig) -> Model {
        let sen = cfg.condition == Condition::Senescent;
        let read: f64 = 4.0;
        let channels = cfg
            .channel_names()
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let (role, bg, scale) = match i {
                    0 => ("nuclei", 60.0, 1.5),
                    1 => ("membrane", 100.0, 1.0),
                    _ if cfg.uptake_channel && i == 2 + cfg.cargo.len() => ("uptake", 100.0, 1.0),
                    _ => ("cargo", 100.0, 1.0),
                };
                let sd = (bg + read * read).sqrt();
                ChannelModel {
                    name,
                    role,
                    background_photons: bg,
                    background_sd: sd,
                    amplitude_photons: scale * cfg.snr * sd,
                }
            })
            .collect();
        Model {
            snr_definition: "nominal migrasome peak above background (photons, illumination 1.0) \
                / background SD, SD = sqrt(background photons + read noise^2); cargo channels: \
                cargo-positive migrasome peak; nuclei: 1.5 x that",
            migrasomes_per_cell_mean: if sen { 12.0 } else { 4.0 },
            released_fraction: if sen { 0.3 } else { 0.2 },
            cargo_positive_fraction: if sen { 0.5 } else { 0.25 },
            diameter_um: cfg.diameter_um,
            diameter_skew_exponent: if sen { 1.0 } else { 1.5 },
            body_mean_radius_um: (9.0, 13.0),
            body_aspect: (1.1, 1.7),
            body_harmonics: (2, 5),
            body_harmonic_max: 0.08,
            body_gap_um: 6.0,
            nucleus_major_um: (8.0, 14.0),
            nucleus_minor_ratio: (0.65, 0.9),
            nucleus_inset_um: 2.5,
            fibers_per_cell: (2, 6),
            fiber_length_um: (12.0, 30.0),
            branch_length_um: (5.0, 15.0),
            branch_probability: 0.6,
            fiber_width_um: (0.15, 0.3),
            fiber_peak_rel: (0.2, 0.35),
            fiber_body_clearance_um: 1.5,
            site_weights_tip_branch_along: (0.35, 0.2, 0.45),
            released_max_from_tip_um: 15.0,
            released_fiber_clearance_um: 1.5,
            migrasome_gap_um: 1.0,
            migrasome_body_clearance_um: 1.0,
            border_clearance_um: 2.0,
            territory_margin_um: 2.0,
            territory_max_um: 45.0,
            migrasome_amplitude_rel: (0.8, 1.2),
            cargo_fill_rel: (0.7, 1.0),
            body_rel: 0.3,
            body_texture: 0.15,
            rim_rel: 0.2,
            rim_width_um: 1.2,
            golgi_rel: 0.25,
            nucleus_rel: 1.0,
            chromatin_texture: 0.12,
            cargo_diffuse_rel: 0.12,
            cargo_puncta_rel: (0.3, 0.7),
            cargo_puncta_per_um2: 0.3,
            drift_um_per_frame: (0.1, 0.25),
            drift_total_max_um: 8.0,
            birth_at_frame0: 0.5,
            psf_sigma_um: 0.1,
            illumination_min: 0.7,
            offset_adu: 100.0,
            gain_adu_per_photon: 1.0,
            read_noise_adu: read,
            channels,
        }
    }
}

/// A plane wave for smooth textures: `cos(k·p + phase)`.
#[derive(Clone, Copy, Debug)]
pub struct Wave {
    pub k: P2,
    pub phase: f64,
}

/// Sum of waves scaled to about [-1, 1].
pub fn texture(waves: &[Wave], p: P2) -> f64 {
    if waves.is_empty() {
        return 0.0;
    }
    let s: f64 = waves.iter().map(|w| (w.k.dot(p) + w.phase).cos()).sum();
    s / (waves.len() as f64).sqrt()
}

pub fn waves(rng: &mut ChaCha8Rng, n: usize, wavelength: (f64, f64)) -> Vec<Wave> {
    (0..n)
        .map(|_| Wave {
            k: P2::polar(uni(rng, (0.0, TAU))).scale(TAU / uni(rng, wavelength)),
            phase: uni(rng, (0.0, TAU)),
        })
        .collect()
}

/// A short bright segment (a fiber piece or a mitochondrion): endpoints, width, peak.
#[derive(Clone, Copy, Debug)]
pub struct Rod {
    pub a: P2,
    pub b: P2,
    pub width: f64,
    pub peak: f64,
}

/// A flat-topped round spot (a punctum or a filopodium tip): centre, radius (µm), peak
/// relative to the channel amplitude.
#[derive(Clone, Copy, Debug)]
pub struct Blob {
    pub c: P2,
    pub r: f64,
    pub peak: f64,
}

/// A filopodium in the body frame (moves with the body): a thin polyline from the edge out,
/// peak relative to the membrane amplitude, perhaps a bright tip.
#[derive(Clone, Debug)]
pub struct Filopodium {
    pub pts: Vec<P2>,
    pub width: f64,
    pub peak: f64,
    pub tip: Option<Blob>,
}

/// A lamellipodium / ruffle along part of the edge (body frame angles).
#[derive(Clone, Debug)]
pub struct Ruffle {
    /// Centre angle and half-width (radians) of the ruffled stretch of edge.
    pub dir: f64,
    pub half: f64,
    /// Depth (µm) into the body; band spacing (µm).
    pub depth: f64,
    pub spacing: f64,
    /// Added peak, relative to the membrane amplitude.
    pub peak: f64,
    /// Angular harmonics `(k, amplitude, phase)` that make the bands irregular.
    pub wobble: Vec<(u32, f64, f64)>,
}

/// The realistic look of a cell body (`Realism`), `None` on a cell for the classic look.
#[derive(Clone, Debug)]
pub struct Look {
    /// Interior brightness relative to the membrane amplitude.
    pub body_rel: f64,
    /// Fine mottling on top of the classic body texture.
    pub texture: Vec<Wave>,
    /// Rim: (multiple of the interior, width µm); `None`: the classic additive rim.
    pub rim: Option<(f64, f64)>,
    pub ruffle: Option<Ruffle>,
    /// Golgi and vesicle puncta (body frame).
    pub puncta: Vec<Blob>,
    pub filopodia: Vec<Filopodium>,
}

/// A dim debris blob on the substrate: elliptical, soft-edged; peak per channel (relative to
/// each channel's amplitude; 0 = absent), indexed like the channels.
#[derive(Clone, Debug)]
pub struct Debris {
    pub c: P2,
    pub a: f64,
    pub b: f64,
    pub rot: f64,
    pub peaks: Vec<f64>,
}

/// A retraction fiber on the substrate (µm, fixed), peak relative to the migrasome amplitude.
#[derive(Clone, Debug)]
pub struct Fiber {
    pub pts: Vec<P2>,
    pub width: f64,
    pub peak_rel: f64,
    /// Primary fibers start at the body edge and get a tether to the moving body.
    pub tethered: bool,
}

/// A cell: body and nucleus move with `pos(t)`; fibers stay on the substrate.
#[derive(Clone, Debug)]
pub struct Cell {
    pub id: u32,
    /// Body centre at frame 0 (µm).
    pub center: P2,
    pub body: Body,
    pub nucleus: Nucleus,
    /// Nucleus centre relative to the body centre.
    pub nucleus_offset: P2,
    /// Drift in µm per frame.
    pub velocity: P2,
    /// Angle (radians) of the rear, where the fibers go.
    pub rear: f64,
    pub fibers: Vec<Fiber>,
    pub body_texture: Vec<Wave>,
    pub chromatin: Vec<Wave>,
    /// Golgi blob centre (body frame).
    pub golgi: P2,
    /// Punctate cargo signal per cargo channel (body frame).
    pub puncta: Vec<Vec<Rod>>,
    /// Stands still (in contact with another cell, or cut by the border).
    pub anchored: bool,
    /// Cut by the image border.
    pub border: bool,
    /// The realistic look; `None`: classic.
    pub look: Option<Look>,
}

impl Cell {
    pub fn pos(&self, t: usize) -> P2 {
        self.center.add(self.velocity.scale(t as f64))
    }
    pub fn nucleus_center(&self, t: usize) -> P2 {
        self.pos(t).add(self.nucleus_offset)
    }
    /// Signed distance to the body outline in frame `t` (negative inside).
    pub fn body_sdist(&self, p: P2, t: usize) -> f64 {
        self.body.sdist(p.sub(self.pos(t)))
    }
    /// Distance to the nucleus in frame `t` (0 inside).
    pub fn nucleus_dist(&self, p: P2, t: usize) -> f64 {
        self.nucleus.dist(p.sub(self.nucleus_center(t)))
    }
}

/// One migrasome: fixed on the substrate from its birth frame on.
#[derive(Clone, Debug)]
pub struct Migrasome {
    /// 1-based, stable across frames.
    pub id: u32,
    pub cell: u32,
    pub pos: P2,
    pub diameter: f64,
    pub released: bool,
    pub birth: usize,
    /// Peak relative to the membrane amplitude.
    pub amp_rel: f64,
    /// Per cargo channel: `Some(fill)` when positive.
    pub cargo: Vec<Option<f64>>,
    /// Dynamics (all empty / `None` in the classic model): the centre in every frame from
    /// `birth` on (`path[t - birth]`; empty: fixed at `pos`).
    pub path: Vec<P2>,
    /// Frame at which an attached migrasome's fiber link breaks (released from then on).
    pub release: Option<usize>,
    /// Last frame it exists in, and how it ends there (`None`: it lasts to the end).
    pub end: Option<(usize, Fate)>,
    /// Frames in which it blinks: dimmed below detection (it still exists in the truth).
    pub hidden: Vec<usize>,
}

/// How a migrasome ends before the last frame (dynamics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Ruptured or otherwise gone where it was.
    Disappearance,
    /// Taken up by its cell: it moved to the body edge and enters it after its last frame.
    Uptake,
}

impl Migrasome {
    /// Whether it exists in frame `t`.
    pub fn exists(&self, t: usize) -> bool {
        self.birth <= t && self.end.is_none_or(|(last, _)| t <= last)
    }
    /// Its centre in frame `t` (the last known one outside its lifetime).
    pub fn pos_at(&self, t: usize) -> P2 {
        if self.path.is_empty() {
            return self.pos;
        }
        let k = t.saturating_sub(self.birth).min(self.path.len() - 1);
        self.path[k]
    }
    /// Whether it is released in frame `t`.
    pub fn released_at(&self, t: usize) -> bool {
        self.released || self.release.is_some_and(|r| t >= r)
    }
    /// Whether it is shown (not blinking) in frame `t`.
    pub fn visible(&self, t: usize) -> bool {
        !self.hidden.contains(&t)
    }
}

/// The whole scene.
#[derive(Clone, Debug)]
pub struct Scene {
    pub cfg: SynthConfig,
    pub model: Model,
    pub cells: Vec<Cell>,
    pub migrasomes: Vec<Migrasome>,
    /// Vignette centre (µm) and width (µm) of the illumination field.
    pub illumination: (P2, f64),
    /// Migrasomes drawn per cell (sum) and those that found no valid place.
    pub drawn: usize,
    pub dropped: usize,
    /// Frames at which time-dependent constraints are checked.
    pub check_frames: Vec<usize>,
    /// Realism: dim debris, and the plane waves of the smooth illumination field.
    pub debris: Vec<Debris>,
    pub illum_waves: Vec<Wave>,
    /// Dynamics: the close encounters made (migrasome ids, frame and centre distance µm).
    pub encounters: Vec<(u32, u32, usize, f64)>,
    /// The uptake channel's labels (`SynthConfig::uptake_channel`; see `uptake`).
    pub gfp: Option<super::uptake::Labels>,
}

impl Scene {
    pub fn build(cfg: &SynthConfig) -> Result<Scene> {
        cfg.validate()?;
        let model = Model::new(cfg);
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        // Realism draws come from their own stream, so the classic scene never moves.
        let mut rng2 = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng2.set_stream(u64::MAX - 1);
        let w = cfg.field_um();
        let illumination = (
            P2::new(
                uni(&mut rng, (0.25 * w, 0.75 * w)),
                uni(&mut rng, (0.25 * w, 0.75 * w)),
            ),
            uni(&mut rng, (0.5, 0.8)) * w,
        );
        let mut scene = Scene {
            cfg: cfg.clone(),
            model,
            cells: Vec::new(),
            migrasomes: Vec::new(),
            illumination,
            drawn: 0,
            dropped: 0,
            check_frames: vec![0],
            debris: Vec::new(),
            illum_waves: Vec::new(),
            encounters: Vec::new(),
            gfp: None,
        };
        scene.place_cells(&mut rng, &mut rng2)?;
        layout::choose_rears(&mut scene, &mut rng);
        scene.set_drift(&mut rng);
        let counts = layout::draw_counts(&mut scene, &mut rng);
        layout::grow_fibers(&mut scene, &counts, &mut rng);
        layout::place_migrasomes(&mut scene, &counts, &mut rng);
        layout::decorate(&mut scene, &mut rng);
        // Dynamics from a third stream, before realism so that it keeps clear of the paths.
        if !cfg.dynamics.is_off() && cfg.frames > 1 {
            let mut rng3 = ChaCha8Rng::seed_from_u64(cfg.seed);
            rng3.set_stream(u64::MAX - 2);
            super::dynamics::run(&mut scene, &mut rng3);
        }
        super::realism::decorate(&mut scene, &mut rng2);
        // The uptake channel's labels from a fourth stream: nothing else moves.
        if cfg.uptake_channel {
            let mut rng4 = ChaCha8Rng::seed_from_u64(cfg.seed);
            rng4.set_stream(u64::MAX - 3);
            scene.gfp = Some(super::uptake::label(&scene, &mut rng4));
        }
        Ok(scene)
    }

    /// Migrasomes present in frame `t`.
    /// The break in its fiber of migrasome `i`, released during the movie: the disk around
    /// where it was attached in which the fiber is no longer drawn (`None`: never released
    /// from a fiber).
    pub fn own_break(&self, i: usize) -> Option<(P2, f64)> {
        let m = &self.migrasomes[i];
        m.release.map(|_| {
            let r = 0.5 * m.diameter + super::dynamics::MODEL.fiber_break_um;
            (m.pos, r)
        })
    }

    /// The breaks in the fibers of cell `cell` in frame `t` (see [`Scene::own_break`]).
    pub fn fiber_breaks(&self, cell: u32, t: usize) -> Vec<(P2, f64)> {
        (0..self.migrasomes.len())
            .filter(|&i| {
                let m = &self.migrasomes[i];
                m.cell == cell && m.release.is_some_and(|r| r <= t)
            })
            .filter_map(|i| self.own_break(i))
            .collect()
    }

    pub fn alive(&self, t: usize) -> impl Iterator<Item = &Migrasome> {
        self.migrasomes.iter().filter(move |m| m.exists(t))
    }

    /// The true body labels of frame `t` (row-major, `size²`, label = cell id, 0 outside): a
    /// pixel is in a body when its centre is inside the outline (the renderer's half-coverage
    /// line); where bodies overlap, the one the pixel is deeper in wins.
    pub fn body_labels(&self, t: usize) -> Vec<u32> {
        let n = self.cfg.size;
        let px = self.cfg.pixel_size_um;
        let mut lab = vec![0u32; n * n];
        let mut depth = vec![0f32; n * n];
        let span = |lo: f64, hi: f64| {
            let a = (lo / px).ceil().max(0.0) as usize;
            let b = ((hi / px).floor() + 1.0).clamp(0.0, n as f64) as usize;
            a.min(b)..b
        };
        for c in &self.cells {
            let pos = c.pos(t);
            let r = c.body.r_max + px;
            for i in span(pos.y - r, pos.y + r) {
                for j in span(pos.x - r, pos.x + r) {
                    let q = P2::new(j as f64 * px, i as f64 * px).sub(pos);
                    let inside = (c.body.radius(q.y.atan2(q.x)) - q.norm()) as f32;
                    let k = i * n + j;
                    if inside > 0.0 && (lab[k] == 0 || inside > depth[k]) {
                        lab[k] = c.id;
                        depth[k] = inside;
                    }
                }
            }
        }
        lab
    }

    /// Whether `p` (radius `r` around it) lies `clear` µm inside the field.
    pub fn in_field(&self, p: P2, clear: f64) -> bool {
        let w = self.cfg.field_um();
        p.x - clear >= 0.0 && p.y - clear >= 0.0 && p.x + clear <= w && p.y + clear <= w
    }

    fn random_cell(&self, rng: &mut ChaCha8Rng, id: u32) -> Option<Cell> {
        let m = &self.model;
        let r0 = uni(rng, m.body_mean_radius_um);
        let asp = uni(rng, m.body_aspect).sqrt();
        let rot = uni(rng, (0.0, PI));
        let harmonics = (m.body_harmonics.0..=m.body_harmonics.1)
            .map(|k| {
                (
                    k,
                    uni(rng, (0.0, m.body_harmonic_max)),
                    uni(rng, (0.0, TAU)),
                )
            })
            .collect();
        let body = Body::new(r0 * asp, r0 / asp, rot, harmonics);
        let clear = body.r_max + m.border_clearance_um;
        let w = self.cfg.field_um();
        if 2.0 * clear >= w {
            return None;
        }
        let center = P2::new(uni(rng, (clear, w - clear)), uni(rng, (clear, w - clear)));
        // The nucleus: major axis near the body's long axis, inset from the outline.
        let na = 0.5 * uni(rng, m.nucleus_major_um);
        let nb = na * uni(rng, m.nucleus_minor_ratio);
        let mut nucleus = None;
        for attempt in 0..40 {
            let shrink = 1.0 - 0.02 * attempt as f64;
            let n = Nucleus::new(na * shrink, nb * shrink, rot + uni(rng, (-0.3, 0.3)));
            let off = P2::new(uni(rng, (-3.0, 3.0)), uni(rng, (-3.0, 3.0)));
            let inside = n
                .outline
                .iter()
                .all(|q| body.sdist(q.add(off)) <= -m.nucleus_inset_um);
            if inside {
                nucleus = Some((n, off));
                break;
            }
        }
        let (nucleus, nucleus_offset) = nucleus?;
        Some(Cell {
            id,
            center,
            body,
            nucleus,
            nucleus_offset,
            velocity: P2::default(),
            rear: 0.0,
            fibers: Vec::new(),
            body_texture: Vec::new(),
            chromatin: Vec::new(),
            golgi: P2::default(),
            puncta: Vec::new(),
            anchored: false,
            border: false,
            look: None,
        })
    }

    /// Whether two bodies at their frame-`t` positions keep `gap` µm apart.
    pub fn bodies_apart(a: &Cell, b: &Cell, t: usize, gap: f64) -> bool {
        let (pa, pb) = (a.pos(t), b.pos(t));
        if pa.dist(pb) > a.body.r_max + b.body.r_max + gap {
            return true;
        }
        a.body
            .outline
            .iter()
            .all(|q| b.body_sdist(q.add(pa), t) >= gap)
            && b.body
                .outline
                .iter()
                .all(|q| a.body_sdist(q.add(pb), t) >= gap)
    }

    fn place_cells(&mut self, rng: &mut ChaCha8Rng, rng2: &mut ChaCha8Rng) -> Result<()> {
        let n = self.cfg.cells;
        let (touching, border) = (self.cfg.realism.touching, self.cfg.realism.border);
        for _restart in 0..30 {
            self.cells.clear();
            'cell: for id in 1..=n as u32 {
                let at_border = id as usize > n - border;
                let touch = touching > 0.0
                    && !at_border
                    && !self.cells.is_empty()
                    && rng2.random_bool(touching);
                for _try in 0..400 {
                    let Some(mut c) = self.random_cell(rng, id) else {
                        continue;
                    };
                    let gap = self.model.body_gap_um;
                    if at_border {
                        if !self.to_border(&mut c, rng2) {
                            continue;
                        }
                        c.anchored = true;
                        c.border = true;
                    }
                    let partner = if touch {
                        match self.to_contact(&mut c, rng2) {
                            Some(j) => Some(j),
                            None => continue,
                        }
                    } else {
                        None
                    };
                    if (self.cells.iter().enumerate())
                        .all(|(j, o)| Some(j) == partner || Scene::bodies_apart(&c, o, 0, gap))
                    {
                        if let Some(j) = partner {
                            c.anchored = true;
                            self.cells[j].anchored = true;
                        }
                        self.cells.push(c);
                        continue 'cell;
                    }
                }
                break;
            }
            if self.cells.len() == n {
                return Ok(());
            }
        }
        Err(Error::invalid(format!(
            "cannot place {n} cells {} µm apart in a {:.1} µm field; use fewer --cells, a \
             larger --size or a larger --pixel-size",
            self.model.body_gap_um,
            self.cfg.field_um()
        )))
    }

    /// Moves `c` so that the image border cuts its body while its nucleus centre stays
    /// ≥ 1 µm inside; false when this draw does not manage.
    fn to_border(&self, c: &mut Cell, rng: &mut ChaCha8Rng) -> bool {
        let w = self.cfg.field_um();
        let r = c.body.r_max;
        let clear = r + self.model.border_clearance_um;
        if 2.0 * clear >= w {
            return false;
        }
        let along = uni(rng, (clear, w - clear));
        let depth = uni(rng, (0.05, 0.75)) * r; // centre's distance from the edge
        c.center = match rng.random_range(0..4) {
            0 => P2::new(depth, along),
            1 => P2::new(w - depth, along),
            2 => P2::new(along, depth),
            _ => P2::new(along, w - depth),
        };
        self.in_field(c.nucleus_center(0), 1.0) && !self.in_field(c.center, r)
    }

    /// Moves `c` into contact with a random earlier cell (outlines 1 µm overlapping to 0.3 µm
    /// apart); returns that cell's index, `None` when this draw does not manage.
    fn to_contact(&self, c: &mut Cell, rng: &mut ChaCha8Rng) -> Option<usize> {
        let j = rng.random_range(0..self.cells.len());
        let o = &self.cells[j];
        let phi = uni(rng, (0.0, TAU));
        let target = uni(rng, (-0.8, 0.2));
        let dir = P2::polar(phi);
        let mut d = o.body.radius(phi) + c.body.radius(phi + PI) + target;
        // The gap: how far c's outline stays outside o's (negative: overlap depth).
        let gap = |c: &Cell| {
            (c.body.outline.iter())
                .map(|q| o.body_sdist(q.add(c.center), 0))
                .fold(f64::INFINITY, f64::min)
        };
        for _ in 0..4 {
            c.center = o.center.add(dir.scale(d));
            d += target - gap(c);
        }
        c.center = o.center.add(dir.scale(d));
        let g = gap(c);
        let clear = c.body.r_max + self.model.border_clearance_um;
        // Neither nucleus may reach into the other body.
        let nuclei_clear = (c.nucleus.outline.iter())
            .all(|q| o.body_sdist(q.add(c.nucleus_center(0)), 0) > 1.0)
            && (o.nucleus.outline.iter())
                .all(|q| c.body_sdist(q.add(o.nucleus_center(0)), 0) > 1.0);
        ((-1.0..=0.3).contains(&g) && self.in_field(c.center, clear) && nuclei_clear).then_some(j)
    }

    /// Drift forward (away from the rear), slowed where a body would come within 3 µm of
    /// another or leave the field; fixes the frames at which constraints are checked.
    fn set_drift(&mut self, rng: &mut ChaCha8Rng) {
        let frames = self.cfg.frames;
        if frames < 2 {
            return;
        }
        let m = &self.model;
        let cap = m.drift_total_max_um / (frames - 1) as f64;
        for i in 0..self.cells.len() {
            let speed = uni(rng, m.drift_um_per_frame).min(cap);
            let c = &mut self.cells[i];
            c.velocity = if c.anchored {
                P2::default()
            } else {
                P2::polar(c.rear + PI).scale(speed)
            };
        }
        let max_speed = self
            .cells
            .iter()
            .map(|c| c.velocity.norm())
            .fold(0.0, f64::max);
        let step = if max_speed > 0.0 {
            ((0.25 / max_speed).floor() as usize).max(1)
        } else {
            frames
        };
        self.check_frames = (0..frames).step_by(step).collect();
        if self.check_frames.last() != Some(&(frames - 1)) {
            self.check_frames.push(frames - 1);
        }
        // Slow offenders until no body comes within 3 µm of another or leaves the field;
        // a standing cell cannot violate either against another standing cell.
        for pass in 0..self.cells.len() + 6 {
            let mut changed = false;
            for i in 0..self.cells.len() {
                if self.drift_ok(i) {
                    continue;
                }
                let v = self.cells[i].velocity;
                self.cells[i].velocity = if pass >= 5 || v.norm() < 0.02 {
                    P2::default()
                } else {
                    v.scale(0.5)
                };
                changed = true;
            }
            if !changed {
                break;
            }
        }
    }

    fn drift_ok(&self, i: usize) -> bool {
        let c = &self.cells[i];
        let clear = c.body.r_max + self.model.border_clearance_um;
        let still = |c: &Cell| c.velocity == P2::default();
        self.check_frames.iter().all(|&t| {
            ((c.border && still(c)) || self.in_field(c.pos(t), clear))
                && (self.cells.iter().enumerate()).all(|(j, o)| {
                    j == i || (still(c) && still(o)) || Scene::bodies_apart(c, o, t, 3.0)
                })
        })
    }
}
