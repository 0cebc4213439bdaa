//! `migrascope compare`: conditions of `analyze` results against a control, per metric
//! (`stats::compare`). Prints a table (or `--json` lines); `--out DIR` writes `stats.csv`,
//! the plots (`plots/`) and `report.html` (`report::comparison`). No statistics here.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::report::AtomicFile;
use crate::report::comparison::{Request, p_text, write_plots, write_report};
use crate::stats::Test;
use crate::stats::compare::{Comparison, STATS_COLUMNS, Unit, compare, load};

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Results folders of `analyze --samples` (their cells.csv and migrasomes.csv)
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// Metric to compare, repeatable: a cells.csv column (migrasome_count, released_count,
    /// <cargo>_positive_count, area_um2, territory_area_um2) or migrasome_<column>, the
    /// per-cell mean of a migrasomes.csv column (migrasome_diameter_um, ...); default:
    /// migrasome_count, released_count, migrasome_diameter_um
    #[arg(long)]
    pub metric: Vec<String>,
    /// The control condition (default: the first condition of the results)
    #[arg(long)]
    pub control: Option<String>,
    /// The two-sided test
    #[arg(long, value_enum, default_value = "welch")]
    pub test: Test,
    /// What one value is: a cell, an image's mean or a replicate's mean of its cells
    #[arg(long, value_enum, default_value = "cell")]
    pub unit: Unit,
    /// Write DIR/stats.csv, DIR/plots/<metric>_<unit>.svg and .png (and <metric>_time.* for
    /// movies) and DIR/report.html (one self-contained page: open it in a browser)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// One JSON object per metric and condition on stdout instead of the table
    #[arg(long)]
    pub json: bool,
}

fn print_table(rows: &[Comparison]) {
    println!(
        "{:<24} {:<22} {:<9} {:>11} {:>20} {:>20} {:>8} {:>11} {:>8} {:>10} {:<5}",
        "metric",
        "group vs control",
        "unit",
        "n",
        "mean ± SEM (group)",
        "mean ± SEM (control)",
        "fold",
        "statistic",
        "df",
        "p",
        ""
    );
    for r in rows {
        println!(
            "{:<24} {:<22} {:<9} {:>11} {:>20} {:>20} {:>8.3} {:>11.4} {:>8} {:>10} {:<5}",
            r.metric,
            format!("{} vs {}", r.group, r.control),
            r.unit.name(),
            format!("{} vs {}", r.n_group, r.n_control),
            format!("{:.4} ± {:.4}", r.mean_group, r.sem_group),
            format!("{:.4} ± {:.4}", r.mean_control, r.sem_control),
            r.fold_change,
            r.statistic,
            r.df.map(|d| format!("{d:.2}"))
                .unwrap_or_else(|| "-".into()),
            p_text(r.p),
            r.stars
        );
    }
    if let Some(r) = rows.first() {
        let what = match r.test {
            Test::Student => "Student's t-test (pooled variance), t = group − control",
            Test::Welch => "Welch's t-test (Welch–Satterthwaite df), t = group − control",
            Test::MannWhitney => "Mann–Whitney U test, U of the group",
        };
        println!(
            "{what}; two-sided p; unit {} (n values per condition); ns > 0.05 ≥ * > 0.01 ≥ ** > \
             0.001 ≥ *** > 0.0001 ≥ ****",
            r.unit.name()
        );
    }
}

pub fn run(a: CompareArgs) -> Result<()> {
    let ds = load(&a.results)?;
    let rows = compare(&ds, &a.metric, a.control.as_deref(), a.test, a.unit)?;
    if a.json {
        for r in &rows {
            println!(
                "{}",
                serde_json::to_string(r).map_err(|e| Error::invalid(format!("json: {e}")))?
            );
        }
    } else {
        print_table(&rows);
    }
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
        let path = dir.join("stats.csv");
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        let csv_err = |e: csv::Error| Error::output(&path, e.into());
        w.write_record(STATS_COLUMNS).map_err(csv_err)?;
        for r in &rows {
            w.write_record(r.fields()).map_err(csv_err)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Error::output(&path, e.into_error()))?;
        let mut f = AtomicFile::create(&path)?;
        f.write_all(&bytes)?;
        f.commit()?;
        let req = Request {
            results: &a.results,
            control: rows.first().map(|r| r.control.clone()).unwrap_or_default(),
            test: a.test,
            unit: a.unit,
        };
        let plots = write_plots(dir, &ds, &rows, &req)?;
        write_report(dir, &ds, &rows, &req, &plots)?;
        eprintln!(
            "wrote {}: stats.csv, {} plots (SVG + PNG) in plots/, report.html",
            dir.display(),
            plots.len()
        );
    }
    Ok(())
}
