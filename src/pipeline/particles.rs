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

/// Runs the chain on one plane position; `channels[cfg.channel]` is thresholded and every
/// channel is measured inside the objects.
pub fn particles_plane(
    gpu: &Gpu,
    channels: &[Plane],
    cfg: &ParticlesConfig,
    want_labels: bool,
    capacity_hint: u32,
) -> Result<PlaneParticles> {
    if cfg.channel >= channels.len() {
        return Err(Error::invalid(format!(
            "channel {} does not exist ({} channels)",
            cfg.channel,
            channels.len()
        )));
    }
    // Submission 1: upload, optional blur, histogram.
    let mut rec = Recorder::new(gpu);
    let raws: Vec<GpuPlane> = channels
        .iter()
        .map(|p| upload_plane(&mut rec, p))
        .collect::<Result<_>>()?;
    let work = if cfg.sigma > 0.0 {
        let f = to_f32(&mut rec, &raws[cfg.channel])?;
        filters::gaussian_blur(&mut rec, &f, [cfg.sigma, cfg.sigma])?
    } else {
        raws[cfg.channel].clone()
    };
    let threshold = match cfg.threshold {
        Method::Value(v) => {
            rec.submit();
            v
        }
        m => {
            let pending = record_histogram(&mut rec, &work)?;
            rec.submit();
            compute(m, &pending.finish(gpu)?)
        }
    };
    // Submission 2: threshold, label, measure, relabel; grows the record capacity if needed.
    let mut rec = Recorder::new(gpu);
    let mask = threshold_above(&mut rec, &work, threshold)?;
    let labels: Labels = label_components(&mut rec, &mask, cfg.connectivity)?;
    let measured: Vec<&GpuPlane> = raws.iter().collect();
    let mut capacity = capacity_hint.max(256);
    loop {
        let (pending, out) =
            record_objects(&mut rec, &labels, &measured, capacity, cfg.keep_rule())?;
        let label_rb =
            want_labels.then(|| rec.readback(&out.plane.buf, 0, out.plane.len() as u64 * 4));
        rec.submit();
        match pending.finish(gpu)? {
            Finished::Done(objects) => {
                let labels = match label_rb {
                    Some(rb) => Some(rb.wait_as::<u32>(gpu)?),
                    None => None,
                };
                return Ok(PlaneParticles {
                    threshold,
                    objects,
                    labels,
                });
            }
            Finished::NeedCapacity(n) => {
                capacity = n;
                rec = Recorder::new(gpu);
            }
        }
    }
}
