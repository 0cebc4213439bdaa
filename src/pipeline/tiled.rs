//! `particles` on frames too large for one GPU binding or for the memory budget: the frame is
//! cut into tiles, each filtered with a halo as wide as the widest Gaussian (so the core of
//! every tile is exactly what the untiled filter gives), thresholded with one histogram summed
//! over all tiles, labelled per tile, and merged: components that touch across a tile seam are
//! joined (union-find over the seam pixels), renumbered in raster order of their first pixel
//! in the whole frame, and their statistics added up. The result is identical to the untiled
//! run (a test checks labels and statistics).
//!
//! Tiles run one after another; each tile's filters run three times (min/max, histogram,
//! labels) so that nothing frame-sized lives on the GPU.

use crate::cpu::gaussian::radius;
use crate::cpu::measure::fixed_exponent;
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Recorder};
use crate::image::Plane;
use crate::ops::filters::{self, TRUNCATE};
use crate::ops::label::{KeepRule, first_pixels, label_components};
use crate::ops::measure::{CHN, ChannelStat, GEO, ObjectStats, record_raw};
use crate::ops::threshold::{
    Method, build_histogram, compute, histogram, integer_bins, threshold_above,
};
use crate::ops::{GpuPlane, RawKind, crop, minmax, to_f32, upload_plane};

use super::particles::{ParticlesConfig, PlaneParticles};

/// Bytes of GPU memory one pixel of a tile needs in `particles` (raw channels, four f32
/// images, mask, union-find parents, per-segment root numbers, labels): an estimate for
/// choosing tile sizes.
pub fn bytes_per_pixel(channels: usize) -> u64 {
    4 * channels as u64 + 4 * 4 + 4 * 4
}

/// The core tile size for a `w` x `h` frame under a memory budget and the adapter's largest
/// binding, or `None` when the frame fits whole.
pub fn tile_size(gpu: &Gpu, w: usize, h: usize, channels: usize, budget: u64) -> Option<usize> {
    let px = (w * h) as u64;
    let fits = |p: u64| p * 4 <= gpu.max_binding() && p * bytes_per_pixel(channels) <= budget;
    if fits(px) {
        return None;
    }
    let mut t = w.max(h).next_power_of_two();
    while t > 64 && !fits(((t + 2 * 128) * (t + 2 * 128)) as u64) {
        t /= 2;
    }
    Some(t.max(64))
}

struct Tile {
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    /// extended rectangle (core plus halo, clipped to the frame)
    ex: usize,
    ey: usize,
    ew: usize,
    eh: usize,
}

fn tiles(w: usize, h: usize, t: usize, halo: usize) -> Vec<Tile> {
    let mut v = Vec::new();
    for y0 in (0..h).step_by(t) {
        for x0 in (0..w).step_by(t) {
            let (tw, th) = (t.min(w - x0), t.min(h - y0));
            let ex = x0.saturating_sub(halo);
            let ey = y0.saturating_sub(halo);
            let ex1 = (x0 + tw + halo).min(w);
            let ey1 = (y0 + th + halo).min(h);
            v.push(Tile {
                x0,
                y0,
                w: tw,
                h: th,
                ex,
                ey,
                ew: ex1 - ex,
                eh: ey1 - ey,
            });
        }
    }
    v
}

/// The image that is thresholded, for the core of one tile (records on `rec`).
fn work_core(rec: &mut Recorder, src: &Plane, t: &Tile, cfg: &ParticlesConfig) -> Result<GpuPlane> {
    if cfg.sigma <= 0.0 && cfg.background <= 0.0 {
        return upload_plane(rec, &src.crop(t.x0, t.y0, t.w, t.h)?);
    }
    let ext = upload_plane(rec, &src.crop(t.ex, t.ey, t.ew, t.eh)?)?;
    let f = to_f32(rec, &ext)?;
    let blurred = if cfg.sigma > 0.0 {
        filters::gaussian_blur(rec, &f, [cfg.sigma; 2])?
    } else {
        f.clone()
    };
    let work = if cfg.background > 0.0 {
        let bg = filters::gaussian_blur(rec, &f, [cfg.background; 2])?;
        filters::subtract(rec, &blurred, &bg)?
    } else {
        blurred
    };
    crop(
        rec,
        &work,
        (t.x0 - t.ex) as u32,
        (t.y0 - t.ey) as u32,
        t.w as u32,
        t.h as u32,
    )
}

