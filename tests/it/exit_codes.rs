//! Exit codes (README, Commands): 2 usage or configuration, 3 unreadable or unsupported
//! input, 4 no usable GPU, 5 output not written; each with one error line and no partial
//! output left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::fails_with;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/sample_migrasomes.ome.tif"
);

fn migrascope(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_migrascope"));
    c.env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .env_remove("MIGRASCOPE_BACKEND")
        .env_remove("MIGRASCOPE_DEVICE")
        .args(args);
    c
}

fn analyze(out: &Path, args: &[&str]) -> Output {
    migrascope(&["analyze", "--qc-every", "0"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// Files and folders under `dir`, recursively (hidden ones too).
fn everything(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            out.push(e.path());
            out.extend(everything(&e.path()));
        }
    }
    out
}

#[test]
fn bad_configuration_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let bad_toml = dir.path().join("bad.toml");
    std::fs::write(&bad_toml, "[migrasomes\ndiameter_min_um = 0.5\n").unwrap();
    let unknown = dir.path().join("unknown.toml");
    std::fs::write(&unknown, "[nosuchsection]\nx = 1\n").unwrap();
    let missing = dir.path().join("missing.toml");
    for (args, needle) in [
        (vec!["--config", bad_toml.to_str().unwrap()], "bad.toml"),
        (
            vec!["--config", unknown.to_str().unwrap()],
            "unknown section",
        ),
        (vec!["--config", missing.to_str().unwrap()], "missing.toml"),
        (vec!["--set", "nosuchsection.x=1"], "--set"),
        (
            vec!["--set", "migrasomes.diameter_min_um=-1"],
            "diameter_min_um",
        ),
        (vec!["--set", "no-equals-sign"], "--set"),
    ] {
        let line = fails_with(&analyze(&out, &[&[SAMPLE][..], &args].concat()), 2);
        assert!(line.contains(needle), "{args:?}: {line}");
        assert!(!out.exists(), "{args:?}: output folder made");
    }
    // clap's own usage errors exit 2 too (its message is several lines)
    let o = migrascope(&["analyze", "--no-such-flag"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = migrascope(&["particles", SAMPLE, "--backend", "nosuch"])
        .output()
        .unwrap();
    let line = fails_with(&o, 2);
    assert!(line.contains("unknown backend"), "{line}");
}

#[test]
fn unreadable_input_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(SAMPLE).unwrap();
    let cut = dir.path().join("cut.ome.tif");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.path().join("r");
    let line = fails_with(&analyze(&out, &[cut.to_str().unwrap()]), 3);
    assert!(line.contains("cut.ome.tif"), "{line}");
    assert!(!out.join("migrasomes.csv").exists(), "half-written output");
    assert!(
        everything(&out)
            .iter()
            .all(|p| !p.to_string_lossy().contains(".partial")),
        "partial folder left"
    );
    let missing = dir.path().join("nonexistent.tif");
    fails_with(&analyze(&out, &[missing.to_str().unwrap()]), 3);
    for cmd in ["info", "particles"] {
        let o = migrascope(&[cmd, cut.to_str().unwrap()]).output().unwrap();
        assert!(fails_with(&o, 3).contains("cut.ome.tif"), "{cmd}");
    }
}

/// `--out` below a regular file cannot be made: exit 5, the file untouched, nothing written
/// next to it; likewise `synth --out` and `particles --csv/--labels` there.
#[test]
fn unwritable_output_exits_5_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "mine").unwrap();
    let out = file.join("results");
    let line = fails_with(&analyze(&out, &[SAMPLE]), 5);
    assert!(line.contains("a-file"), "{line}");
    let csv = file.join("p.csv");
    let labels = file.join("p.tif");
    let blobs = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/blobs.tif");
    for args in [
        vec![
            "synth",
            "--out",
            out.to_str().unwrap(),
            "--cells",
            "1",
            "--size",
            "256",
        ],
        vec!["particles", blobs, "--csv", csv.to_str().unwrap()],
        vec!["particles", blobs, "--labels", labels.to_str().unwrap()],
    ] {
        let o = migrascope(&args).output().unwrap();
        assert!(fails_with(&o, 5).contains("a-file"), "{args:?}");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    assert_eq!(everything(dir.path()), vec![file.clone()], "left behind");
}

/// A results folder whose `cells.csv` is a folder: the run refuses before it writes anything
/// (exit 5), and leaves the folder as it was.
#[test]
fn output_that_cannot_be_moved_into_place_exits_5() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    std::fs::create_dir_all(out.join("cells.csv/inside")).unwrap();
    let line = fails_with(&analyze(&out, &[SAMPLE]), 5);
    assert!(
        line.contains("cells.csv") && line.contains("in the way"),
        "{line}"
    );
    assert_eq!(
        everything(&out),
        vec![out.join("cells.csv"), out.join("cells.csv/inside")],
        "the failed run moved or left files"
    );
}

#[test]
fn no_adapter_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let o = migrascope(&["analyze", SAMPLE, "--out", out.to_str().unwrap()])
        .env("MIGRASCOPE_BACKEND", "dx12")
        .output()
        .unwrap();
    let line = fails_with(&o, 4);
    assert!(line.contains("no GPU adapter"), "{line}");
    let o = migrascope(&[
        "particles",
        SAMPLE,
        "--device",
        "nonexistent-device",
        "--json",
    ])
    .output()
    .unwrap();
    let line = fails_with(&o, 4);
    assert!(line.contains("nonexistent-device"), "{line}");
    assert!(o.stdout.is_empty());
    assert!(!out.exists(), "output folder made");
}
