//! Synthetic migrasome stacks with ground truth (`migrascope synth`): a test-data generator
//! on the CPU, deterministic from its seed (same config → byte-identical files).
//!
//! The model, in µm and seconds (every number is also written to `truth.json`):
//! - **Cells**: irregular bodies, an ellipse (mean radius 9–13 µm, aspect 1.1–1.7) whose
//!   radius carries harmonics 2–5 (amplitude up to 0.08 each); bodies ≥ 6 µm apart. An
//!   elliptical nucleus (major axis 8–14 µm) lies ≥ 2.5 µm inside each body.
//! - **Retraction fibers** trail from the cell's rear (the side with the most free space):
//!   2–6 primary fibers of 12–30 µm, 0.15–0.3 µm wide, some with branches of 5–15 µm.
//!   Fibers stay ≥ 1.5 µm from every body and inside their cell's territory.
//! - **Migrasomes**: `Poisson(mean)` per cell (young 4, senescent 12), a fraction released
//!   (young 0.2, senescent 0.3); attached ones sit on fiber tips, branch points or along
//!   fibers; released ones lie within 15 µm of one of their cell's fiber tips and ≥ r + 1.5 µm
//!   from every fiber. Diameters in `[min, max]` (young skewed small: `min + (max-min)·u^1.5`,
//!   senescent uniform, after the paper's larger senescent migrasomes). Every migrasome is
//!   ≥ 1 µm (edge to edge) from other migrasomes and from every cell body, ≥ r + 2 µm from
//!   the image border, and **in its cell's territory**: its distance to its own nucleus is
//!   ≥ 2 µm smaller than to any other nucleus, and ≤ 45 µm (analyze partitions space by the
//!   nearest nucleus), in every frame it exists. A migrasome that cannot be placed after 60
//!   tries is dropped (counted in `truth.json` as `dropped`).
//! - **Cargo**: each cargo channel independently marks a migrasome positive with probability
//!   young 0.25 / senescent 0.5 (filled with 0.7–1.0 × the cargo amplitude); cell bodies
//!   carry diffuse cargo signal (0.12 ×) and punctate mitochondria-like rods (0.3–0.7 ×);
//!   nothing else outside cells.
//! - **Membrane (WGA)**: body 0.3 × migrasome amplitude with ±15 % texture, a brighter rim
//!   (+0.2 ×, 1.2 µm) and a perinuclear Golgi blob (+0.25 ×); fibers peak at 0.2–0.35 × after
//!   blurring; migrasomes are flat-topped domes at 0.8–1.2 × the amplitude.
//! - **Nuclei (Hoechst)**: 1.5 × amplitude with ±12 % chromatin texture.
//! - **Optics and camera**: Gaussian PSF σ = 0.1 µm; smooth illumination field 0.7–1.0
//!   (a broad Gaussian vignette) multiplying every photon; background 100 photons (nuclei
//!   60); Poisson shot noise; gain 1 ADU/photon; offset 100 ADU; Gaussian read noise 4 ADU;
//!   rounded and clamped to 16 bits.
//! - **SNR** = nominal migrasome peak amplitude above background (photons, illumination 1.0)
//!   / background noise SD, where background SD = √(background photons + read noise²). So
//!   the membrane amplitude is `snr · √(100 + 16)`; the cargo channels use the same rule for
//!   a cargo-positive migrasome; nuclei get 1.5 × their channel's `snr · SD`.
//! - **Time** (frames > 1, 300 s apart): cells glide forward, away from their fibers, at
//!   0.1–0.25 µm per frame (total drift capped at 8 µm; a cell that would come within 3 µm of
//!   another body or leave the field is slowed). Fibers and migrasomes stay on the substrate
//!   where they were laid down; each primary fiber's root is joined to the moving body by a
//!   straight tether that lengthens with time. Migrasomes appear at a birth frame (half at
//!   frame 0, the rest uniform over later frames) and then stay, at full size.
//!
//! - **Realism** (`SynthConfig::realism`, all off by default, so the classic model above is
//!   unchanged byte for byte; `--realism` turns every knob on at the level in brackets). None
//!   of these objects is a migrasome or in `truth_migrasomes.csv`; every migrasome keeps
//!   ≥ 1 µm (edge to edge) from bodies, filopodia (and their tips) and debris in every frame.
//!   All their random draws come from a second ChaCha8 stream of the seed, so turning one on
//!   never moves the classic objects (except `touching` and `border`, which place cells).
//!   - `body_rel` (`--body-rel MIN,MAX`, [0.2, 3]): each body's interior brightness, log-uniform
//!     in [MIN, MAX] × the migrasome amplitude (classic: 0.3 for every cell); a realistic body
//!     also gets a finer mottling (±12 %, waves of 1.5–5 µm).
//!   - `rim` (`--rim X`, [2]): the plasma membrane at the edge is X × the interior, in a band
//!     0.3–1 µm wide (per cell) that fades over its inner 40 % (classic: +0.2 ×, 1.2 µm).
//!   - `puncta` (`--puncta N`, [6]): Poisson(N) bright puncta per cell inside the body: a
//!     third (at least one) cluster in the Golgi beside the nucleus (0.6–1.5 µm, 0.5–1.0 ×
//!     amplitude), the rest are endocytic vesicles anywhere in the body (0.5–2 µm, 0.3–1.0 ×).
//!   - `filopodia` (`--filopodia N`, [8]): Poisson(N) per cell, thin (0.1–0.3 µm) slightly
//!     bent protrusions from the body edge, 1–10 µm long (skewed short), 0.25–0.7 × amplitude;
//!     60 % carry a bright tip (0.3–0.7 µm, 0.5–1.2 ×). They move with the body and stay
//!     ≥ 0.5 µm out of other bodies.
//!   - `ruffles` (`--ruffles X`, [1]): 70 % of cells get a lamellipodium at their front (the
//!     side away from the fibers): over 60–140° of the edge, bright irregular bands parallel
//!     to the edge (0.8–1.5 µm apart, their phase and the depth wobbling along the edge),
//!     2.5–6 µm deep, inside the outline, adding up to X × 1–2 × max(interior, 0.5) × the
//!     amplitude.
//!   - `touching` (`--touching F`, [0.3]): each cell after the first is, with probability F,
//!     placed in contact with an earlier one (outlines from 1 µm overlapping to 0.3 µm apart
//!     instead of ≥ 6 µm); cells in contact stand still (contact inhibition). Where bodies
//!     overlap, the truth label goes to the body the pixel is deeper in.
//!   - `border` (`--border N`, [1]): the last N cells are cut by the image border (their
//!     nucleus centre stays ≥ 1 µm inside the image, so the cell exists in the truth); they
//!     stand still.
//!   - `illumination` (`--illumination X`, [0.2]): a smooth random field 1 ± X (three plane
//!     waves of 0.6–1.5 field widths, scaled to span exactly ±X) multiplies the vignette.
//!   - `haze` (`--haze X`, [0.3]): out-of-focus light, X × the in-focus signal blurred by a
//!     Gaussian of σ 3 µm (three box passes), added to every channel.
//!   - `debris` (`--debris N`, [10]): Poisson(N × cells) dim blobs anywhere in the field,
//!     elliptical, 0.4–4 µm long, 0.05–0.3 × amplitude in the membrane channel (30 % of
//!     them also in each cargo channel).
//!
//! - **Dynamics** (`SynthConfig::dynamics`, all off by default, so the classic model stays
//!   byte for byte; `--dynamics` turns every knob on at the level in brackets; details and
//!   the fixed numbers in `dynamics`). All draws come from a third ChaCha8 stream, so the
//!   classic scene never moves.
//!   - `release` (`--release F`, [0.4]): attached migrasomes whose fiber link breaks at a
//!     random frame; released from then on, drifting from the next frame; the fiber is not
//!     drawn within 1.5 µm of the migrasome's edge from that frame on.
//!   - `drift` (`--drift UM`, [0.05]): Brownian step SD (µm per frame and axis) of released
//!     migrasomes plus a constant bias of 0.3 × that, keeping every layout rule.
//!   - `disappear` (`--disappear F`, [0.15]): migrasomes that vanish at a random frame.
//!   - `uptake` (`--uptake F`, [0.3]): released migrasomes near their body (≤ 15 µm) that move
//!     into it at 0.5–1.2 µm per frame and vanish at its edge (in the frame their step would
//!     bring them within 0.5 µm of it).
//!   - `blink` (`--blink P`, [0.05]): per-frame chance of a one-frame dimming to 0.1 × (the
//!     truth row stays, `visible` 0).
//!   - `encounters` (`--encounters N`, [2]): pairs of released migrasomes made to pass
//!     1.5–2.5 µm apart.
//!
//!   With dynamics, `truth_migrasomes.csv` gains `track_id` and `visible` (last columns), and
//!   `truth_events.csv` lists formation, release, disappearance and uptake events;
//!   `truth_cells.csv` counts visible migrasomes only.
//!
//! - **Uptake channel** (`SynthConfig::uptake_channel`, `--uptake-channel`, off by default:
//!   without it the output is byte-identical). One more channel, `GFP`, after the others:
//!   the migrasomes with the uptake fate (dynamics) and 30 % of the other released ones are
//!   drawn in it while outside; after its last frame a taken-up migrasome stays in GFP only,
//!   as a punctum (0.6 × its brightness) at a fixed offset from its cell's centre, ≥ its
//!   radius + 1 µm inside the outline. `truth_uptake.csv` counts, per cell and frame, the
//!   GFP puncta whose centre is inside the outline. Details and numbers in `uptake`; draws
//!   from a fourth ChaCha8 stream, so nothing else moves.
//!
//! The true cell bodies are written as `truth_bodies.tif` (uint16 labels = cell id, one plane
//! per frame; a pixel is in a body when its centre is inside the outline). Filopodia are not
//! in the body mask; puncta and ruffles are.
//!
//! Coordinates: µm from the centre of pixel (0,0), x = column · pixel size.
//! Pieces: `geometry` (shapes, distances), `scene` (cells, model numbers), `layout` (fibers,
//! migrasomes), `dynamics` (release, drift, disappearance, uptake, blinking, encounters),
//! `realism` (puncta, filopodia, ruffles, debris, illumination field), `uptake` (the GFP
//! channel of labelled migrasomes),
//! `render` (pixels and noise), `poisson` (the shot-noise sampler), `truth` (CSV/JSON/label
//! files). Not here: detection (see `pipeline`), scoring (see `evaluate`).

