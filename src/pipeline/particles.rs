//! `particles`: blur (optional) → threshold → label → measure, per 2D plane, like Fiji's
//! Analyze Particles with scikit-image's definitions (Otsu on one bin per integer value,
//! `image > threshold`, raster-ordered labels, per-object sums of the raw intensities).

use serde::Serialize;

use crate::error::{Error, Result};
use crate::gpu::{Gpu, Recorder};
use crate::image::Plane;
use crate::ops::label::{KeepRule, Labels, label_components};
use crate::ops::measure::{Finished, ObjectStats, record_objects};
use crate::ops::threshold::{Method, compute, record_histogram, threshold_above};
use crate::ops::{GpuPlane, filters, to_f32, upload_plane};

/// What `particles` does to each plane.
#[derive(Clone, Debug, Serialize)]
pub struct ParticlesConfig {
    /// Channel that is thresholded.
    pub channel: usize,
    /// Gaussian sigma in px before thresholding (0 = none).
    pub sigma: f64,
    /// Background: subtract a Gaussian of this sigma (px) of the raw channel (0 = none), so
    /// the thresholded image is `gaussian(sigma) - gaussian(background)`.
    pub background: f64,
    #[serde(serialize_with = "ser_method")]
    pub threshold: Method,
    pub connectivity: u32,
    pub min_area: u32,
    pub max_area: u32,
    pub exclude_edges: bool,
}

fn ser_method<S: serde::Serializer>(m: &Method, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&m.name())
}

impl Default for ParticlesConfig {
    fn default() -> Self {
        ParticlesConfig {
            channel: 0,
            sigma: 0.0,
            background: 0.0,
            threshold: Method::Otsu,
            connectivity: 8,
            min_area: 0,
            max_area: u32::MAX,
            exclude_edges: false,
        }
    }
}

impl ParticlesConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.sigma >= 0.0 && self.sigma.is_finite()) {
            return Err(Error::invalid(format!(
                "--sigma must be >= 0, got {}",
                self.sigma
            )));
        }
        if !(self.background >= 0.0 && self.background.is_finite()) {
            return Err(Error::invalid(format!(
                "--background must be >= 0, got {}",
                self.background
            )));
        }
        if self.connectivity != 4 && self.connectivity != 8 {
            return Err(Error::invalid(format!(
                "--connectivity must be 4 or 8, got {}",
                self.connectivity
            )));
        }
        if self.min_area > self.max_area {
            return Err(Error::invalid(format!(
                "--min-area {} is above --max-area {}",
                self.min_area, self.max_area
            )));
        }
        Ok(())
    }

    fn keep_rule(&self) -> KeepRule {
        KeepRule {
            min_area: self.min_area,
            max_area: self.max_area,
            exclude_edges: self.exclude_edges,
        }
    }
}

/// Result for one plane.
#[derive(Clone, Debug)]
pub struct PlaneParticles {
    pub threshold: f64,
    /// Kept objects numbered 1..N in raster order; channel stats for every channel given.
    pub objects: Vec<ObjectStats>,
    /// The label image of the kept objects, when asked for.
    pub labels: Option<Vec<u32>>,
}

impl PlaneParticles {
    pub fn area_total(&self) -> u64 {
        self.objects.iter().map(|o| o.area).sum()
    }

    /// Sum of raw intensities of channel `c` over every kept object.
    pub fn sum_total(&self, c: usize) -> f64 {
        self.objects.iter().map(|o| o.channels[c].sum).sum()
    }
}

/// A frame after submission 1 (upload, filters, histogram), waiting for its threshold.
struct Stage1 {
    raws: Vec<GpuPlane>,
    work: GpuPlane,
    hist: Option<crate::ops::threshold::PendingHistogram>,
}

/// A frame after submission 2 (threshold, label, measure), waiting for its results.
struct Stage2 {
    raws: Vec<GpuPlane>,
    labels: Labels,
    threshold: f64,
    pending: crate::ops::measure::PendingObjects,
    label_rb: Option<crate::gpu::Readback>,
}

