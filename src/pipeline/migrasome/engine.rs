//! The migrasome analysis of one image as a streaming engine: frames in (all channels of one
//! (t, z) each), [`FrameResult`]s out, in order, with two frames in flight: frame n+1's
//! first submission (upload, filters, threshold statistics) is on the GPU before frame n's
//! results are waited for, so the GPU rarely sits idle (and in a movie of one plane frame
//! n−1 waits, finished, for persistence backward: see below). Modelled on
//! [`crate::pipeline::particles::ParticlesEngine`].
//!
//! The object capacities learnt on one frame carry to the next, so a stack re-records a
//! frame's second stage at most a few times in all. A GPU error (validation, out of memory,
//! device lost) recorded on the device is checked after every frame's readback, before the
//! frame reaches the sink: the engine returns `Error::Gpu`, never numbers from a failed
//! submission. Per-image statistics ([`ImageTotals`]) are accumulated as frames complete.
//! Each plane's previous frame leaves its migrasomes (centroid, diameter) for the next frame's
//! time-lapse persistence (`MigrasomeParams::persist_um`), and its membrane (on the GPU) for
//! the next frames' windowed fiber contact (`fibers.contact_frames` − 1 of them kept per
//! plane); nothing else carries over. Persistence also runs one frame backward: a frame
//! whose next frame is of the same plane (an image of one plane) is held (its first stage
//! kept on the GPU, its planes on the host) until that frame is finished; where that one
//! counts a migrasome first beside a candidate the held frame took for a protrusion's tip
//! or found too small (`frame::back_prevs`), the held frame's second stage runs again with
//! it as a migrasome of the frame before (`frame::refinish`), and persistence counts that
//! candidate where its checks (size, faint) allow: a migrasome counted from its second frame
//! on is then counted in its first too. Then the held frame goes to the sink, in order.
//! A noisy frame (its typical migrasome under `MigrasomeParams::adapt_below` spot thresholds)
//! is analysed once more with more spot smoothing before it reaches the sink, from its spot
//! image on (`frame::respot`: the first stage's upload, blurred nuclei (less their
//! background surface) and bodies, body background surface, ridge image and their thresholds are the first pass's; the second
//! stage, segmentation included, runs again); the frames after it are not affected.
//!
//! Not here: the GPU chain of one frame (see `frame`), writing results (see `report`).

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::config::{AnalyzeParams, PxParams};
use super::frame::{
    Capacities, FrameKept, FrameResult, FrameStage1, Prev, Roles, back_prevs, begin_frame,
    continue_frame, finish_frame_kept, refinish, respot,
};
use super::stats::ImageTotals;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::image::Plane;
use crate::ops::GpuPlane;
pub use crate::pipeline::particles::HostTimes;

/// Runs the migrasome analysis over the frames of one image (one set of channel roles and
/// one pixel size).
pub struct MigrasomeEngine<'g> {
    gpu: &'g Gpu,
    roles: Roles,
    px: PxParams,
    caps: Capacities,
    /// Host time per phase: `record_upload_s` = first submissions, `threshold_s` = reading
    /// thresholds, recording second submissions (and waiting for the first part of one when
    /// the orphan pass may be needed; a noisy frame's second pass, up to its submission),
    /// `results_s` = waiting for results.
    pub host: HostTimes,
    /// Per plane (z): the migrasomes counted in its previous frame (time-lapse persistence).
    previous: HashMap<usize, Vec<Prev>>,
    /// Per plane (z): the membranes of its last `fibers.contact_frames` − 1 frames, oldest
    /// first (`Migrasome::fiber_contact_window`).
    earlier: HashMap<usize, VecDeque<GpuPlane>>,
    /// Frames finished again for time-lapse persistence backward (`frame::back_prevs`).
    pub refinished: u64,
}

/// A finished frame held until the next frame, of its plane, is finished (time-lapse
/// persistence backward, see `frame::back_prevs`): its key, planes and result, its kept first
/// stage, the parameters it was finished with (`None`: the engine's) and its `prev`.
struct Held<K> {
    key: K,
    planes: Vec<Plane>,
    f: FrameResult,
    kept: FrameKept,
    px: Option<PxParams>,
    prev: Vec<Prev>,
}

