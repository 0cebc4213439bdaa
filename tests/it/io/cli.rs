//! `migrascope info`: the JSON contract later tooling parses, the human summary, and bad files
//! ending in one line on stderr with a non-zero exit (never a panic).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use super::data_dir;

fn info(args: &[&str], file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_migrascope"))
        .arg("info")
        .args(args)
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn json_contract_with_stats() {
    let f = data_dir().join("bbbc022-3ch/IXMtest_A02_s9.tif");
    let out = info(&["--json", "--stats"], &f);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "shape",
        "dtype",
        "axes_source",
        "pixel_size_um",
        "time_increment_s",
        "channels",
        "compression",
        "bigtiff",
        "ome",
        "imagej",
        "pages",
        "series",
        "pixel_min",
        "pixel_max",
        "pixel_sum",
        "planes",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(
        v["shape"],
        serde_json::json!({"t": 1, "c": 3, "z": 1, "y": 395, "x": 695})
    );
    assert_eq!(v["dtype"], "uint16");
    assert_eq!(
        v["pixel_size_um"],
        serde_json::json!({"x": null, "y": null, "z": null})
    );
    assert_eq!(
        (v["pixel_min"].as_u64(), v["pixel_max"].as_u64()),
        (Some(135), Some(4095))
    );
    assert_eq!(v["pixel_sum"].as_u64(), Some(203_484_740)); // reference.json
    let planes = v["planes"].as_array().unwrap();
    assert_eq!(planes.len(), 3);
    let sum: u64 = planes.iter().map(|p| p["sum"].as_u64().unwrap()).sum();
    assert_eq!(sum, 203_484_740);
    assert_eq!(planes[2]["c"], 2);
    // Without --stats there are no statistics.
    let v: Value = serde_json::from_slice(&info(&["--json"], &f).stdout).unwrap();
    assert!(v.get("planes").is_none() && v["series"] == 0);
}

#[test]
fn human_summary_and_series_selection() {
    let f =
        data_dir().join("mm-multipos-timecourse/181003_multi_pos_time_course_1_MMStack.ome.tif");
    let out = info(&["--series", "1"], &f);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "series    1 of 2",
        "T=10 C=1 Z=1 Y=256 X=256",
        "x=5.2304 y=5.2304 z=- µm",
        "5 s per frame",
        "0: Default",
    ] {
        assert!(text.contains(want), "'{want}' in:\n{text}");
    }
    let v: Value =
        serde_json::from_slice(&info(&["--json", "--axes", "T20YX"], &f).stdout).unwrap();
    assert_eq!(
        (v["axes_source"].as_str(), v["shape"]["t"].as_u64()),
        (Some("override"), Some(20))
    );
}

#[test]
fn bad_files_exit_non_zero_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(data_dir().join("tiff-conformance-seq/seq-1c-16b-lzw-68f373a0.tiff"))
        .unwrap();
    let mut past_end = good.clone();
    past_end[4..8].copy_from_slice(&(good.len() as u32 + 100).to_le_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("text.tif", b"hello".to_vec()),
        ("truncated.tif", good[..good.len() / 2].to_vec()),
        ("past_end.tif", past_end),
        ("empty.tif", Vec::new()),
    ];
    for (name, bytes) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        for args in [&[][..], &["--json", "--stats"][..]] {
            let out = info(args, &p);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{name}: {err}"); // unreadable input
            assert!(!err.contains("panicked"), "{name}: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{name}: {err}");
            assert!(
                err.starts_with(&format!("migrascope: {}: ", p.display())),
                "{name}: {err}"
            );
            assert!(out.stdout.is_empty(), "{name}");
        }
    }
}