mod dynamics;
mod geometry;
mod layout;
mod poisson;
mod realism;
mod render;
mod scene;
mod truth;
mod uptake;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::io::{PixelSize, Shape, WriteSpec, write_ome_u16};

pub use dynamics::MODEL as DYNAMICS_MODEL;
pub use geometry::{P2, polyline_minus_disks, seg_dist};
pub use scene::{Blob, Cell, Debris, Fate, Filopodium, Look, Migrasome, Ruffle, Scene};
pub use uptake::{Labels as UptakeLabels, MODEL as UPTAKE_MODEL, NAME as UPTAKE_CHANNEL};

/// The biological condition: sets migrasomes per cell, released and cargo-positive fractions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    Young,
    Senescent,
}

impl Condition {
    pub fn parse(s: &str) -> Result<Condition> {
        match s.to_ascii_lowercase().as_str() {
            "young" | "ep" => Ok(Condition::Young),
            "senescent" | "lp" | "old" => Ok(Condition::Senescent),
            _ => Err(Error::invalid(format!(
                "condition '{s}': expected young or senescent"
            ))),
        }
    }
}

/// What the user asks for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SynthConfig {
    pub seed: u64,
    pub frames: usize,
    pub cells: usize,
    pub condition: Condition,
    pub snr: f64,
    pub pixel_size_um: f64,
    /// Width and height in pixels.
    pub size: usize,
    pub cargo: Vec<String>,
    pub diameter_um: (f64, f64),
    /// What real WGA / TSPAN4-GFP images contain besides migrasomes (off by default).
    #[serde(skip_serializing_if = "Realism::is_off")]
    pub realism: Realism,
    /// Live-cell dynamics of the migrasomes (off by default; see `dynamics`).
    #[serde(skip_serializing_if = "Dynamics::is_off")]
    pub dynamics: Dynamics,
    /// One more channel, `GFP`, with labelled migrasomes and the taken-up ones inside the
    /// bodies (off by default; see `uptake`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub uptake_channel: bool,
}

