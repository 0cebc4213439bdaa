//! What `compare --out DIR` writes besides `stats.csv`: the plots (`plots/<metric>_<unit>.svg`
//! and `.png`, and `plots/<metric>_time.svg`/`.png` for movies) and `report.html`, one
//! self-contained page (inline CSS and SVG, no script, a Content-Security-Policy that allows
//! no fetch) with the inputs, the sample sheet, the parameters, the statistics, the plots and
//! relative links to each image's QC overlays.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use askama::Template;
use serde_json::Value;

use super::AtomicFile;
use crate::error::{Error, Result};
use crate::evaluate::table::Table;
use crate::plot::superplot::{self, BarChart, Bracket, Group};
use crate::plot::timeseries::{self, Point, Series, TimeChart};
use crate::plot::{raster, svg::Svg};
use crate::stats::compare::{Comparison, Dataset, Unit};
use crate::stats::{Test, describe};

/// PNGs are drawn at this many pixels per SVG px.
pub const PNG_SCALE: f32 = 2.0;

/// p as text: 4 significant digits.
pub fn p_text(p: f64) -> String {
    if p >= 1e-3 {
        format!("{p:.4}")
    } else {
        format!("{p:.3e}")
    }
}

/// A value as text: 4 significant digits (scientific outside 1e-3..1e6).
fn sig(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.3e}");
    }
    let d = (3 - a.log10().floor() as i32).max(0) as usize;
    format!("{v:.d$}")
}

/// The title and the axis label (with its unit) of a metric.
pub fn metric_label(metric: &str) -> (String, String) {
    let (base, unit) = if let Some(b) = metric.strip_suffix("_um2") {
        (b, " (µm²)")
    } else if let Some(b) = metric.strip_suffix("_um") {
        (b, " (µm)")
    } else {
        (metric, "")
    };
    let words = |s: &str| s.replace('_', " ");
    let (title, axis) = match base {
        "migrasome_count" => ("Migrasomes per cell".into(), "migrasomes per cell".into()),
        "released_count" => (
            "Released migrasomes per cell".into(),
            "released migrasomes per cell".into(),
        ),
        "area" => ("Cell body area".into(), "body area".into()),
        "territory_area" => ("Territory area".into(), "territory area per cell".into()),
        "migrasome_released" => (
            "Released fraction".into(),
            "fraction of a cell's migrasomes released".into(),
        ),
        _ => {
            if let Some(c) = base.strip_suffix("_positive_count") {
                (
                    format!("{c}-positive migrasomes per cell"),
                    format!("{c}-positive migrasomes per cell"),
                )
            } else if let Some(c) = base
                .strip_prefix("migrasome_")
                .and_then(|b| b.strip_suffix("_positive"))
            {
                (
                    format!("{c}-positive fraction"),
                    format!("fraction of a cell's migrasomes {c}-positive"),
                )
            } else if let Some(m) = base.strip_prefix("migrasome_") {
                let (t, au) = match m.strip_prefix("mean_") {
                    Some(ch) => (format!("{ch} intensity"), " (a.u.)"),
                    None => (words(m), ""),
                };
                (
                    format!("Migrasome {t}"),
                    format!("mean migrasome {t} per cell{au}"),
                )
            } else {
                let t = words(base);
                let mut c = t.chars();
                let first = c.next().map(|f| f.to_uppercase().collect::<String>());
                (first.unwrap_or_default() + c.as_str(), t)
            }
        }
    };
    (title, format!("{axis}{unit}"))
}

/// A file-name-safe form of `s`.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `to` relative to the folder `from` (both absolute, canonical), with `/` separators and
/// each segment percent-encoded for an `href`.
fn relative_href(from: &Path, to: &Path) -> String {
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".into(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| percent_encode(&c.as_os_str().to_string_lossy())),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

fn percent_encode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// What the statistics were asked for.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub results: &'a [PathBuf],
    pub control: String,
    pub test: Test,
    pub unit: Unit,
}

/// One plot: its files (relative to DIR) and its inline SVG.
#[derive(Debug, Clone)]
pub struct Plot {
    pub title: String,
    pub svg_file: String,
    pub png_file: String,
    /// The SVG without the namespace, for inline use.
    pub inline: String,
}

