//! The sample sheet of `analyze --samples`: a CSV with the columns `file`, `condition`,
//! `replicate` and any more (metadata), one row per input. Every input must have a row; its
//! condition, replicate and metadata are carried into every row of `cells.csv` and
//! `migrasomes.csv` (columns `condition`, `replicate`, then the metadata columns, last).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::evaluate::table::Table;

/// The columns every table ends with, without a sample sheet (then empty).
pub const SAMPLE_COLUMNS: [&str; 2] = ["condition", "replicate"];

/// A parsed sample sheet.
#[derive(Debug, Clone)]
pub struct SampleSheet {
    pub path: PathBuf,
    /// `condition`, `replicate`, then the metadata columns in the sheet's order.
    pub columns: Vec<String>,
    /// (line, file as written, values in the order of `columns`)
    pub rows: Vec<(usize, String, Vec<String>)>,
}

/// The sample values of each input (in the order of `columns`).
#[derive(Debug, Clone)]
pub struct Samples {
    pub columns: Vec<String>,
    /// One per input, in the order of the inputs.
    pub values: Vec<Vec<String>>,
}

impl Samples {
    /// No sheet: `condition` and `replicate` empty for every input.
    pub fn none(inputs: usize) -> Samples {
        Samples {
            columns: SAMPLE_COLUMNS.map(String::from).to_vec(),
            values: vec![vec![String::new(); 2]; inputs],
        }
    }
}

impl SampleSheet {
    /// Reads `path`; errors name the file, the line or column and why.
    pub fn read(path: &Path) -> Result<SampleSheet> {
        let t = Table::read(path)?;
        let file = t.col("file")?;
        let cond = t.col("condition")?;
        let rep = t.col("replicate")?;
        let mut order = vec![cond, rep];
        for (i, h) in t.header.iter().enumerate() {
            if h.is_empty() {
                return Err(Error::format(
                    path,
                    "header",
                    format!("column {} has no name", i + 1),
                ));
            }
            if t.header[..i].contains(h) {
                return Err(Error::format(path, "header", format!("column '{h}' twice")));
            }
            if ![file, cond, rep].contains(&i) {
                order.push(i);
            }
        }
        let columns: Vec<String> = order.iter().map(|&i| t.header[i].clone()).collect();
        let mut rows = Vec::new();
        for (r, (line, fields)) in t.rows.iter().enumerate() {
            let f = t.text(r, file).trim().to_string();
            if f.is_empty() {
                return Err(Error::format(path, format!("line {line}"), "no file"));
            }
            if t.text(r, cond).trim().is_empty() {
                return Err(Error::format(
                    path,
                    format!("line {line}"),
                    format!("no condition for '{f}'"),
                ));
            }
            let values = order
                .iter()
                .map(|&i| fields[i].trim().to_string())
                .collect();
            rows.push((*line, f, values));
        }
        Ok(SampleSheet {
            path: path.to_path_buf(),
            columns,
            rows,
        })
    }

    /// The row of each input: the same path as given, else the same file (canonical paths;
    /// the sheet's relative paths from the working folder or from the sheet's folder), else
    /// the only row with the same file name. An input without a row is an error naming it.
    pub fn match_inputs(&self, inputs: &[PathBuf]) -> Result<Samples> {
        let base = self.path.parent().unwrap_or(Path::new(""));
        let canon: Vec<Vec<PathBuf>> = self
            .rows
            .iter()
            .map(|(_, f, _)| {
                let p = Path::new(f);
                [p.to_path_buf(), base.join(p)]
                    .iter()
                    .filter_map(|q| q.canonicalize().ok())
                    .collect()
            })
            .collect();
        let mut values = Vec::with_capacity(inputs.len());
        for input in inputs {
            let by_path = self.rows.iter().position(|(_, f, _)| Path::new(f) == input);
            let by_canon = || {
                let c = input.canonicalize().ok()?;
                canon.iter().position(|cs| cs.contains(&c))
            };
            let by_name = || -> Result<Option<usize>> {
                let Some(name) = input.file_name() else {
                    return Ok(None);
                };
                let hits: Vec<usize> = (0..self.rows.len())
                    .filter(|&i| Path::new(&self.rows[i].1).file_name() == Some(name))
                    .collect();
                match hits.as_slice() {
                    [] => Ok(None),
                    [i] => Ok(Some(*i)),
                    many => Err(Error::format(
                        &self.path,
                        format!("lines {}", join(many.iter().map(|&i| self.rows[i].0))),
                        format!(
                            "{} rows name a file '{}': write its path to tell them apart",
                            many.len(),
                            name.to_string_lossy()
                        ),
                    )),
                }
            };
            let row = match by_path.or_else(by_canon) {
                Some(i) => i,
                None => by_name()?.ok_or_else(|| {
                    Error::invalid(format!(
                        "{}: not in the sample sheet {} (add a row with its file, condition \
                         and replicate)",
                        input.display(),
                        self.path.display()
                    ))
                })?,
            };
            values.push(self.rows[row].2.clone());
        }
        Ok(Samples {
            columns: self.columns.clone(),
            values,
        })
    }
}

fn join(v: impl Iterator<Item = usize>) -> String {
    v.map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}