/// The dynamics knobs (see the `dynamics` module doc); `Dynamics::default()`: none.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dynamics {
    /// Fraction of attached migrasomes released during the movie.
    pub release: f64,
    /// Brownian step SD of released migrasomes (µm per frame, per axis).
    pub drift: f64,
    /// Fraction of migrasomes that disappear before the end.
    pub disappear: f64,
    /// Fraction of released migrasomes (near their body) taken up by it.
    pub uptake: f64,
    /// Per-frame probability of a one-frame blink.
    pub blink: f64,
    /// Pairs of released migrasomes made to pass close.
    pub encounters: usize,
}

impl Default for Dynamics {
    fn default() -> Self {
        Dynamics {
            release: 0.0,
            drift: 0.0,
            disappear: 0.0,
            uptake: 0.0,
            blink: 0.0,
            encounters: 0,
        }
    }
}

impl Dynamics {
    /// Every knob at a realistic level (what `--dynamics` sets).
    pub fn realistic() -> Dynamics {
        Dynamics {
            release: 0.4,
            drift: 0.05,
            disappear: 0.15,
            uptake: 0.3,
            blink: 0.05,
            encounters: 2,
        }
    }

    pub fn is_off(&self) -> bool {
        *self == Dynamics::default()
    }

    fn validate(&self) -> Result<()> {
        let within = |v: f64, lo: f64, hi: f64| v.is_finite() && (lo..=hi).contains(&v);
        for (name, v, hi) in [
            ("--release", self.release, 1.0),
            ("--drift", self.drift, 0.5),
            ("--disappear", self.disappear, 1.0),
            ("--uptake", self.uptake, 1.0),
            ("--blink", self.blink, 0.5),
        ] {
            if !within(v, 0.0, hi) {
                return Err(Error::invalid(format!("{name} {v}: expected 0 to {hi}")));
            }
        }
        if self.encounters > 100 {
            return Err(Error::invalid(format!(
                "--encounters {}: expected 0 to 100",
                self.encounters
            )));
        }
        Ok(())
    }
}