/// The key of a frame handed to [`MigrasomeEngine::run`]: which plane (z) it is, so that each
/// frame is compared with the previous frame of its own plane (time-lapse persistence, see
/// `MigrasomeParams::persist_um`). Frames of one plane must come in time order.
pub trait FrameKey {
    fn plane(&self) -> usize;
}

/// `(t, z)`, as [`crate::io::Frames`] yields them.
impl FrameKey for (usize, usize) {
    fn plane(&self) -> usize {
        self.1
    }
}

/// One plane.
impl FrameKey for () {
    fn plane(&self) -> usize {
        0
    }
}

impl<'g> MigrasomeEngine<'g> {
    /// An engine for `params` (validated here) at `pixel_size_um` µm per pixel.
    pub fn new(
        gpu: &'g Gpu,
        params: &AnalyzeParams,
        roles: Roles,
        pixel_size_um: f64,
    ) -> Result<Self> {
        params.validate()?;
        Ok(Self::with_px(
            gpu,
            roles,
            PxParams::new(params, pixel_size_um)?,
        ))
    }

    /// An engine for parameters already converted to pixels.
    pub fn with_px(gpu: &'g Gpu, roles: Roles, px: PxParams) -> Self {
        MigrasomeEngine {
            gpu,
            roles,
            px,
            caps: Capacities::default(),
            host: HostTimes::default(),
            previous: HashMap::new(),
            earlier: HashMap::new(),
            refinished: 0,
        }
    }

    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// The parameters in pixels, as the kernels see them.
    pub fn px(&self) -> &PxParams {
        &self.px
    }

    /// Host seconds outside the sink (waiting for planes, recording, thresholding, waiting
    /// for results): `summary.json`'s `analysis_s`.
    pub fn analysis_s(&self) -> f64 {
        let h = &self.host;
        h.decode_wait_s + h.record_upload_s + h.threshold_s + h.results_s
    }

    fn begin(&mut self, planes: &[Plane], plane: usize) -> Result<FrameStage1> {
        if let Some(&c) = self
            .roles
            .cargo
            .iter()
            .chain(&self.roles.nuclei)
            .chain(&self.roles.uptake)
            .chain(std::iter::once(&self.roles.membrane))
            .find(|&&c| c >= planes.len())
        {
            return Err(Error::invalid(format!(
                "channel {c} does not exist ({} channels)",
                planes.len()
            )));
        }
        let t0 = Instant::now();
        let keep = (self.px.contact_frames as usize).saturating_sub(1);
        let earlier = self.earlier.entry(plane).or_default();
        let s1 = begin_frame(
            self.gpu,
            planes,
            &self.roles,
            &self.px,
            earlier.make_contiguous(),
        )?;
        if keep > 0 {
            earlier.push_back(s1.membrane().clone());
            while earlier.len() > keep {
                earlier.pop_front();
            }
        }
        self.host.record_upload_s += t0.elapsed().as_secs_f64();
        Ok(s1)
    }

