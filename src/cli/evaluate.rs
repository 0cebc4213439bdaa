//! `migrascope evaluate --truth DIR --results DIR [--json]`: scores `analyze` output against
//! `synth` ground truth and prints a table (or one JSON line). Rules live in
//! `crate::evaluate`.

use std::path::PathBuf;

use crate::error::Result;
use crate::evaluate::evaluate;

#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    /// Folder with truth_migrasomes.csv and truth_cells.csv (what `synth` writes); with
    /// truth_bodies.tif also the body scores; a movie truth (`synth --dynamics`: track_id,
    /// visible, truth_events.csv) also gets tracking and event scores
    #[arg(long)]
    pub truth: PathBuf,
    /// Folder with migrasomes.csv and cells.csv (what `analyze` writes); with
    /// images/<image>/<image>_bodies.tif (or <image>_bodies.tif) also the body Dice; tracking
    /// needs a track_id column in migrasomes.csv, event scores events.csv
    #[arg(long)]
    pub results: PathBuf,
    /// Print one JSON line instead of a table
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: EvaluateArgs) -> Result<()> {
    let report = evaluate(&args.truth, &args.results)?;
    if args.json {
        println!("{}", report.json_line());
    } else {
        println!(
            "evaluate: {} vs truth {}",
            args.results.display(),
            args.truth.display()
        );
        println!("{}", report.table());
    }
    Ok(())
}
