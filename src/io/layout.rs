//! The one axis model: from what `index` found, build each series' [`Shape`], sample type,
//! µm pixel size, time increment, channel names, and the plane table `(t, c, z) → page/sample`.
//!
//! Precedence: an `--axes` override, then OME-XML, then an `ImageJ=` description, then a
//! tifffile "shaped" JSON description, then plain (pages as T, grouped by page shape).
//! Samples of multi-sample pages (RGB, planar or chunky) always become channels:
//! `c = c_page * spp + sample`.
//!
//! Not here: reading tags (`index`), parsing the metadata text (`imagej`, `ome`), pixels.

use std::path::Path;

use super::axes::{parse_axes, shaped};
use super::imagej::{self, ImageJDesc, s_per_unit, um_per_unit};
use super::index::{FileIndex, PageInfo};
use super::{PixelSize, Shape, ome};
use crate::error::{Error, Result};
use crate::image::SampleType;

/// Where a plane's samples live.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum PlaneLoc {
    /// Sample `sample` of page (IFD) `page`.
    Page { page: usize, sample: usize },
    /// Uncompressed samples at a byte offset (ImageJ stacks with more images than IFDs).
    Raw { offset: u64 },
}

#[derive(Clone, Debug)]
pub(crate) struct Series {
    pub shape: Shape,
    pub dtype: SampleType,
    pub axes_source: String,
    pub pixel_size: PixelSize,
    pub time_increment_s: Option<f64>,
    pub channels: Vec<Option<String>>,
    /// Where the pixel size, time increment and channel names came from (None: not given).
    pub sources: MetaSources,
    /// The page whose layout every plane shares (compression, byte order, ...).
    pub page0: usize,
    /// Indexed by `(t * C + c) * Z + z`.
    pub planes: Vec<PlaneLoc>,
}

impl Series {
    pub fn plane_slot(&self, t: usize, c: usize, z: usize) -> usize {
        (t * self.shape.c + c) * self.shape.z + z
    }
}

/// Where each piece of calibration metadata came from, as `info` reports it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct MetaSources {
    pub pixel_size: Option<String>,
    pub time_increment: Option<String>,
    pub channels: Option<String>,
}

pub(crate) struct Layout {
    pub series: Vec<Series>,
    pub ome: bool,
    pub imagej: bool,
}

pub(crate) fn build(path: &Path, ix: &FileIndex, axes: Option<&str>) -> Result<Layout> {
    let descs = &ix.meta.descriptions;
    let desc = descs.first().map_or("", String::as_str);
    let ome_doc = descs.iter().find(|d| ome::is_ome(d)).map(|d| ome::parse(d));
    let ij = descs.iter().find_map(|d| imagej::parse_description(d));
    let is_ome = ome_doc.is_some();
    let is_ij = ij.is_some();
    let fmt = |place: &str, why: String| Error::format(path, place, why);
    let spp0 = ix.pages.first().map_or(1, |p| p.spp as usize);
    let series = if let Some(spec) = axes {
        let pages = plain_group(ix, 0);
        let letters =
            parse_axes(spec, pages.len(), shaped(desc, spp0)).map_err(|e| fmt("--axes", e))?;
        let mut s = generic(path, ix, &pages, &letters, "override")?;
        if let Some(ij) = &ij {
            apply_imagej_calibration(&mut s, ij, ix);
        }
        vec![s]
    } else if let Some(Ok(doc)) = ome_doc {
        // OME-XML that does not parse falls through to ImageJ / shaped / plain, as in tifffile;
        // `info` still reports `ome: true` so the user can tell.
        let mut out = Vec::new();
        let mut first_ifd = 0;
        for (i, img) in doc.images.iter().enumerate() {
            let s = ome_series(path, ix, img, first_ifd, doc.uuid.as_deref())
                .map_err(|e| fmt(&format!("OME Image {i}"), e))?;
            // Without TiffData, the next image's IFDs follow this one's (one per page).
            first_ifd += s
                .planes
                .iter()
                .filter(|p| matches!(p, PlaneLoc::Page { sample: 0, .. }))
                .count();
            out.push(s);
        }
        out
    } else if let Some(ij) = ij.as_ref().filter(|_| !ix.pages.is_empty()) {
        vec![imagej_series(path, ix, ij)?]
    } else if let Some(dims) = shaped(desc, spp0) {
        let pages = plain_group(ix, 0);
        vec![generic(path, ix, &pages, &dims, "shaped")?]
    } else {
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for (n, p) in ix.pages.iter().enumerate() {
            if p.reduced || seen.iter().any(|&k: &usize| same_kind(&ix.pages[k], p)) {
                continue;
            }
            seen.push(n);
            let pages = plain_group(ix, n);
            out.push(generic(path, ix, &pages, &[('T', pages.len())], "plain")?);
        }
        if out.is_empty() {
            return Err(no_full_resolution(path));
        }
        out
    };
    Ok(Layout {
        series,
        ome: is_ome,
        imagej: is_ij,
    })
}