/// The realism knobs (see the module doc); `Realism::default()` is the classic model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Realism {
    /// Body interior brightness range (× migrasome amplitude), log-uniform per cell; `None`:
    /// the classic 0.3.
    pub body_rel: Option<(f64, f64)>,
    /// Rim brightness as a multiple of the interior; `None`: the classic additive rim.
    pub rim: Option<f64>,
    /// Mean Golgi / vesicle puncta per cell.
    pub puncta: f64,
    /// Mean filopodia per cell.
    pub filopodia: f64,
    /// Ruffle (lamellipodium) strength; 0 = none.
    pub ruffles: f64,
    /// Fraction of cells placed in contact with a neighbour.
    pub touching: f64,
    /// Cells cut by the image border.
    pub border: usize,
    /// Amplitude of the smooth illumination field (±).
    pub illumination: f64,
    /// Out-of-focus haze, × the blurred in-focus signal.
    pub haze: f64,
    /// Mean dim debris blobs per cell.
    pub debris: f64,
}

impl Default for Realism {
    fn default() -> Self {
        Realism {
            body_rel: None,
            rim: None,
            puncta: 0.0,
            filopodia: 0.0,
            ruffles: 0.0,
            touching: 0.0,
            border: 0,
            illumination: 0.0,
            haze: 0.0,
            debris: 0.0,
        }
    }
}

impl Realism {
    /// Every knob at a realistic level (what `--realism` sets).
    pub fn realistic() -> Realism {
        Realism {
            body_rel: Some((0.2, 3.0)),
            rim: Some(2.0),
            puncta: 6.0,
            filopodia: 8.0,
            ruffles: 1.0,
            touching: 0.3,
            border: 1,
            illumination: 0.2,
            haze: 0.3,
            debris: 10.0,
        }
    }

