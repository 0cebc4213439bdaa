//! The analysis tables: `migrasomes.csv` (one row per migrasome), `cells.csv` (one row per
//! cell), `frames.csv` (one row per image and frame), with the column contract of the
//! `analyze` command. Positions and sizes are converted from pixels to µm here.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::pipeline::migrasome::FrameResult;

/// A channel name made safe for a CSV header (no commas, quotes or spaces).
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

struct Csv {
    path: std::path::PathBuf,
    out: BufWriter<File>,
}

impl Csv {
    fn create(path: &Path, header: &str) -> Result<Csv> {
        let f = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut c = Csv {
            path: path.to_path_buf(),
            out: BufWriter::new(f),
        };
        c.line(header)?;
        Ok(c)
    }
    fn line(&mut self, s: &str) -> Result<()> {
        writeln!(self.out, "{s}").map_err(|e| Error::io(&self.path, e))
    }
    fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}

/// The three CSV writers.
pub struct Tables {
    migrasomes: Csv,
    cells: Csv,
    frames: Csv,
    channels: Vec<String>,
    cargo: Vec<String>,
}

impl Tables {
    /// `channels`: every channel name; `cargo`: names of the cargo channels.
    pub fn create(dir: &Path, channels: &[String], cargo: &[String]) -> Result<Tables> {
        let ch: Vec<String> = channels.iter().map(|c| column_name(c)).collect();
        let cg: Vec<String> = cargo.iter().map(|c| column_name(c)).collect();
        let mut mh = String::from(
            "image,frame,z,migrasome_id,cell_id,x_um,y_um,area_um2,diameter_um,released",
        );
        for c in &ch {
            mh.push_str(&format!(",mean_{c},sum_{c},max_{c}"));
        }
        for c in &cg {
            mh.push_str(&format!(",{c}_positive"));
        }
        for c in &cg {
            mh.push_str(&format!(",{c}_background_mean,{c}_background_sd"));
        }
        let mut chh =
            String::from("image,frame,z,cell_id,x_um,y_um,area_um2,migrasome_count,released_count");
        for c in &cg {
            chh.push_str(&format!(",{c}_positive_count"));
        }
        chh.push_str(",territory_area_um2");
        let mut fh =
            String::from("image,frame,z,cells,migrasomes,migrasomes_per_cell,assigned,released");
        for c in &cg {
            fh.push_str(&format!(",{c}_positive_fraction"));
        }
        fh.push_str(",threshold_nucleus,threshold_body,threshold_spot,threshold_fiber");
        Ok(Tables {
            migrasomes: Csv::create(&dir.join("migrasomes.csv"), &mh)?,
            cells: Csv::create(&dir.join("cells.csv"), &chh)?,
            frames: Csv::create(&dir.join("frames.csv"), &fh)?,
            channels: ch,
            cargo: cg,
        })
    }

    /// Appends one frame's rows (per-image totals: `pipeline::migrasome::ImageTotals`).
    pub fn add(
        &mut self,
        image: &str,
        t: usize,
        z: usize,
        f: &FrameResult,
        pixel_um: f64,
    ) -> Result<()> {
        let a = pixel_um * pixel_um;
        for m in &f.migrasomes {
            let s = &m.stats;
            let mut row = format!(
                "{image},{t},{z},{},{},{:.4},{:.4},{:.4},{:.4},{}",
                m.id,
                m.cell_id,
                s.centroid_x * pixel_um,
                s.centroid_y * pixel_um,
                s.area as f64 * a,
                s.equivalent_diameter() * pixel_um,
                m.released as u8
            );
            for c in &s.channels {
                row.push_str(&format!(",{:.3},{},{}", c.mean, c.sum, c.max));
            }
            for c in &m.cargo {
                row.push_str(&format!(",{}", c.0 as u8));
            }
            for c in &m.cargo {
                row.push_str(&format!(",{:.3},{:.3}", c.1, c.2));
            }
            self.migrasomes.line(&row)?;
        }
        for c in &f.cells {
            let mut row = format!(
                "{image},{t},{z},{},{:.4},{:.4},{:.4},{},{}",
                c.id,
                c.x * pixel_um,
                c.y * pixel_um,
                c.body_area as f64 * a,
                c.migrasome_count,
                c.released_count
            );
            for k in &c.cargo_positive_count {
                row.push_str(&format!(",{k}"));
            }
            row.push_str(&format!(",{:.4}", c.territory_area as f64 * a));
            self.cells.line(&row)?;
        }
        let n_m = f.migrasomes.len();
        let assigned = f.migrasomes.iter().filter(|m| m.cell_id != 0).count();
        let released = f.migrasomes.iter().filter(|m| m.released).count();
        let per_cell = if f.cells.is_empty() {
            f64::NAN
        } else {
            assigned as f64 / f.cells.len() as f64
        };
        let mut row = format!(
            "{image},{t},{z},{},{n_m},{per_cell:.4},{assigned},{released}",
            f.cells.len()
        );
        for k in 0..self.cargo.len() {
            let pos = f.migrasomes.iter().filter(|m| m.cargo[k].0).count();
            let frac = if n_m == 0 {
                f64::NAN
            } else {
                pos as f64 / n_m as f64
            };
            row.push_str(&format!(",{frac:.4}"));
        }
        let th = f.thresholds;
        row.push_str(&format!(
            ",{},{},{},{}",
            th.nucleus, th.body, th.spot, th.fiber
        ));
        self.frames.line(&row)?;
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        let _ = self.channels;
        self.migrasomes.finish()?;
        self.cells.finish()?;
        self.frames.finish()
    }
}