fn no_full_resolution(path: &Path) -> Error {
    Error::format(
        path,
        "page 0",
        "no full-resolution page: every page is marked as a reduced-resolution copy \
         (NewSubfileType bit 0)",
    )
}

fn same_kind(a: &PageInfo, b: &PageInfo) -> bool {
    (a.width, a.height, a.spp, a.bits, a.format) == (b.width, b.height, b.spp, b.bits, b.format)
}

/// Pages of the same kind as page `first` (full-resolution ones only), in file order.
fn plain_group(ix: &FileIndex, first: usize) -> Vec<usize> {
    let Some(p0) = ix.pages.get(first) else {
        return Vec::new();
    };
    (first..ix.pages.len())
        .filter(|&n| !ix.pages[n].reduced && same_kind(&ix.pages[n], p0))
        .collect()
}

/// A series whose page `k` of `pages` is the k-th plane of `axes` in C order.
fn generic(
    path: &Path,
    ix: &FileIndex,
    pages: &[usize],
    axes: &[(char, usize)],
    src: &str,
) -> Result<Series> {
    if pages.is_empty() {
        return Err(no_full_resolution(path));
    }
    // Checked: sizes from a description could overflow to the page count and index past it.
    let n = axes.iter().try_fold(1usize, |n, a| n.checked_mul(a.1));
    if n != Some(pages.len()) {
        // A "shaped" description that does not match: fall back to pages as T.
        return generic(path, ix, pages, &[('T', pages.len())], "plain");
    }
    let size = |l: char| axes.iter().find(|a| a.0 == l).map_or(1, |a| a.1);
    let (t, cp, z) = (size('T'), size('C'), size('Z'));
    let p0 = &ix.pages[pages[0]];
    let spp = p0.spp as usize;
    let mut planes = Vec::with_capacity(pages.len() * spp);
    for ti in 0..t {
        for ci in 0..cp * spp {
            for zi in 0..z {
                let mut k = 0;
                for &(l, s) in axes {
                    let i = match l {
                        'T' => ti,
                        'C' => ci / spp,
                        _ => zi,
                    };
                    k = k * s + i;
                }
                planes.push(PlaneLoc::Page {
                    page: pages[k],
                    sample: ci % spp,
                });
            }
        }
    }
    let mut s = finish(path, ix, pages[0], (t, cp * spp, z), planes, src)?;
    s.pixel_size = resolution_size(ix, None);
    if s.pixel_size.x.is_some() || s.pixel_size.y.is_some() {
        s.sources.pixel_size = Some("tiff XResolution/YResolution, ResolutionUnit cm".into());
    }
    Ok(s)
}