/// Union-find over the (tile, label) nodes.
struct Dsu(Vec<usize>);

impl Dsu {
    fn find(&mut self, mut a: usize) -> usize {
        while self.0[a] != a {
            self.0[a] = self.0[self.0[a]];
            a = self.0[a];
        }
        a
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b)] = a.min(b);
        }
    }
}

/// One tile's labels and raw records, read back.
struct TileResult {
    labels: Vec<u32>,
    count: usize,
    geometry: Vec<u32>,
    channels: Vec<Vec<u32>>,
    ranges: Vec<Option<[u32; 2]>>,
    first: Vec<u32>,
}

/// `particles` on one frame in tiles of `tile` px (core); see the module doc.
pub fn particles_tiled(
    gpu: &Gpu,
    channels: &[Plane],
    cfg: &ParticlesConfig,
    want_labels: bool,
    tile: usize,
) -> Result<PlaneParticles> {
    cfg.validate()?;
    let src = channels
        .get(cfg.channel)
        .ok_or_else(|| Error::invalid(format!("channel {} does not exist", cfg.channel)))?;
    let (w, h) = (src.width, src.height);
    let halo = [cfg.sigma, cfg.background]
        .iter()
        .filter(|s| **s > 0.0)
        .map(|s| radius(*s, TRUNCATE))
        .max()
        .unwrap_or(0);
    let tl = tiles(w, h, tile.max(1), halo);
    // 1. the frame's min and max of the thresholded image
    let mut range = [u32::MAX, 0u32];
    let mut kind = RawKind::F32;
    for t in &tl {
        let mut rec = Recorder::new(gpu);
        let work = work_core(&mut rec, src, t, cfg)?;
        kind = work.kind;
        let mm = minmax(&mut rec, &work)?;
        let rb = rec.readback(&mm, 0, 8);
        rec.submit();
        let r: Vec<u32> = rb.wait_as(gpu)?;
        range = [range[0].min(r[0]), range[1].max(r[1])];
    }
    // 2. one histogram over every tile, and the threshold
    let threshold = match cfg.threshold {
        Method::Value(v) => v,
        m => {
            let nbins = integer_bins(kind).unwrap_or(256);
            let mut counts = vec![0u32; nbins];
            for t in &tl {
                let mut rec = Recorder::new(gpu);
                let work = work_core(&mut rec, src, t, cfg)?;
                let rbuf = rec.upload(&range);
                let hist = histogram(&mut rec, &work, &rbuf)?;
                let rb = rec.readback(&hist, 0, nbins as u64 * 4);
                rec.submit();
                for (c, x) in counts.iter_mut().zip(rb.wait_as::<u32>(gpu)?) {
                    *c += x;
                }
            }
            compute(m, &build_histogram(kind, range, counts))
        }
    };
    // 3. labels and raw records per tile
    let mut results = Vec::with_capacity(tl.len());
    for t in &tl {
        let mut rec = Recorder::new(gpu);
        let work = work_core(&mut rec, src, t, cfg)?;
        let mask = threshold_above(&mut rec, &work, threshold)?;
        let labels = label_components(&mut rec, &mask, cfg.connectivity)?;
        let count_rb = rec.readback(&labels.count, 0, 4);
        rec.submit();
        let count = count_rb.wait_as::<u32>(gpu)?[0];
        let mut rec = Recorder::new(gpu);
        let cores: Vec<GpuPlane> = channels
            .iter()
            .map(|c| upload_plane(&mut rec, &c.crop(t.x0, t.y0, t.w, t.h)?))
            .collect::<Result<_>>()?;
        let refs: Vec<&GpuPlane> = cores.iter().collect();
        let cap = count.max(1);
        let raw = record_raw(&mut rec, &labels.plane, &refs, cap)?;
        let first = first_pixels(&mut rec, &labels, cap)?;
        let lab_rb = rec.readback(&labels.plane.buf, 0, (t.w * t.h) as u64 * 4);
        let geo_rb = rec.readback(&raw.geometry, 0, cap as u64 * GEO as u64 * 4);
        let first_rb = rec.readback(&first, 0, cap as u64 * 4);
        let ch_rb: Vec<_> = raw
            .channels
            .iter()
            .map(|b| rec.readback(b, 0, cap as u64 * CHN as u64 * 4))
            .collect();
        let range_rb: Vec<_> = raw
            .ranges
            .iter()
            .map(|r| r.as_ref().map(|b| rec.readback(b, 0, 8)))
            .collect();
        rec.submit();
        results.push(TileResult {
            labels: lab_rb.wait_as(gpu)?,
            count: count as usize,
            geometry: geo_rb.wait_as(gpu)?,
            first: first_rb.wait_as(gpu)?,
            channels: ch_rb
                .into_iter()
                .map(|r| r.wait_as(gpu))
                .collect::<Result<_>>()?,
            ranges: range_rb
                .into_iter()
                .map(|r| {
                    r.map(|r| r.wait_as::<u32>(gpu).map(|v| [v[0], v[1]]))
                        .transpose()
                })
                .collect::<Result<_>>()?,
        });
    }
    merge(
        &tl,
        &results,
        channels,
        cfg,
        want_labels,
        threshold,
        w,
        h,
        tile.max(1),
    )
}

