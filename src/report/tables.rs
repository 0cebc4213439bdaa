//! The analysis tables: `migrasomes.csv` (one row per migrasome), `cells.csv` (one row per
//! cell), `frames.csv` (one row per image and frame), and with an uptake channel
//! `uptake.csv` (one row per cell and frame: the per-cell uptake curve) and `frames.csv`'s
//! last column `uptake_puncta`, with the column contract of the `analyze` command. Positions
//! and sizes are converted from pixels to µm here.

use std::fs::File;
use std::path::Path;

use super::tracking::{CellRates, FrameIds};
use crate::error::{Error, Result};
use crate::pipeline::migrasome::FrameResult;

/// The tables, per image and combined.
pub const TABLES: [&str; 3] = ["migrasomes.csv", "cells.csv", "frames.csv"];
/// The uptake table (written with an uptake channel only), per image and combined.
pub const UPTAKE_TABLE: &str = "uptake.csv";
/// The candidates not counted, with the reason (the rejected QC picture as a table), per
/// image and combined.
pub const REJECTED_TABLE: &str = "rejected.csv";

/// `cells.csv` while the movie runs (its rate columns filled in at the end).
const CELLS_PART: &str = ".cells.part";

/// A channel name made safe for a CSV header or a file name (no commas, quotes or spaces).
/// The tables themselves keep the names as they are (quoted where CSV needs it).
pub fn column_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "ch".into() } else { s }
}

/// One table, written through the `csv` crate: fields with a comma, a quote or a line break
/// (an image or channel name) are quoted, quotes doubled (RFC 4180); `\n` ends a record.
struct Csv {
    path: std::path::PathBuf,
    out: csv::Writer<File>,
}

impl Csv {
    fn create(path: &Path, header: &[String]) -> Result<Csv> {
        let f = File::create(path).map_err(|e| Error::output(path, e))?;
        let mut c = Csv {
            path: path.to_path_buf(),
            out: csv::WriterBuilder::new().from_writer(f),
        };
        c.record(header)?;
        Ok(c)
    }
    fn create_raw(path: &Path) -> Result<Csv> {
        let f = File::create(path).map_err(|e| Error::output(path, e))?;
        Ok(Csv {
            path: path.to_path_buf(),
            out: csv::WriterBuilder::new().from_writer(f),
        })
    }
    fn record(&mut self, fields: &[String]) -> Result<()> {
        self.out
            .write_record(fields)
            .map_err(|e| Error::output(&self.path, e.into()))
    }
    fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::output(&self.path, e))
    }
}

/// Field lists from text pieces and numbers: `fields![a, "b", format!(..)]`.
macro_rules! fields {
    ($($x:expr),* $(,)?) => { vec![$($x.to_string()),*] };
}

/// The three CSV writers.
pub struct Tables {
    dir: std::path::PathBuf,
    migrasomes: Csv,
    cells: Csv,
    frames: Csv,
    /// `uptake.csv`, with an uptake channel.
    uptake: Option<Csv>,
    rejected: Csv,
    channels: Vec<String>,
    cargo: Vec<String>,
    /// The sample sheet's values of this image (`condition`, `replicate`, metadata).
    sample: Vec<String>,
}