/// Shape, dtype and checks shared by every kind of series.
fn finish(
    path: &Path,
    ix: &FileIndex,
    page0: usize,
    (t, c, z): (usize, usize, usize),
    planes: Vec<PlaneLoc>,
    src: &str,
) -> Result<Series> {
    let p0 = &ix.pages[page0];
    let dtype = p0
        .dtype()
        .map_err(|e| Error::format(path, format!("page {page0}"), e))?;
    for loc in &planes {
        if let PlaneLoc::Page { page, .. } = *loc {
            let p = &ix.pages[page];
            if !same_kind(p, p0) {
                return Err(Error::format(
                    path,
                    format!("page {page}"),
                    format!(
                        "{}x{} {}-bit x{} differs from page {page0} ({}x{} {}-bit x{}) in the same series",
                        p.width, p.height, p.bits, p.spp, p0.width, p0.height, p0.bits, p0.spp
                    ),
                ));
            }
        }
    }
    Ok(Series {
        shape: Shape {
            t,
            c,
            z,
            y: p0.height as usize,
            x: p0.width as usize,
        },
        dtype,
        axes_source: src.to_string(),
        pixel_size: PixelSize::default(),
        time_increment_s: None,
        channels: vec![None; c],
        sources: MetaSources::default(),
        page0,
        planes,
    })
}

/// X/Y pixel size from XResolution/YResolution in `unit` (µm per unit), else ResolutionUnit cm.
fn resolution_size(ix: &FileIndex, um_per: Option<f64>) -> PixelSize {
    let um = um_per.or(if ix.meta.res_unit == 3 {
        Some(1e4)
    } else {
        None
    });
    let size = |res: Option<f64>| {
        let v = um? / res.filter(|r| r.is_finite() && *r > 0.0)?;
        (v.is_finite() && v > 0.0).then_some(v)
    };
    PixelSize {
        x: size(ix.meta.x_res),
        y: size(ix.meta.y_res),
        z: None,
    }
}

fn apply_imagej_calibration(s: &mut Series, ij: &ImageJDesc, ix: &FileIndex) {
    let unit = ij.unit.as_deref().and_then(um_per_unit);
    let mut px = resolution_size(ix, unit);
    if let (Some(yu), Some(res)) = (ij.yunit.as_deref().and_then(um_per_unit), ix.meta.y_res) {
        px.y = (res > 0.0).then(|| yu / res);
    }
    let zu = ij.zunit.as_deref().and_then(um_per_unit).or(unit);
    px.z = ij.spacing.zip(zu).map(|(sp, u)| sp * u);
    let mut from = Vec::new();
    if px.x.is_some() || px.y.is_some() {
        from.push(format!(
            "XResolution/YResolution in unit={}",
            ij.unit
                .as_deref()
                .map_or("cm (ResolutionUnit)".into(), |u| u.replace("\\u00B5", "µ"))
        ));
    }
    if px.z.is_some() {
        from.push("spacing".to_string());
    }
    s.sources.pixel_size = (!from.is_empty()).then(|| format!("imagej {}", from.join(", ")));
    s.pixel_size = px;
    s.time_increment_s = ij
        .finterval
        .and_then(|f| Some(f * s_per_unit(ij.tunit.as_deref().unwrap_or("sec"))?));
    s.sources.time_increment = s.time_increment_s.map(|_| {
        format!(
            "imagej finterval ({})",
            ij.tunit.as_deref().unwrap_or("sec")
        )
    });
}

fn imagej_series(path: &Path, ix: &FileIndex, ij: &ImageJDesc) -> Result<Series> {
    let p0 = &ix.pages[0];
    let spp = p0.spp as usize;
    let (mut c, mut z, mut t) = (
        ij.channels.unwrap_or(1),
        ij.slices.unwrap_or(1),
        ij.frames.unwrap_or(1),
    );
    let images = ij.images.unwrap_or(ix.pages.len());
    if c.checked_mul(z).and_then(|v| v.checked_mul(t)) != Some(images) {
        (c, z, t) = (1, 1, images);
    }
    let n_pages = ix.pages.len();
    let planes = if images <= n_pages {
        let mut v = Vec::with_capacity(images * spp);
        for ti in 0..t {
            for ci in 0..c * spp {
                for zi in 0..z {
                    let page = (ti * z + zi) * c + ci / spp;
                    v.push(PlaneLoc::Page {
                        page,
                        sample: ci % spp,
                    });
                }
            }
        }
        v
    } else {
        contiguous_planes(path, ix, images, (t, c, z))?
    };
    let mut s = finish(path, ix, 0, (t, c * spp, z), planes, "imagej")?;
    apply_imagej_calibration(&mut s, ij, ix);
    if let (1, Some((data, counts))) = (spp, &ix.meta.ij_metadata) {
        let labels = imagej::parse_labels(data, counts);
        for (ci, name) in s.channels.iter_mut().enumerate() {
            *name = labels.get(ci).cloned().flatten();
        }
        if s.channels.iter().any(Option::is_some) {
            s.sources.channels = Some("imagej IJMetadata Labels".into());
        }
    }
    Ok(s)
}