#[allow(clippy::too_many_arguments)]
fn merge(
    tl: &[Tile],
    res: &[TileResult],
    channels: &[Plane],
    cfg: &ParticlesConfig,
    want_labels: bool,
    threshold: f64,
    w: usize,
    h: usize,
    t: usize,
) -> Result<PlaneParticles> {
    let mut offset = Vec::with_capacity(res.len());
    let mut n = 0usize;
    for r in res {
        offset.push(n);
        n += r.count;
    }
    // which tile holds a pixel
    let tiles_x = w.div_ceil(t);
    let tile_of = |x: usize, y: usize| (y / t) * tiles_x + x / t;
    let label_at = |x: usize, y: usize| -> usize {
        let k = tile_of(x, y);
        let tt = &tl[k];
        let l = res[k].labels[(y - tt.y0) * tt.w + (x - tt.x0)];
        if l == 0 {
            usize::MAX
        } else {
            offset[k] + l as usize - 1
        }
    };
    let mut dsu = Dsu((0..n).collect());
    for (k, tt) in tl.iter().enumerate() {
        // pixels on the right column and bottom row meet the next tiles
        let right = tt.x0 + tt.w;
        let bottom = tt.y0 + tt.h;
        let mut edge: Vec<(usize, usize)> = Vec::new();
        if right < w {
            edge.extend((tt.y0..bottom).map(|y| (right - 1, y)));
        }
        if bottom < h {
            edge.extend((tt.x0..right).map(|x| (x, bottom - 1)));
        }
        for (x, y) in edge {
            let a = label_at(x, y);
            if a == usize::MAX {
                continue;
            }
            for (dx, dy) in [(1i64, -1i64), (1, 0), (1, 1), (-1, 1), (0, 1)] {
                if cfg.connectivity == 4 && dx != 0 && dy != 0 {
                    continue;
                }
                let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                    continue;
                }
                let (nx, ny) = (nx as usize, ny as usize);
                if tile_of(nx, ny) == k {
                    continue;
                }
                let b = label_at(nx, ny);
                if b != usize::MAX {
                    dsu.union(a, b);
                }
            }
        }
    }
    // merged records per component root
    #[derive(Clone)]
    struct Acc {
        first: u64,
        area: u64,
        bbox: [u32; 4],
        sx: u64,
        sy: u64,
        /// per channel: exact integer sum, f64 sum (floats: each tile's fixed point
        /// decoded with its own exponent), min key, max key
        ch: Vec<(i64, f64, u32, u32)>,
    }
    let nch = channels.len();
    let mut acc: Vec<Option<Acc>> = vec![None; n];
    for (k, (tt, r)) in tl.iter().zip(res).enumerate() {
        for l in 0..r.count {
            let g = &r.geometry[l * GEO as usize..(l + 1) * GEO as usize];
            let area = g[0] as u64;
            let wide = |lo: u32, hi: u32| ((hi as u64) << 32) | lo as u64;
            let f = r.first[l] as usize;
            let first = ((tt.y0 + f / tt.w) * w + tt.x0 + f % tt.w) as u64;
            let piece = Acc {
                first,
                area,
                bbox: [
                    g[1] + tt.x0 as u32,
                    g[2] + tt.y0 as u32,
                    g[3] + tt.x0 as u32,
                    g[4] + tt.y0 as u32,
                ],
                sx: wide(g[5], g[6]) + area * tt.x0 as u64,
                sy: wide(g[7], g[8]) + area * tt.y0 as u64,
                ch: (0..nch)
                    .map(|c| {
                        let rec = &r.channels[c][l * CHN as usize..(l + 1) * CHN as usize];
                        let s = wide(rec[0], rec[1]) as i64;
                        let f = match r.ranges[c] {
                            Some(range) => {
                                s as f64 * 2f64.powi(-fixed_exponent(range, (tt.w * tt.h) as u32))
                            }
                            None => s as f64,
                        };
                        (s, f, rec[2], rec[3])
                    })
                    .collect(),
            };
            let root = dsu.find(offset[k] + l);
            acc[root] = Some(match acc[root].take() {
                None => piece,
                Some(a) => Acc {
                    first: a.first.min(piece.first),
                    area: a.area + piece.area,
                    bbox: [
                        a.bbox[0].min(piece.bbox[0]),
                        a.bbox[1].min(piece.bbox[1]),
                        a.bbox[2].max(piece.bbox[2]),
                        a.bbox[3].max(piece.bbox[3]),
                    ],
                    sx: a.sx + piece.sx,
                    sy: a.sy + piece.sy,
                    ch: a
                        .ch
                        .iter()
                        .zip(&piece.ch)
                        .map(|(x, y)| {
                            (x.0.wrapping_add(y.0), x.1 + y.1, x.2.min(y.2), x.3.max(y.3))
                        })
                        .collect(),
                },
            });
        }
    }
    // raster order of first pixels, then the keep rule
    let mut roots: Vec<usize> = (0..n).filter(|&i| acc[i].is_some()).collect();
    roots.sort_by_key(|&i| acc[i].as_ref().map_or(0, |a| a.first));
    let rule = KeepRule {
        min_area: cfg.min_area,
        max_area: cfg.max_area,
        exclude_edges: cfg.exclude_edges,
    };
    let kinds: Vec<RawKind> = channels.iter().map(|c| RawKind::of(&c.data)).collect();
    let mut new_id = vec![0u32; n];
    let mut objects = Vec::new();
    for &r in &roots {
        let a = acc[r].as_ref().expect("root has a record");
        let touches = a.bbox[0] == 0
            || a.bbox[1] == 0
            || a.bbox[2] as usize + 1 >= w
            || a.bbox[3] as usize + 1 >= h;
        if a.area < rule.min_area as u64
            || a.area > rule.max_area as u64
            || (rule.exclude_edges && touches)
        {
            continue;
        }
        let label = objects.len() as u32 + 1;
        new_id[r] = label;
        let channels =
            a.ch.iter()
                .enumerate()
                .map(|(c, (exact, float, mn, mx))| {
                    // integer channels: exact; float channels: per-tile fixed point, added in f64
                    let s = if kinds[c].is_float() {
                        *float
                    } else {
                        *exact as f64
                    };
                    ChannelStat {
                        sum: s,
                        mean: s / a.area as f64,
                        min: kinds[c].key_value(*mn),
                        max: kinds[c].key_value(*mx),
                    }
                })
                .collect();
        objects.push(ObjectStats {
            label,
            area: a.area,
            bbox: a.bbox,
            centroid_x: a.sx as f64 / a.area as f64,
            centroid_y: a.sy as f64 / a.area as f64,
            channels,
        });
    }
    let labels = want_labels.then(|| {
        let mut img = vec![0u32; w * h];
        for (k, (tt, r)) in tl.iter().zip(res).enumerate() {
            for y in 0..tt.h {
                for x in 0..tt.w {
                    let l = r.labels[y * tt.w + x];
                    if l != 0 {
                        img[(tt.y0 + y) * w + tt.x0 + x] =
                            new_id[dsu.find(offset[k] + l as usize - 1)];
                    }
                }
            }
        }
        img
    });
    Ok(PlaneParticles {
        threshold,
        objects,
        labels,
    })
}