fn unit_plural(u: Unit) -> &'static str {
    match u {
        Unit::Cell => "cells",
        Unit::Image => "images",
        Unit::Replicate => "replicates",
    }
}

fn test_name(t: Test) -> &'static str {
    match t {
        Test::Student => "Student's t-test",
        Test::Welch => "Welch's t-test",
        Test::MannWhitney => "Mann–Whitney U test",
    }
}

/// The metrics of `rows`, in order.
fn metrics_of(rows: &[Comparison]) -> Vec<String> {
    let mut m: Vec<String> = Vec::new();
    for r in rows {
        if !m.contains(&r.metric) {
            m.push(r.metric.clone());
        }
    }
    m
}

/// Conditions in plot order: the control first, then the others as they came.
fn plot_order(ds: &Dataset, control: &str) -> Vec<String> {
    let mut o = vec![control.to_string()];
    o.extend(ds.conditions.iter().filter(|c| *c != control).cloned());
    o
}

/// The bar chart of `metric`.
pub fn bar_chart(ds: &Dataset, rows: &[Comparison], metric: &str, req: &Request) -> BarChart {
    let mi = ds
        .metrics
        .iter()
        .position(|m| m == metric)
        .expect("compared");
    let order = plot_order(ds, &req.control);
    let mut replicates: Vec<String> = Vec::new();
    for c in &ds.cells {
        if !replicates.contains(&c.replicate) {
            replicates.push(c.replicate.clone());
        }
    }
    let rows: Vec<&Comparison> = rows.iter().filter(|r| r.metric == metric).collect();
    let groups = order
        .iter()
        .map(|cond| {
            let (n, mean, sem) = if *cond == req.control {
                rows.first()
                    .map(|r| (r.n_control, r.mean_control, r.sem_control))
            } else {
                rows.iter()
                    .find(|r| r.group == *cond)
                    .map(|r| (r.n_group, r.mean_group, r.sem_group))
            }
            .unwrap_or((0, f64::NAN, f64::NAN));
            let mut dots = Vec::new();
            let mut per_rep: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
            for c in ds.cells.iter().filter(|c| c.condition == *cond) {
                let v = c.values[mi];
                if v.is_finite() {
                    let r = replicates
                        .iter()
                        .position(|x| *x == c.replicate)
                        .expect("seen");
                    dots.push((r, v));
                    per_rep.entry(r).or_default().push(v);
                }
            }
            let replicate_means = per_rep
                .into_iter()
                .map(|(r, v)| (r, describe(&v).mean))
                .collect();
            Group {
                name: cond.clone(),
                n,
                mean,
                sem,
                dots,
                replicate_means,
            }
        })
        .collect();
    let brackets = rows
        .iter()
        .filter_map(|r| {
            order.iter().position(|c| *c == r.group).map(|g| Bracket {
                group: g,
                stars: r.stars.to_string(),
            })
        })
        .collect();
    let (title, y_label) = metric_label(metric);
    let named = replicates.iter().any(|r| !r.is_empty());
    BarChart {
        title,
        y_label,
        n_label: unit_plural(req.unit).into(),
        caption: format!(
            "Bars: mean ± SEM of {} (n); dots: cells; large markers: replicate means. {}, \
             two-sided, vs {}.",
            unit_plural(req.unit),
            test_name(req.test),
            req.control
        ),
        groups,
        replicates: if named { replicates } else { vec![] },
        brackets,
        // FNV-1a of the metric's name: each metric its own jitter, the same every run
        seed: metric.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        }),
    }
}

