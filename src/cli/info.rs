//! `migrascope info FILE [--series N] [--json] [--stats] [--axes AXES]`: describe a stack.
//!
//! The JSON is a contract that later tooling parses: `shape` {t,c,z,y,x}, `dtype`,
//! `axes_source`, `pixel_size_um` {x,y,z or null}, `time_increment_s`, `channels`,
//! `compression`, `bigtiff`, `ome`, `imagej`, `pages`, `series` (plus `file`, `n_series`,
//! `metadata_source` {pixel_size, time_increment, channels: where each came from, or null});
//! with `--stats` also `pixel_min`, `pixel_max`, `pixel_sum` and `planes` [{t,c,z,min,max,sum}].
//! Integer sample types print integer statistics. All reading happens in `crate::io`.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::io::{OpenOptions, PlaneStats, StackInfo, StackReader};

#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    /// The TIFF file
    pub file: PathBuf,
    /// Series to describe (OME image / Micro-Manager position), 0-based
    #[arg(long, default_value_t = 0)]
    pub series: usize,
    /// Print JSON instead of a summary
    #[arg(long)]
    pub json: bool,
    /// Decode every plane and report min, max and sum per plane and over the series
    #[arg(long)]
    pub stats: bool,
    /// Axis order of a plain multi-page file, e.g. ZYX, TCYX or T20C2YX (sizes optional)
    #[arg(long)]
    pub axes: Option<String>,
    /// Decoder threads for --stats (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
}

/// A statistic as JSON: an integer for integer sample types, else a float (null if none).
fn num(v: f64, integer: bool) -> Value {
    if !v.is_finite() {
        Value::Null
    } else if integer && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// "  (from <source>)" or nothing.
fn from(source: &Option<String>) -> String {
    source
        .as_ref()
        .map_or(String::new(), |s| format!("  (from {s})"))
}

fn describe(info: &StackInfo) -> Value {
    let s = &info.shape;
    json!({
        "file": info.path.display().to_string(),
        "shape": {"t": s.t, "c": s.c, "z": s.z, "y": s.y, "x": s.x},
        "dtype": info.dtype.name(),
        "axes_source": info.axes_source,
        "pixel_size_um": {"x": info.pixel_size_um.x, "y": info.pixel_size_um.y, "z": info.pixel_size_um.z},
        "time_increment_s": info.time_increment_s,
        "channels": info.channels,
        "metadata_source": info.metadata_source,
        "compression": info.compression,
        "bigtiff": info.bigtiff,
        "ome": info.ome,
        "imagej": info.imagej,
        "pages": info.pages,
        "series": info.series,
        "n_series": info.n_series,
    })
}

fn stats(reader: &StackReader, threads: usize, out: &mut Value) -> crate::Result<PlaneStats> {
    let int = !reader.info().dtype.is_float();
    let planes = reader.info().shape.plane_indices();
    let mut total = PlaneStats::default();
    let mut rows = Vec::with_capacity(planes.len());
    for r in reader.stream(planes, threads, 2 * threads) {
        let (idx, plane) = r?;
        let st = PlaneStats::of(&plane);
        total.merge(&st);
        rows.push(json!({"t": idx.t, "c": idx.c, "z": idx.z,
            "min": num(st.min, int), "max": num(st.max, int), "sum": num(st.sum, int)}));
    }
    out["pixel_min"] = num(total.min, int);
    out["pixel_max"] = num(total.max, int);
    out["pixel_sum"] = num(total.sum, int);
    out["planes"] = Value::Array(rows);
    Ok(total)
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| {
        format!("{v:.6}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    })
}

fn summary(info: &StackInfo, st: Option<&PlaneStats>, n_planes: usize) -> String {
    let s = &info.shape;
    let mut kinds = vec![if info.bigtiff {
        "BigTIFF"
    } else {
        "classic TIFF"
    }];
    if info.ome {
        kinds.push("OME");
    }
    if info.imagej {
        kinds.push("ImageJ");
    }
    let px = &info.pixel_size_um;
    let channels: Vec<String> = (0..s.c)
        .map(|c| format!("{c}: {}", info.channel_name(c)))
        .collect();
    let mut out = format!(
        "file      {}\nseries    {} of {}\nshape     T={} C={} Z={} Y={} X={}  (axes from {})\ndtype     {}\n\
         pixel     x={} y={} z={} µm{}\ntime      {}{}\nchannels  {}{}\nstorage   {} pages, {}, {}\n",
        info.path.display(),
        info.series,
        info.n_series,
        s.t,
        s.c,
        s.z,
        s.y,
        s.x,
        info.axes_source,
        info.dtype,
        opt(px.x),
        opt(px.y),
        opt(px.z),
        from(&info.metadata_source.pixel_size),
        info.time_increment_s
            .map_or("-".into(), |t| format!("{} s per frame", opt(Some(t)))),
        from(&info.metadata_source.time_increment),
        channels.join(", "),
        from(&info.metadata_source.channels),
        info.pages,
        if info.compression == "none" {
            "uncompressed".to_string()
        } else {
            info.compression.clone()
        },
        kinds.join(", "),
    );
    if let Some(st) = st {
        out += &format!(
            "stats     min={} max={} sum={} over {n_planes} planes\n",
            st.min, st.max, st.sum
        );
    }
    out
}

pub fn run(a: InfoArgs) -> crate::Result<()> {
    let opts = OpenOptions {
        series: a.series,
        axes: a.axes.clone(),
    };
    let reader = StackReader::open(&a.file, &opts)?;
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let mut out = describe(reader.info());
    let st = if a.stats {
        Some(stats(&reader, threads, &mut out)?)
    } else {
        None
    };
    if a.json {
        println!("{out}");
    } else {
        print!(
            "{}",
            summary(reader.info(), st.as_ref(), reader.info().shape.planes())
        );
    }
    Ok(())
}
