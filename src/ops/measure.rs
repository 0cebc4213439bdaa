//! Per-label statistics (`label_statistics`): area, bounding box, centroid, and per channel
//! sum, min, max, mean, measured in one pass per channel over the label image with 64-bit exact
//! sums; optionally filtered by area and edge contact on the GPU before readback.

use serde::Serialize;

use super::label::{KeepRule, Labels, compact_records, keep_flags, remap};
use super::{GpuPlane, RawKind, grid_run, minmax};
use crate::cpu::measure::fixed_exponent;
use crate::error::{Error, Result};
use crate::gpu::{Buf, Gpu, Readback, Recorder, WG, grid_1d};

/// u32 words per geometry record (see `shaders/measure.wgsl`).
pub const GEO: u32 = 9;
/// u32 words per channel record.
pub const CHN: u32 = 4;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct MeasureParams {
    width: u32,
    height: u32,
    capacity: u32,
    kind: u32,
}

/// Statistics of one channel inside one object, in the channel's raw units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ChannelStat {
    pub sum: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// One object of a label image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectStats {
    pub label: u32,
    pub area: u64,
    /// min x, min y, max x, max y (inclusive, pixels)
    pub bbox: [u32; 4],
    pub centroid_x: f64,
    pub centroid_y: f64,
    pub channels: Vec<ChannelStat>,
}

impl ObjectStats {
    /// Diameter of the disk with the same area (skimage's `equivalent_diameter_area`), px.
    pub fn equivalent_diameter(&self) -> f64 {
        (4.0 * self.area as f64 / std::f64::consts::PI).sqrt()
    }
}

struct PendingChannel {
    kind: RawKind,
    records: Readback,
    range: Option<Readback>,
}

/// Object statistics recorded on the GPU, not yet read back.
pub struct PendingObjects {
    capacity: u32,
    n_pixels: u32,
    count: Readback,
    kept: Readback,
    geometry: Readback,
    channels: Vec<PendingChannel>,
}

/// What `finish` found.
pub enum Finished {
    /// Objects of the kept labels, numbered 1..K.
    Done(Vec<ObjectStats>),
    /// There are more labels than the capacity; record again with at least this capacity.
    NeedCapacity(u32),
}

/// The raw per-label records on the GPU (layouts in `shaders/measure.wgsl`).
pub struct RawStats {
    pub capacity: u32,
    /// `capacity` geometry records of [`GEO`] words
    pub geometry: Buf,
    /// largest label above `capacity` (0 if none)
    pub over: Buf,
    /// per channel, `capacity` records of [`CHN`] words
    pub channels: Vec<Buf>,
    /// per channel, its `[min, max]` keys when it is a float channel (fixed-point scale)
    pub ranges: Vec<Option<Buf>>,
}

/// Kernel-level `label_statistics`: records geometry and channel statistics of labels
/// 1..=capacity of `labels` (a u32 plane).
pub fn record_raw(
    rec: &mut Recorder,
    labels: &GpuPlane,
    channels: &[&GpuPlane],
    capacity: u32,
) -> Result<RawStats> {
    for c in channels {
        if (c.width, c.height) != (labels.width, labels.height) {
            return Err(Error::invalid(format!(
                "label_statistics: channel is {}x{}, labels are {}x{}",
                c.width, c.height, labels.width, labels.height
            )));
        }
    }
    let cap = capacity.max(1);
    let geometry = rec.storage(cap as u64 * GEO as u64 * 4);
    let over = rec.storage(4);
    let p = rec.params(&MeasureParams {
        width: labels.width,
        height: labels.height,
        capacity: cap,
        kind: 0,
    });
    rec.dispatch_at(
        "measure",
        "init_geometry",
        &[(0, &p), (2, &geometry), (3, &over)],
        grid_1d(cap as u64, WG),
    )?;
    rec.dispatch_at(
        "measure",
        "geometry",
        &[(0, &p), (1, &labels.buf), (2, &geometry), (3, &over)],
        grid_run(labels),
    )?;
    let mut out_channels = Vec::new();
    let mut ranges = Vec::new();
    for c in channels {
        let recs = rec.storage(cap as u64 * CHN as u64 * 4);
        let range = if c.kind.is_float() {
            Some(minmax(rec, c)?)
        } else {
            None
        };
        // integer channels never read the range, but the entry point binds it
        let rbuf = range.clone().unwrap_or_else(|| rec.storage(8));
        let pc = rec.params(&MeasureParams {
            width: labels.width,
            height: labels.height,
            capacity: cap,
            kind: c.kind as u32,
        });
        rec.dispatch_at(
            "measure",
            "init_channel",
            &[(0, &pc), (2, &recs)],
            grid_1d(cap as u64, WG),
        )?;
        rec.dispatch_at(
            "measure",
            "channel",
            &[
                (0, &pc),
                (1, &labels.buf),
                (2, &recs),
                (4, &c.buf),
                (5, &rbuf),
            ],
            grid_run(labels),
        )?;
        out_channels.push(recs);
        ranges.push(range);
    }
    Ok(RawStats {
        capacity: cap,
        geometry,
        over,
        channels: out_channels,
        ranges,
    })
}