    pub fn is_off(&self) -> bool {
        *self == Realism::default()
    }

    /// Whether cells need the realistic body look (brightness, rim, puncta, filopodia, ruffles).
    pub fn has_look(&self) -> bool {
        self.body_rel.is_some()
            || self.rim.is_some()
            || self.puncta > 0.0
            || self.filopodia > 0.0
            || self.ruffles > 0.0
    }

    fn validate(&self, cells: usize) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(m));
        let within = |v: f64, lo: f64, hi: f64| v.is_finite() && (lo..=hi).contains(&v);
        if let Some((lo, hi)) = self.body_rel
            && !(within(lo, 0.01, 20.0) && within(hi, 0.01, 20.0) && lo <= hi)
        {
            return bad(format!(
                "--body-rel {lo},{hi}: expected 0.01 ≤ MIN ≤ MAX ≤ 20"
            ));
        }
        if let Some(x) = self.rim
            && !within(x, 0.5, 10.0)
        {
            return bad(format!("--rim {x}: expected 0.5 to 10"));
        }
        for (name, v, hi) in [
            ("--puncta", self.puncta, 100.0),
            ("--filopodia", self.filopodia, 100.0),
            ("--ruffles", self.ruffles, 5.0),
            ("--touching", self.touching, 1.0),
            ("--illumination", self.illumination, 0.9),
            ("--haze", self.haze, 5.0),
            ("--debris", self.debris, 200.0),
        ] {
            if !within(v, 0.0, hi) {
                return bad(format!("{name} {v}: expected 0 to {hi}"));
            }
        }
        if self.border > cells {
            return bad(format!(
                "--border {}: more than the {cells} cells",
                self.border
            ));
        }
        Ok(())
    }
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 1,
            frames: 1,
            cells: 6,
            condition: Condition::Young,
            snr: 8.0,
            pixel_size_um: 0.1,
            size: 1024,
            cargo: vec!["Tom20".into()],
            diameter_um: (0.5, 3.0),
            realism: Realism::default(),
            dynamics: Dynamics::default(),
            uptake_channel: false,
        }
    }
}

/// Frame interval written to the file (one frame every 5 min, as in the paper's movies).
pub const TIME_INCREMENT_S: f64 = 300.0;
/// The image name in the truth files (the file is `<IMAGE>.ome.tif`).
pub const IMAGE: &str = "synth";

impl SynthConfig {
    /// Refuses configurations that cannot make a sensible image, with a one-line reason.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(m));
        if !(1..=10_000).contains(&self.frames) {
            return bad(format!("--frames {}: expected 1 to 10000", self.frames));
        }
        if !(1..=500).contains(&self.cells) {
            return bad(format!("--cells {}: expected 1 to 500", self.cells));
        }
        if !(self.snr.is_finite() && (0.1..=10_000.0).contains(&self.snr)) {
            return bad(format!("--snr {}: expected 0.1 to 10000", self.snr));
        }
        let px = self.pixel_size_um;
        if !(px.is_finite() && (0.02..=1.0).contains(&px)) {
            return bad(format!("--pixel-size {px}: expected 0.02 to 1 µm"));
        }
        if !(64..=16_384).contains(&self.size) {
            return bad(format!("--size {}: expected 64 to 16384 px", self.size));
        }
        let (lo, hi) = self.diameter_um;
        if !(lo.is_finite() && hi.is_finite() && lo >= 0.1 && lo <= hi && hi <= 8.0) {
            return bad(format!(
                "--diameter {lo},{hi}: expected 0.1 ≤ MIN ≤ MAX ≤ 8 µm"
            ));
        }
        if lo < 2.0 * px {
            return bad(format!(
                "--diameter {lo}: smaller than two pixels of {px} µm; use a smaller --pixel-size"
            ));
        }
        if self.cargo.len() > 8 {
            return bad(format!("--cargo: {} channels, at most 8", self.cargo.len()));
        }
        for (i, name) in self.cargo.iter().enumerate() {
            let ok = !name.is_empty()
                && name.len() <= 32
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.+".contains(c));
            if !ok {
                return bad(format!(
                    "--cargo '{name}': names are 1-32 characters of letters, digits, _ - . +"
                ));
            }
            let gfp = self.uptake_channel && name == UPTAKE_CHANNEL;
            if ["Hoechst", "WGA"].contains(&name.as_str()) || gfp || self.cargo[..i].contains(name)
            {
                return bad(format!("--cargo '{name}': channel names must be unique"));
            }
        }
        self.realism.validate(self.cells)?;
        self.dynamics.validate()
    }

    /// Channel names in file order: nuclei, membrane, the cargo channels, then `GFP` with
    /// the uptake channel.
    pub fn channel_names(&self) -> Vec<String> {
        let mut v = vec!["Hoechst".to_string(), "WGA".to_string()];
        v.extend(self.cargo.iter().cloned());
        if self.uptake_channel {
            v.push(UPTAKE_CHANNEL.to_string());
        }
        v
    }

    /// Field of view in µm (from the first to the last pixel centre).
    pub fn field_um(&self) -> f64 {
        (self.size - 1) as f64 * self.pixel_size_um
    }
}