/// Streams frames through the chain with two frames in flight: while the host waits for frame
/// n's results, the GPU already runs frame n+1's filters, so it rarely sits idle. Buffers come
/// from the pool, so in steady state nothing is created per frame.
pub struct ParticlesEngine<'g> {
    gpu: &'g Gpu,
    cfg: ParticlesConfig,
    want_labels: bool,
    capacity: u32,
    /// Host time spent per phase, for `bench`.
    pub host: HostTimes,
    /// GPU memory a frame may use (bytes); larger frames run in tiles (`pipeline::tiled`).
    pub budget: u64,
    /// Tile size to force (tests, benchmarks); `None` tiles only when needed.
    pub force_tile: Option<usize>,
}

/// The default GPU memory budget for one frame: the adapter's largest buffer, at most 2 GiB.
pub fn default_budget(gpu: &Gpu) -> u64 {
    gpu.adapter().limits.max_buffer_size.min(2 << 30)
}

/// Where the host thread spent its time (seconds).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct HostTimes {
    /// waiting for decoded planes
    pub decode_wait_s: f64,
    /// recording submission 1, uploads included
    pub record_upload_s: f64,
    /// waiting for histograms, computing thresholds, recording submission 2
    pub threshold_s: f64,
    /// waiting for and decoding the results
    pub results_s: f64,
    /// in the caller's sink (tables, files)
    pub sink_s: f64,
}

impl<'g> ParticlesEngine<'g> {
    pub fn new(gpu: &'g Gpu, cfg: &ParticlesConfig, want_labels: bool) -> Result<Self> {
        cfg.validate()?;
        Ok(ParticlesEngine {
            gpu,
            cfg: cfg.clone(),
            want_labels,
            capacity: 1024,
            host: HostTimes::default(),
            budget: default_budget(gpu),
            force_tile: None,
        })
    }

    fn stage1(&self, channels: &[Plane]) -> Result<Stage1> {
        let cfg = &self.cfg;
        if cfg.channel >= channels.len() {
            return Err(Error::invalid(format!(
                "channel {} does not exist ({} channels)",
                cfg.channel,
                channels.len()
            )));
        }
        let mut rec = Recorder::new(self.gpu);
        let raws: Vec<GpuPlane> = channels
            .iter()
            .map(|p| upload_plane(&mut rec, p))
            .collect::<Result<_>>()?;
        let work = if cfg.sigma > 0.0 || cfg.background > 0.0 {
            let f = to_f32(&mut rec, &raws[cfg.channel])?;
            let blurred = if cfg.sigma > 0.0 {
                filters::gaussian_blur(&mut rec, &f, [cfg.sigma, cfg.sigma])?
            } else {
                f.clone()
            };
            if cfg.background > 0.0 {
                let bg = filters::gaussian_blur(&mut rec, &f, [cfg.background, cfg.background])?;
                filters::subtract(&mut rec, &blurred, &bg)?
            } else {
                blurred
            }
        } else {
            raws[cfg.channel].clone()
        };
        let hist = match cfg.threshold {
            Method::Value(_) => None,
            _ => Some(record_histogram(&mut rec, &work)?),
        };
        rec.submit();
        Ok(Stage1 { raws, work, hist })
    }

    fn stage2(&self, s1: Stage1) -> Result<Stage2> {
        let threshold = match (self.cfg.threshold, s1.hist) {
            (Method::Value(v), _) => v,
            (m, Some(h)) => compute(m, &h.finish(self.gpu)?),
            (_, None) => unreachable!("histogram recorded for every method but a value"),
        };
        let mut rec = Recorder::new(self.gpu);
        let mask = threshold_above(&mut rec, &s1.work, threshold)?;
        let labels = label_components(&mut rec, &mask, self.cfg.connectivity)?;
        let (pending, label_rb) = self.record_measure(&mut rec, &labels, &s1.raws)?;
        rec.submit();
        Ok(Stage2 {
            raws: s1.raws,
            labels,
            threshold,
            pending,
            label_rb,
        })
    }

    fn record_measure(
        &self,
        rec: &mut Recorder,
        labels: &Labels,
        raws: &[GpuPlane],
    ) -> Result<(
        crate::ops::measure::PendingObjects,
        Option<crate::gpu::Readback>,
    )> {
        let measured: Vec<&GpuPlane> = raws.iter().collect();
        let (pending, out) =
            record_objects(rec, labels, &measured, self.capacity, self.cfg.keep_rule())?;
        let label_rb = self
            .want_labels
            .then(|| rec.readback(&out.plane.buf, 0, out.plane.len() as u64 * 4));
        Ok((pending, label_rb))
    }