/// ImageJ stacks over 4 GB keep one IFD and store every image back to back after it.
fn contiguous_planes(
    path: &Path,
    ix: &FileIndex,
    images: usize,
    (t, c, z): (usize, usize, usize),
) -> Result<Vec<PlaneLoc>> {
    let p0 = &ix.pages[0];
    let bad = |why: &str| {
        Error::format(
            path,
            "page 0",
            format!(
                "ImageJ says {images} images but the file has {} pages and {why}",
                ix.pages.len()
            ),
        )
    };
    let start = ix
        .page0_contiguous
        .ok_or_else(|| bad("page 0 is not one uncompressed run"))?;
    if p0.spp != 1 || !matches!(p0.bits, 8 | 16 | 32 | 64) {
        return Err(bad("its pages are not single-sample"));
    }
    let plane = p0.width as u64 * p0.height as u64 * (p0.bits as u64 / 8);
    let end = (images as u64)
        .checked_mul(plane)
        .and_then(|b| b.checked_add(start));
    if end.is_none_or(|e| e > ix.file_len) {
        return Err(bad(
            "the data after page 0 is too short for them (truncated?)",
        ));
    }
    let mut v = Vec::with_capacity(images);
    for ti in 0..t {
        for ci in 0..c {
            for zi in 0..z {
                let k = ((ti * z + zi) * c + ci) as u64;
                v.push(PlaneLoc::Raw {
                    offset: start + k * plane,
                });
            }
        }
    }
    Ok(v)
}

fn ome_series(
    path: &Path,
    ix: &FileIndex,
    img: &ome::OmeImage,
    first_ifd: usize,
    uuid: Option<&str>,
) -> std::result::Result<Series, String> {
    let spp = ix.pages[first_ifd.min(ix.pages.len() - 1)].spp as usize;
    let ifds = img.plane_ifds(spp, ix.pages.len(), first_ifd, path, uuid)?;
    let c_pages = ifds.len() / (img.size_z * img.size_t);
    let (t, z) = (img.size_t, img.size_z);
    let mut planes = Vec::with_capacity(ifds.len() * spp);
    for ti in 0..t {
        for ci in 0..c_pages * spp {
            for zi in 0..z {
                let page = ifds[(ti * c_pages + ci / spp) * z + zi];
                planes.push(PlaneLoc::Page {
                    page,
                    sample: ci % spp,
                });
            }
        }
    }
    let page0 = ifds[0];
    let mut s =
        finish(path, ix, page0, (t, c_pages * spp, z), planes, "ome").map_err(|e| e.to_string())?;
    if (s.shape.x, s.shape.y) != (img.size_x, img.size_y) {
        return Err(format!(
            "OME-XML says {}x{} pixels but page {page0} is {}x{}",
            img.size_x, img.size_y, s.shape.x, s.shape.y
        ));
    }
    s.pixel_size = img.pixel_size;
    s.time_increment_s = img.time_increment_s;
    let names: Vec<Option<String>> = img
        .channels
        .iter()
        .flat_map(|(n, k)| std::iter::repeat_n(n.clone(), if *k == spp { spp } else { 1 }))
        .collect();
    for (ci, name) in s.channels.iter_mut().enumerate() {
        *name = names.get(ci).cloned().flatten();
    }
    let px = s.pixel_size;
    let given: Vec<&str> = [("X", px.x), ("Y", px.y), ("Z", px.z)]
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(a, _)| *a)
        .collect();
    if !given.is_empty() {
        s.sources.pixel_size = Some(format!("ome PhysicalSize{}", given.join("/")));
    }
    s.sources.time_increment = s.time_increment_s.map(|_| "ome TimeIncrement".into());
    if s.channels.iter().any(Option::is_some) {
        s.sources.channels = Some("ome Channel Name".into());
    }
    Ok(s)
}