/// Frames per second of every image (from its `image.json`), when all have one and it is
/// the same: then x is in minutes.
fn minutes_per_frame(ds: &Dataset, req: &Request) -> Option<f64> {
    let mut dt: Option<f64> = None;
    let mut seen: Vec<&(usize, String)> = Vec::new();
    for c in &ds.cells {
        if seen.contains(&&c.image) {
            continue;
        }
        seen.push(&c.image);
        let p = req.results[c.image.0]
            .join(super::outdir::IMAGES)
            .join(&c.image.1)
            .join("image.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
        let t = v["time_increment_s"].as_f64().filter(|t| *t > 0.0)?;
        match dt {
            None => dt = Some(t),
            Some(d) if (d - t).abs() <= 1e-9 * d => {}
            Some(_) => return None,
        }
    }
    dt.map(|d| d / 60.0)
}

/// The values of `metric` over time, or None when every image has one frame.
pub fn time_chart(ds: &Dataset, metric: &str, req: &Request) -> Option<TimeChart> {
    if ds.cells.iter().all(|c| c.frame == 0) {
        return None;
    }
    let mi = ds
        .metrics
        .iter()
        .position(|m| m == metric)
        .expect("compared");
    let minutes = minutes_per_frame(ds, req);
    let series = plot_order(ds, &req.control)
        .into_iter()
        .map(|cond| {
            let mut per: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
            for c in ds.cells.iter().filter(|c| c.condition == cond) {
                if c.values[mi].is_finite() {
                    per.entry(c.frame).or_default().push(c.values[mi]);
                }
            }
            let points = per
                .into_iter()
                .map(|(t, v)| {
                    let d = describe(&v);
                    Point {
                        x: minutes.map_or(t as f64, |m| t as f64 * m),
                        mean: d.mean,
                        sem: d.sem,
                        n: d.n,
                    }
                })
                .collect();
            Series { name: cond, points }
        })
        .collect();
    let (title, y_label) = metric_label(metric);
    Some(TimeChart {
        title: format!("{title} over time"),
        x_label: if minutes.is_some() {
            "time (min)".into()
        } else {
            "frame".into()
        },
        y_label,
        caption:
            "Line: mean of the cells of each frame (all images of the condition); band: ± SEM."
                .into(),
        series,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Writes `svg` as `DIR/plots/<stem>.svg` and `.png`.
fn write_plot(dir: &Path, stem: &str, title: &str, svg: &Svg) -> Result<Plot> {
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).map_err(|e| Error::output(&plots, e))?;
    let file = svg.finish(true, title);
    let svg_file = format!("plots/{stem}.svg");
    let png_file = format!("plots/{stem}.png");
    write_file(&dir.join(&svg_file), file.as_bytes())?;
    let png = raster::png(&file, PNG_SCALE)
        .map_err(|e| Error::invalid(format!("{}: {e}", dir.join(&svg_file).display())))?;
    write_file(&dir.join(&png_file), &png)?;
    Ok(Plot {
        title: title.to_string(),
        svg_file,
        png_file,
        inline: svg.finish(false, title),
    })
}

/// Writes every plot of `rows` into `DIR/plots/`; returns them in order (per metric: the bar
/// chart, then the time course if any).
pub fn write_plots(
    dir: &Path,
    ds: &Dataset,
    rows: &[Comparison],
    req: &Request,
) -> Result<Vec<Plot>> {
    let mut out = Vec::new();
    for m in metrics_of(rows) {
        let c = bar_chart(ds, rows, &m, req);
        let stem = format!("{}_{}", file_safe(&m), req.unit.name());
        out.push(write_plot(dir, &stem, &c.title, &superplot::draw(&c))?);
        if let Some(t) = time_chart(ds, &m, req) {
            let stem = format!("{}_time", file_safe(&m));
            out.push(write_plot(dir, &stem, &t.title, &timeseries::draw(&t))?);
        }
    }
    Ok(out)
}

// ---- report.html ----

struct ResultsView {
    path: String,
    status: String,
    version: String,
    adapter: String,
    images: Vec<ImageView>,
}

struct ImageView {
    name: String,
    file: String,
    shape: String,
    pixel_size: String,
    channels: String,
}

struct SampleRow {
    results: String,
    image: String,
    values: Vec<String>,
}

struct ParamBlock {
    results: String,
    rows: Vec<(String, String)>,
}

struct StatRow {
    metric: String,
    comparison: String,
    unit: String,
    n: String,
    mean_group: String,
    mean_control: String,
    fold: String,
    test: String,
    statistic: String,
    df: String,
    p: String,
    stars: String,
}

struct QcLink {
    href: String,
    label: String,
}

struct QcImage {
    image: String,
    links: Vec<QcLink>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    version: &'a str,
    conditions: String,
    control: String,
    test: String,
    unit: String,
    results: Vec<ResultsView>,
    sample_columns: Vec<String>,
    samples: Vec<SampleRow>,
    params: Vec<ParamBlock>,
    stats: Vec<StatRow>,
    plots: &'a [Plot],
    qc: Vec<QcImage>,
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

fn adapter_text(a: &Value) -> String {
    if a.is_null() {
        return "–".into();
    }
    let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
    let mut t = format!("{} ({}", s("name"), s("backend"));
    for k in ["device_type", "driver", "driver_info"] {
        if !s(k).is_empty() {
            t += &format!(", {}", s(k));
        }
    }
    t + ")"
}

fn results_view(dir: &Path, summary: &Value, ds: &Dataset, d: usize) -> ResultsView {
    let mut images: Vec<ImageView> = summary["images"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| ImageView {
                    name: i["image"].as_str().unwrap_or("").to_string(),
                    file: i["file"].as_str().unwrap_or("").to_string(),
                    shape: {
                        let s = &i["shape"];
                        ["t", "z", "c", "y", "x"]
                            .iter()
                            .map(|k| format!("{k} {}", s[*k]))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    pixel_size: i["pixel_size_um"]
                        .as_f64()
                        .map(|p| format!("{p} µm"))
                        .unwrap_or_default(),
                    channels: i["channels"]
                        .as_array()
                        .map(|c| {
                            c.iter()
                                .map(|x| x.as_str().unwrap_or("").to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    if images.is_empty() {
        // no summary.json: the images that have cells
        let mut seen: Vec<&str> = Vec::new();
        for c in ds.cells.iter().filter(|c| c.image.0 == d) {
            if !seen.contains(&c.image.1.as_str()) {
                seen.push(&c.image.1);
                images.push(ImageView {
                    name: c.image.1.clone(),
                    file: String::new(),
                    shape: String::new(),
                    pixel_size: String::new(),
                    channels: String::new(),
                });
            }
        }
    }
    let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| "–".into());
    ResultsView {
        path: dir.display().to_string(),
        status: text(&summary["status"]),
        version: text(&summary["software"]["version"]),
        adapter: adapter_text(&summary["adapter"]),
        images,
    }
}

/// (image, its sample values) rows.
type ImageSamples = Vec<(String, Vec<String>)>;

/// (columns from `condition` on, first row per image) of a results folder's `cells.csv`.
fn sample_rows(dir: &Path) -> Result<(Vec<String>, ImageSamples)> {
    let t = Table::read(&dir.join("cells.csv"))?;
    let image = t.col("image")?;
    let first = t.col("condition")?;
    let cols = t.header[first..].to_vec();
    let mut rows: ImageSamples = Vec::new();
    for r in 0..t.rows.len() {
        let name = t.text(r, image);
        if rows.iter().any(|(n, _)| n == name) {
            continue;
        }
        let v = (first..t.header.len())
            .map(|c| t.text(r, c).to_string())
            .collect();
        rows.push((name.to_string(), v));
    }
    Ok((cols, rows))
}

/// Writes `DIR/report.html`.
pub fn write_report(
    dir: &Path,
    ds: &Dataset,
    rows: &[Comparison],
    req: &Request,
    plots: &[Plot],
) -> Result<()> {
    let out_abs = std::fs::canonicalize(dir).map_err(|e| Error::output(dir, e))?;
    let mut results = Vec::new();
    let mut params = Vec::new();
    let mut sample_columns: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    let mut qc = Vec::new();
    for (d, res) in req.results.iter().enumerate() {
        let summary: Value = std::fs::read_to_string(res.join("summary.json"))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Value::Null);
        let view = results_view(res, &summary, ds, d);
        let mut p = Vec::new();
        if let Some(preset) = summary["preset"].as_str() {
            p.push(("preset".to_string(), preset.to_string()));
        }
        flatten("", &summary["parameters_um"], &mut p);
        p.retain(|(k, _)| !k.is_empty());
        params.push(ParamBlock {
            results: view.path.clone(),
            rows: p,
        });
        let (cols, srows) = sample_rows(res)?;
        for c in &cols {
            if !sample_columns.contains(c) {
                sample_columns.push(c.clone());
            }
        }
        let res_abs = std::fs::canonicalize(res).map_err(|e| Error::io(res, e))?;
        for img in &view.images {
            let values = srows
                .iter()
                .find(|(n, _)| *n == img.name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            samples.push((view.path.clone(), img.name.clone(), cols.clone(), values));
            let qc_dir = res_abs
                .join(super::outdir::IMAGES)
                .join(&img.name)
                .join("qc");
            let mut files: Vec<PathBuf> = std::fs::read_dir(&qc_dir)
                .map(|rd| {
                    rd.filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "png"))
                        .collect()
                })
                .unwrap_or_default();
            files.sort();
            qc.push(QcImage {
                image: img.name.clone(),
                links: files
                    .iter()
                    .map(|f| QcLink {
                        href: relative_href(&out_abs, f),
                        label: f
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    })
                    .collect(),
            });
        }
        results.push(view);
    }
    // the sample values in the order of the union of the columns
    let samples = samples
        .into_iter()
        .map(|(results, image, cols, values)| SampleRow {
            results,
            image,
            // by name: each folder's cells.csv has its own metadata columns
            values: sample_columns
                .iter()
                .map(|c| {
                    cols.iter()
                        .position(|x| x == c)
                        .and_then(|i| values.get(i).cloned())
                        .unwrap_or_default()
                })
                .collect(),
        })
        .collect();
    let stats = rows
        .iter()
        .map(|r| StatRow {
            metric: r.metric.clone(),
            comparison: format!("{} vs {}", r.group, r.control),
            unit: r.unit.name().into(),
            n: format!("{} vs {}", r.n_group, r.n_control),
            mean_group: format!("{} ± {}", sig(r.mean_group), sig(r.sem_group)),
            mean_control: format!("{} ± {}", sig(r.mean_control), sig(r.sem_control)),
            fold: sig(r.fold_change),
            test: format!("{} ({})", r.test.name(), r.method),
            statistic: sig(r.statistic),
            df: r.df.map(sig).unwrap_or_else(|| "–".into()),
            p: p_text(r.p),
            stars: r.stars.into(),
        })
        .collect();
    let page = Page {
        version: env!("CARGO_PKG_VERSION"),
        conditions: plot_order(ds, &req.control).join(", "),
        control: req.control.clone(),
        test: test_name(req.test).into(),
        unit: req.unit.name().into(),
        results,
        sample_columns,
        samples,
        params,
        stats,
        plots,
        qc,
    };
    let html = page
        .render()
        .map_err(|e| Error::invalid(format!("report.html: {e}")))?;
    write_file(&dir.join("report.html"), html.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_unit() {
        assert_eq!(
            metric_label("migrasome_diameter_um"),
            (
                "Migrasome diameter".into(),
                "mean migrasome diameter per cell (µm)".into()
            )
        );
        assert_eq!(
            metric_label("migrasome_mean_Tom20").1,
            "mean migrasome Tom20 intensity per cell (a.u.)"
        );
        assert_eq!(metric_label("area_um2").1, "body area (µm²)");
        assert_eq!(
            metric_label("Tom20_positive_count").0,
            "Tom20-positive migrasomes per cell"
        );
        assert_eq!(metric_label("migrasome_count").1, "migrasomes per cell");
        assert_eq!(metric_label("odd_thing").0, "Odd thing");
    }

    #[test]
    fn hrefs_are_relative_and_encoded() {
        let from = Path::new("/a/b/out");
        let to = Path::new("/a/res 1/images/x#1/qc/x_t0000_z000.png");
        assert_eq!(
            relative_href(from, to),
            "../../res%201/images/x%231/qc/x_t0000_z000.png"
        );
        assert_eq!(relative_href(Path::new("/a"), Path::new("/a/b")), "b");
    }

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(sig(10.6512), "10.65");
        assert_eq!(sig(0.28013), "0.2801");
        assert_eq!(sig(242.61), "242.6");
        assert_eq!(sig(2.0e-5), "2.000e-5");
        assert_eq!(p_text(5.209e-60), "5.209e-60");
        assert_eq!(p_text(0.0016870), "0.0017");
    }
}