/// What `generate` wrote.
#[derive(Clone, Debug)]
pub struct SynthOutput {
    pub stack: PathBuf,
    pub truth_migrasomes: PathBuf,
    pub truth_cells: PathBuf,
    pub truth_json: PathBuf,
    pub truth_bodies: PathBuf,
    /// `truth_events.csv` (written when dynamics are on).
    pub truth_events: Option<PathBuf>,
    /// `truth_uptake.csv` (written with the uptake channel).
    pub truth_uptake: Option<PathBuf>,
    pub cells: usize,
    /// Migrasomes alive in the last frame.
    pub migrasomes: usize,
}

/// The noise-free signal of channel `c` in frame `t` (photons above background at
/// illumination 1.0, row-major): what the stack shows before illumination and noise. For
/// tests and pictures.
pub fn signal(scene: &Scene, t: usize, c: usize) -> Vec<f32> {
    render::Renderer::new(scene).signal(t, c)
}

/// The multiplicative illumination field (vignette × the realism field), row-major.
pub fn illumination(scene: &Scene) -> Vec<f32> {
    render::Renderer::new(scene).illum
}

/// How a synthetic stack (or its truth label stack, without channel names) is written: the
/// config's frames, size and pixel size, one frame every `TIME_INCREMENT_S`.
fn write_spec(cfg: &SynthConfig, channels: Vec<Option<String>>) -> WriteSpec {
    WriteSpec {
        shape: Shape {
            t: cfg.frames,
            c: channels.len().max(1),
            z: 1,
            y: cfg.size,
            x: cfg.size,
        },
        pixel_size_um: PixelSize {
            x: Some(cfg.pixel_size_um),
            y: Some(cfg.pixel_size_um),
            z: None,
        },
        time_increment_s: Some(TIME_INCREMENT_S),
        channels,
    }
}

/// Builds the scene, writes the stack and the truth files into `out` (created if needed).
pub fn generate(cfg: &SynthConfig, out: &Path) -> Result<SynthOutput> {
    cfg.validate()?;
    let scene = Scene::build(cfg)?;
    std::fs::create_dir_all(out).map_err(|e| Error::output(out, e))?;
    let stack = out.join(format!("{IMAGE}.ome.tif"));
    let names = cfg.channel_names();
    let spec = write_spec(cfg, names.into_iter().map(Some).collect());
    let renderer = render::Renderer::new(&scene);
    let planes = (0..cfg.frames).flat_map(|t| renderer.frame(t));
    write_ome_u16(&stack, &spec, planes)?;
    let files = truth::write_all(&scene, out)?;
    Ok(SynthOutput {
        stack,
        truth_migrasomes: files.0,
        truth_cells: files.1,
        truth_json: files.2,
        truth_bodies: files.3,
        truth_events: files.4,
        truth_uptake: files.5,
        cells: scene.cells.len(),
        migrasomes: scene.alive(cfg.frames - 1).count(),
    })
}