    /// Runs every frame of `frames` and hands each result, in order, to `sink` with the
    /// frame's planes (for QC pictures). Returns the image's totals over these frames (with
    /// each frame's own released calls; `analyze` counts a movie's from the tracks' states).
    pub fn run<I, K>(
        &mut self,
        frames: I,
        mut sink: impl FnMut(K, FrameResult, &[Plane]) -> Result<()>,
    ) -> Result<ImageTotals>
    where
        I: IntoIterator<Item = Result<(K, Vec<Plane>)>>,
        K: FrameKey,
    {
        self.previous.clear();
        self.earlier.clear();
        self.refinished = 0;
        let mut totals = ImageTotals::new(self.roles.cargo.len());
        let mut held: Option<Held<K>> = None;
        // a finished frame to the sink, in order, its totals counted
        let mut emit = |k: K, f: FrameResult, planes: &[Plane], host: &mut HostTimes| {
            totals.add(&f);
            let t0 = Instant::now();
            sink(k, f, planes)?;
            host.sink_s += t0.elapsed().as_secs_f64();
            Ok::<(), Error>(())
        };
        let mut frames = frames.into_iter();
        let mut next_frame = |host: &mut HostTimes| {
            let t0 = Instant::now();
            let f = frames.next();
            host.decode_wait_s += t0.elapsed().as_secs_f64();
            f
        };
        let mut next = match next_frame(&mut self.host) {
            Some(f) => {
                let (k, planes) = f?;
                let s1 = self.begin(&planes, k.plane())?;
                Some((k, planes, s1))
            }
            None => None,
        };
        while let Some((k, planes, s1)) = next.take() {
            let t0 = Instant::now();
            let s2 = continue_frame(self.gpu, s1, &self.roles, &self.px, &self.caps)?;
            self.host.threshold_s += t0.elapsed().as_secs_f64();
            // the next frame's first stage goes to the GPU before this frame is waited for
            next = match next_frame(&mut self.host) {
                Some(f) => {
                    let (k, planes) = f?;
                    let s1 = self.begin(&planes, k.plane())?;
                    Some((k, planes, s1))
                }
                None => None,
            };
            let plane = k.plane();
            // held for persistence backward only where the next frame is of the same plane
            // (an image of one plane; a stack of planes comes plane by plane within a time
            // point, and would hold one frame's GPU stage per plane)
            let hold = self.px.persist > 0.0
                && next.as_ref().is_some_and(|(nk, _, _)| nk.plane() == plane);
            let t0 = Instant::now();
            let prev = self.previous.remove(&plane).unwrap_or_default();
            let (mut f, mut next, mut kept) =
                finish_frame_kept(self.gpu, s2, &self.roles, &self.px, &mut self.caps, &prev)?;
            self.gpu.check()?;
            self.host.results_s += t0.elapsed().as_secs_f64();
            // a noisy frame: once more with more spot smoothing (`MigrasomeParams::adapt_below`)
            // from its spot image on (`spot_contrast` stays the one the frame was judged by)
            let mut px = None;
            if let Some(apx) = self.px.adapted(f.spot_contrast) {
                let contrast = f.spot_contrast;
                let t0 = Instant::now();
                let s2 = respot(self.gpu, kept, &self.roles, &apx, &self.caps)?;
                self.host.threshold_s += t0.elapsed().as_secs_f64();
                let t0 = Instant::now();
                (f, next, kept) =
                    finish_frame_kept(self.gpu, s2, &self.roles, &apx, &mut self.caps, &prev)?;
                f.spot_contrast = contrast;
                self.gpu.check()?;
                self.host.results_s += t0.elapsed().as_secs_f64();
                px = Some(apx);
            }
            // the frame before, held for persistence backward (its next frame is this one, of
            // its plane): finished again where this frame counts a migrasome first that it
            // took for a tip (or too small)
            if let Some(mut h) = held.take() {
                let back = back_prevs(&h.f, &f, &prev, self.px.persist);
                if !back.is_empty() {
                    let t0 = Instant::now();
                    let hpx = h.px.as_ref().unwrap_or(&self.px);
                    let p: Vec<Prev> = h.prev.iter().chain(&back).copied().collect();
                    let contrast = h.f.spot_contrast;
                    (h.f, _, _) = refinish(self.gpu, h.kept, &self.roles, hpx, &mut self.caps, &p)?;
                    h.f.spot_contrast = contrast;
                    self.gpu.check()?;
                    self.host.results_s += t0.elapsed().as_secs_f64();
                    self.refinished += 1;
                }
                emit(h.key, h.f, &h.planes, &mut self.host)?;
            }
            self.previous.insert(plane, next);
            if hold {
                held = Some(Held {
                    key: k,
                    planes,
                    f,
                    kept,
                    px,
                    prev,
                });
            } else {
                drop(kept);
                emit(k, f, &planes, &mut self.host)?;
            }
        }
        if let Some(h) = held.take() {
            emit(h.key, h.f, &h.planes, &mut self.host)?;
        }
        Ok(totals)
    }
}