impl Tables {
    /// `channels`: every channel name; `cargo`: names of the cargo channels;
    /// `sample_columns`/`sample`: the sample sheet's columns (`condition`, `replicate`,
    /// metadata) and this image's values, the last columns of `migrasomes.csv` and
    /// `cells.csv`; `uptake`: an uptake channel is analysed (`uptake.csv`, and
    /// `uptake_puncta` in `frames.csv`).
    pub fn create(
        dir: &Path,
        channels: &[String],
        cargo: &[String],
        sample_columns: &[String],
        sample: &[String],
        uptake: bool,
    ) -> Result<Tables> {
        let ch: Vec<String> = channels.to_vec();
        let cg: Vec<String> = cargo.to_vec();
        let mut mh = fields![
            "image",
            "frame",
            "z",
            "migrasome_id",
            "track_id",
            "cell_id",
            "x_um",
            "y_um",
            "area_um2",
            "diameter_um",
            "released"
        ];
        for c in &ch {
            mh.extend(fields![
                format!("mean_{c}"),
                format!("sum_{c}"),
                format!("max_{c}")
            ]);
        }
        mh.extend(cg.iter().map(|c| format!("{c}_positive")));
        for c in &cg {
            mh.extend(fields![
                format!("{c}_background_mean"),
                format!("{c}_background_sd")
            ]);
        }
        mh.extend(fields![
            "origin_cell_id",
            "fiber_contact",
            "fiber_contact_window",
            "persisted"
        ]);
        mh.extend(sample_columns.iter().cloned());
        let mut chh = fields![
            "image",
            "frame",
            "z",
            "cell_id",
            "x_um",
            "y_um",
            "area_um2",
            "migrasome_count",
            "released_count"
        ];
        chh.extend(cg.iter().map(|c| format!("{c}_positive_count")));
        chh.push("territory_area_um2".into());
        chh.extend(fields!["formation_per_h", "release_per_h"]);
        chh.extend(sample_columns.iter().cloned());
        let mut fh = fields![
            "image",
            "frame",
            "z",
            "cells",
            "migrasomes",
            "migrasomes_per_cell",
            "assigned",
            "released"
        ];
        fh.extend(cg.iter().map(|c| format!("{c}_positive_fraction")));
        fh.extend(fields![
            "threshold_nucleus",
            "threshold_body",
            "threshold_spot",
            "threshold_fiber",
            "spot_contrast",
            "spot_smooth_um"
        ]);
        if uptake {
            fh.push("uptake_puncta".into());
        }
        let uh = fields![
            "image",
            "frame",
            "z",
            "cell_id",
            "puncta_inside",
            "puncta_area_um2",
            "puncta_intensity_sum",
            "body_area_um2"
        ];
        let rh = fields![
            "image",
            "frame",
            "z",
            "x_um",
            "y_um",
            "area_um2",
            "diameter_um",
            "reason",
            "elongation",
            "tip_ratio"
        ];
        Ok(Tables {
            rejected: Csv::create(&dir.join(REJECTED_TABLE), &rh)?,
            uptake: if uptake {
                Some(Csv::create(&dir.join(UPTAKE_TABLE), &uh)?)
            } else {
                None
            },
            migrasomes: Csv::create(&dir.join(TABLES[0]), &mh)?,
            // the rates are known when the movie ends: the rows wait in a part file
            cells: Csv::create(&dir.join(CELLS_PART), &chh)?,
            dir: dir.to_path_buf(),
            frames: Csv::create(&dir.join(TABLES[2]), &fh)?,
            channels: ch,
            cargo: cg,
            sample: sample.to_vec(),
        })
    }

