//! `migrascope analyze` end to end: the bundled sample (every output, scored against its
//! truth), a small synthetic time-lapse, and clear errors for unusable input.

use std::process::Command;

use migrascope::evaluate::evaluate;

use crate::harness::{one_error_line, run_ok};

fn migrascope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_migrascope"))
}

/// The README's first command (with the results elsewhere): every output, and the counts of
/// the sample's ground truth.
#[test]
fn sample_runs_and_matches_its_truth() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    run_ok(
        migrascope()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["analyze", "--out"])
            .arg(&out),
    );
    for f in [
        "migrasomes.csv",
        "cells.csv",
        "frames.csv",
        "summary.json",
        "sample_migrasomes_cells.tif",
        "sample_migrasomes_migrasomes.tif",
        "qc/sample_migrasomes_t0000_z000.png",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "partial folder left behind");
    let truth = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample_truth");
    let r = evaluate(&truth, &out).unwrap();
    assert!(r.f1 >= 0.95, "F1 {}", r.f1);
    assert!(r.cell_count_mae <= 0.5, "MAE {}", r.cell_count_mae);
    assert!(r.cargo_accuracy.unwrap() >= 0.95);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["images"][0]["roles"]["nuclei"], "Hoechst");
    assert_eq!(summary["images"][0]["roles"]["cargo"][0], "Tom20");
    assert!(
        summary["parameters_um"]["migrasomes"]["diameter_max_um"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

/// A 2-frame senescent time-lapse from `synth`, analysed with two frames in flight.
#[test]
fn synthetic_time_lapse() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth");
    let res = dir.path().join("res");
    run_ok(migrascope().args(["synth", "--out"]).arg(&truth).args([
        "--seed",
        "77",
        "--frames",
        "2",
        "--cells",
        "3",
        "--size",
        "640",
        "--condition",
        "senescent",
    ]));
    run_ok(
        migrascope()
            .arg("analyze")
            .arg(truth.join("synth.ome.tif"))
            .arg("--out")
            .arg(&res)
            .args(["--qc-every", "0"]),
    );
    let r = evaluate(&truth, &res).unwrap();
    assert_eq!(r.frames, 2);
    assert!(r.f1 >= 0.95, "F1 {}", r.f1);
    assert!(r.cell_count_mae <= 0.5, "MAE {}", r.cell_count_mae);
}

fn one_line_error(args: &[&str], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = migrascope()
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .args(args)
        .arg("--out")
        .arg(dir.path().join("r"))
        .output()
        .unwrap();
    let line = one_error_line(&out);
    assert!(line.contains(needle), "{args:?}: {line}");
    assert!(
        !dir.path().join("r/migrasomes.csv").exists(),
        "half-written output"
    );
}

/// No pixel size in the file and none given: refuse to guess; bad channels and parameters
/// name themselves.
#[test]
fn unusable_input_is_one_clear_error() {
    let data = crate::parity::data_dir();
    let bbbc = data.join("bbbc022-3ch/IXMtest_A02_s9.tif");
    let bbbc = bbbc.to_str().unwrap();
    one_line_error(&["analyze", bbbc], "pixel size");
    one_line_error(
        &["analyze", bbbc, "--pixel-size", "0.3", "--cargo", "GFP"],
        "no channel named 'GFP'",
    );
    one_line_error(
        &[
            "analyze",
            bbbc,
            "--pixel-size",
            "0.3",
            "--set",
            "migrasomes.diameter_min_um=-1",
        ],
        "diameter_min_um",
    );
    one_line_error(&["analyze", "/nonexistent.tif"], "/nonexistent.tif");
}

/// The GPU commands print nothing but their one error line on bad input, even on a headless
/// machine without XDG_RUNTIME_DIR (no driver or windowing noise).
#[test]
fn particles_bad_input_is_exactly_one_line() {
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let out = migrascope()
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .args(["particles", readme, "--json"])
        .output()
        .unwrap();
    assert!(out.stdout.is_empty());
    let line = one_error_line(&out);
    assert!(line.contains("README.md"), "{line}");
}