    fn finish(&mut self, mut s2: Stage2) -> Result<PlaneParticles> {
        loop {
            match s2.pending.finish(self.gpu)? {
                Finished::Done(objects) => {
                    self.capacity = self.capacity.max((objects.len() as u32).saturating_mul(2));
                    let labels = match s2.label_rb {
                        Some(rb) => Some(rb.wait_as::<u32>(self.gpu)?),
                        None => None,
                    };
                    return Ok(PlaneParticles {
                        threshold: s2.threshold,
                        objects,
                        labels,
                    });
                }
                Finished::NeedCapacity(n) => {
                    // more objects than records: measure this frame again, with room
                    self.capacity = n.next_power_of_two();
                    let mut rec = Recorder::new(self.gpu);
                    let (pending, label_rb) =
                        self.record_measure(&mut rec, &s2.labels, &s2.raws)?;
                    rec.submit();
                    s2.pending = pending;
                    s2.label_rb = label_rb;
                }
            }
        }
    }

    /// Runs every frame of `frames` (all channels of one plane position each) and hands each
    /// result, in order, to `sink`.
    pub fn run<I, K>(
        &mut self,
        frames: I,
        mut sink: impl FnMut(K, PlaneParticles) -> Result<()>,
    ) -> Result<()>
    where
        I: IntoIterator<Item = Result<(K, Vec<Plane>)>>,
    {
        let mut waiting: std::collections::VecDeque<(K, Stage1)> = Default::default();
        let mut running: Option<(K, Stage2)> = None;
        let mut frames = frames.into_iter();
        let mut more = true;
        while more || !waiting.is_empty() || running.is_some() {
            // keep two frames' filters queued on the GPU
            while more && waiting.len() < 2 {
                let t0 = std::time::Instant::now();
                let f = frames.next();
                self.host.decode_wait_s += t0.elapsed().as_secs_f64();
                match f {
                    Some(f) => {
                        let (k, planes) = f?;
                        let (w, h) = planes.first().map_or((0, 0), |p| (p.width, p.height));
                        let tile = self.force_tile.or_else(|| {
                            super::tiled::tile_size(self.gpu, w, h, planes.len(), self.budget)
                        });
                        if let Some(t) = tile {
                            // too large for one pass: finish the frames in flight, then tiles
                            while let Some((k2, s1)) = waiting.pop_front() {
                                let s2 = self.stage2(s1)?;
                                if let Some((k3, r)) = running.replace((k2, s2)) {
                                    sink(k3, self.finish(r)?)?;
                                }
                            }
                            if let Some((k3, r)) = running.take() {
                                sink(k3, self.finish(r)?)?;
                            }
                            let r = super::tiled::particles_tiled(
                                self.gpu,
                                &planes,
                                &self.cfg,
                                self.want_labels,
                                t,
                            )?;
                            sink(k, r)?;
                            continue;
                        }
                        let t0 = std::time::Instant::now();
                        let s1 = self.stage1(&planes)?;
                        self.host.record_upload_s += t0.elapsed().as_secs_f64();
                        waiting.push_back((k, s1));
                    }
                    None => more = false,
                }
            }
            let t0 = std::time::Instant::now();
            let next = match waiting.pop_front() {
                Some((k, s1)) => Some((k, self.stage2(s1)?)),
                None => None,
            };
            self.host.threshold_s += t0.elapsed().as_secs_f64();
            if let Some((k, s2)) = running.take() {
                let t0 = std::time::Instant::now();
                let r = self.finish(s2)?;
                let t1 = std::time::Instant::now();
                self.host.results_s += (t1 - t0).as_secs_f64();
                sink(k, r)?;
                self.host.sink_s += t1.elapsed().as_secs_f64();
            }
            running = next;
        }
        Ok(())
    }
}

/// Runs the chain on one plane position; `channels[cfg.channel]` is thresholded and every
/// channel is measured inside the objects.
pub fn particles_plane(
    gpu: &Gpu,
    channels: &[Plane],
    cfg: &ParticlesConfig,
    want_labels: bool,
    capacity_hint: u32,
) -> Result<PlaneParticles> {
    let mut engine = ParticlesEngine::new(gpu, cfg, want_labels)?;
    engine.capacity = capacity_hint.max(64);
    let mut out = None;
    engine.run([Ok(((), channels.to_vec()))], |_, r| {
        out = Some(r);
        Ok(())
    })?;
    Ok(out.expect("one frame in, one result out"))
}