/// Records statistics of `labels` over `channels` for labels 1..=capacity, the keep rule,
/// and the readbacks; returns the pending result and the relabelled image (kept objects
/// numbered 1..K in raster order; its `count` is K; its `parent` is still that
/// of the unfiltered components).
pub fn record_objects(
    rec: &mut Recorder,
    labels: &Labels,
    channels: &[&GpuPlane],
    capacity: u32,
    rule: KeepRule,
) -> Result<(PendingObjects, Labels)> {
    let lp = &labels.plane;
    let raw = record_raw(rec, lp, channels, capacity)?;
    let cap = raw.capacity;
    let (flags, rank, kept) = keep_flags(
        rec,
        &raw.geometry,
        &labels.count,
        cap,
        lp.width,
        lp.height,
        rule,
    )?;
    let out = remap(rec, lp, cap, &flags, &rank)?;
    let geo_c = compact_records(rec, &raw.geometry, cap, GEO, &flags, &rank)?;
    let mut pending_channels = Vec::new();
    for ((c, recs), range) in channels.iter().zip(&raw.channels).zip(&raw.ranges) {
        let rc = compact_records(rec, recs, cap, CHN, &flags, &rank)?;
        pending_channels.push(PendingChannel {
            kind: c.kind,
            records: rec.readback(&rc, 0, cap as u64 * CHN as u64 * 4),
            range: range.as_ref().map(|r| rec.readback(r, 0, 8)),
        });
    }
    let pending = PendingObjects {
        capacity: cap,
        n_pixels: lp.width * lp.height,
        count: rec.readback(&labels.count, 0, 4),
        kept: rec.readback(&kept, 0, 4),
        geometry: rec.readback(&geo_c, 0, cap as u64 * GEO as u64 * 4),
        channels: pending_channels,
    };
    Ok((
        pending,
        Labels {
            plane: out,
            count: kept,
            parent: labels.parent.clone(),
        },
    ))
}

fn wide(lo: u32, hi: u32) -> u64 {
    ((hi as u64) << 32) | lo as u64
}

impl PendingObjects {
    /// Waits for the readbacks and decodes the records.
    pub fn finish(self, gpu: &Gpu) -> Result<Finished> {
        let count = self.count.wait_as::<u32>(gpu)?[0];
        if count > self.capacity {
            return Ok(Finished::NeedCapacity(count));
        }
        let kept = self.kept.wait_as::<u32>(gpu)?[0] as usize;
        let geo: Vec<u32> = self.geometry.wait_as(gpu)?;
        let mut objects: Vec<ObjectStats> = (0..kept)
            .map(|l| {
                let r = &geo[l * GEO as usize..(l + 1) * GEO as usize];
                let area = r[0] as u64;
                ObjectStats {
                    label: l as u32 + 1,
                    area,
                    bbox: [r[1], r[2], r[3], r[4]],
                    centroid_x: wide(r[5], r[6]) as f64 / area as f64,
                    centroid_y: wide(r[7], r[8]) as f64 / area as f64,
                    channels: Vec::new(),
                }
            })
            .collect();
        for ch in self.channels {
            let recs: Vec<u32> = ch.records.wait_as(gpu)?;
            let scale = match ch.range {
                Some(r) => {
                    let range: Vec<u32> = r.wait_as(gpu)?;
                    2f64.powi(-fixed_exponent([range[0], range[1]], self.n_pixels))
                }
                None => 1.0,
            };
            for (l, o) in objects.iter_mut().enumerate() {
                let r = &recs[l * CHN as usize..(l + 1) * CHN as usize];
                let sum = wide(r[0], r[1]) as i64 as f64 * scale;
                o.channels.push(ChannelStat {
                    sum,
                    mean: sum / o.area as f64,
                    min: ch.kind.key_value(r[2]),
                    max: ch.kind.key_value(r[3]),
                });
            }
        }
        Ok(Finished::Done(objects))
    }
}

/// Measures every object of `labels` (dropping those the rule rejects), growing the record
/// capacity and measuring again when there are more labels than `capacity_hint`. Returns the
/// objects and the relabelled image. Submits GPU work and waits for it.
pub fn label_statistics(
    gpu: &Gpu,
    labels: &Labels,
    channels: &[&GpuPlane],
    rule: KeepRule,
    capacity_hint: u32,
) -> Result<(Vec<ObjectStats>, GpuPlane)> {
    let mut capacity = capacity_hint.max(64);
    loop {
        let mut rec = Recorder::new(gpu);
        let (pending, out) = record_objects(&mut rec, labels, channels, capacity, rule)?;
        rec.submit();
        match pending.finish(gpu)? {
            Finished::Done(objects) => return Ok((objects, out.plane)),
            Finished::NeedCapacity(n) => capacity = n,
        }
    }
}