    /// Appends one frame's rows (per-image totals: `pipeline::migrasome::ImageTotals`).
    pub fn add(
        &mut self,
        image: &str,
        t: usize,
        z: usize,
        f: &FrameResult,
        ids: &FrameIds,
        pixel_um: f64,
    ) -> Result<()> {
        let a = pixel_um * pixel_um;
        for (i, m) in f.migrasomes.iter().enumerate() {
            let s = &m.stats;
            let opt = |v: Option<u32>| v.map(|x| x.to_string()).unwrap_or_default();
            let mut row = fields![
                image,
                t,
                z,
                m.id,
                opt(ids.track[i]),
                ids.cell_of_migrasome[i],
                format!("{:.4}", s.centroid_x * pixel_um),
                format!("{:.4}", s.centroid_y * pixel_um),
                format!("{:.4}", s.area as f64 * a),
                format!("{:.4}", s.equivalent_diameter() * pixel_um),
                m.released as u8
            ];
            for c in &s.channels {
                row.extend(fields![format!("{:.3}", c.mean), c.sum, c.max]);
            }
            row.extend(m.cargo.iter().map(|c| (c.positive as u8).to_string()));
            for c in &m.cargo {
                row.extend(fields![
                    format!("{:.3}", c.background.mean),
                    format!("{:.3}", c.background.sd)
                ]);
            }
            row.push(opt(ids.origin_cell[i]));
            row.push(
                m.fiber_contact
                    .map(|c| format!("{c:.3}"))
                    .unwrap_or_default(),
            );
            row.push(
                m.fiber_contact_window
                    .map(|c| format!("{c:.3}"))
                    .unwrap_or_default(),
            );
            row.push((m.persisted as u8).to_string());
            row.extend(self.sample.iter().cloned());
            self.migrasomes.record(&row)?;
        }
        for (i, c) in f.cells.iter().enumerate() {
            let mut row = fields![
                image,
                t,
                z,
                ids.cell[i],
                format!("{:.4}", c.x * pixel_um),
                format!("{:.4}", c.y * pixel_um),
                format!("{:.4}", c.body_area as f64 * a),
                c.migrasome_count,
                c.released_count
            ];
            row.extend(c.cargo_positive_count.iter().map(|k| k.to_string()));
            row.push(format!("{:.4}", c.territory_area as f64 * a));
            row.extend(fields!["", ""]);
            row.extend(self.sample.iter().cloned());
            self.cells.record(&row)?;
        }
        for r in &f.rejected {
            let s = &r.stats;
            let reason = serde_json::to_value(r.reason)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let row = fields![
                image,
                t,
                z,
                format!("{:.4}", s.centroid_x * pixel_um),
                format!("{:.4}", s.centroid_y * pixel_um),
                format!("{:.4}", s.area as f64 * a),
                format!("{:.4}", s.equivalent_diameter() * pixel_um),
                reason,
                format!("{:.3}", r.shape.elongation()),
                format!("{:.3}", r.shape.tip_ratio)
            ];
            self.rejected.record(&row)?;
        }
        let n_m = f.migrasomes.len();
        let assigned = f.migrasomes.iter().filter(|m| m.cell_id != 0).count();
        let released = f.migrasomes.iter().filter(|m| m.released).count();
        let per_cell = if f.cells.is_empty() {
            f64::NAN
        } else {
            assigned as f64 / f.cells.len() as f64
        };
        let mut row = fields![
            image,
            t,
            z,
            f.cells.len(),
            n_m,
            format!("{per_cell:.4}"),
            assigned,
            released
        ];
        for k in 0..self.cargo.len() {
            let pos = f.migrasomes.iter().filter(|m| m.cargo[k].positive).count();
            let frac = if n_m == 0 {
                f64::NAN
            } else {
                pos as f64 / n_m as f64
            };
            row.push(format!("{frac:.4}"));
        }
        let th = f.thresholds;
        row.extend(fields![th.nucleus, th.body, th.spot, th.fiber]);
        row.push(
            f.spot_contrast
                .map(|c| format!("{c:.3}"))
                .unwrap_or_default(),
        );
        row.push(format!("{:.4}", f.smooth_sigma_px * pixel_um));
        if let Some(u) = &mut self.uptake {
            let Some(fu) = &f.uptake else {
                return Err(Error::Gpu(format!(
                    "frame {t}: uptake channel analysed but no uptake result"
                )));
            };
            row.push(fu.inside().to_string());
            for ((c, cu), id) in f.cells.iter().zip(&fu.cells).zip(&ids.cell) {
                let cell_row = fields![
                    image,
                    t,
                    z,
                    id,
                    cu.puncta,
                    format!("{:.4}", cu.area as f64 * a),
                    cu.intensity_sum,
                    format!("{:.4}", c.body_area as f64 * a)
                ];
                u.record(&cell_row)?;
            }
        }
        self.frames.record(&row)?;
        Ok(())
    }

    /// Closes the tables; `cells.csv` gets each cell's formation and release rates per hour
    /// (`rates`, by z and cell id; empty where not given), streamed from its part file.
    pub fn finish(self, rates: &CellRates) -> Result<()> {
        let _ = self.channels;
        self.migrasomes.finish()?;
        self.cells.finish()?;
        self.frames.finish()?;
        self.rejected.finish()?;
        if let Some(u) = self.uptake {
            u.finish()?;
        }
        let part = self.dir.join(CELLS_PART);
        let dest = self.dir.join(TABLES[1]);
        let read = |e: csv::Error| Error::io(&part, e.into());
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(&part)
            .map_err(read)?;
        let mut w = Csv::create_raw(&dest)?;
        let n_sample = self.sample.len();
        let mut rec = csv::StringRecord::new();
        let mut first = true;
        while r.read_record(&mut rec).map_err(read)? {
            let n = rec.len();
            let at = n - n_sample - 2;
            let mut row: Vec<String> = rec.iter().map(String::from).collect();
            if !first {
                let z: usize = row[2].parse().unwrap_or(0);
                let id: u32 = row[3].parse().unwrap_or(0);
                let (f, rl) = rates.get(&(z, id)).copied().unwrap_or((None, None));
                let fmt = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
                row[at] = fmt(f);
                row[at + 1] = fmt(rl);
            }
            first = false;
            w.record(&row)?;
        }
        w.finish()?;
        std::fs::remove_file(&part).map_err(|e| Error::output(&part, e))
    }
}
