//! `evaluate` on results made from the truth itself (perfect scores) and on perturbed copies
//! whose TP/FP/FN, accuracies and count errors are known exactly; missing files and columns.

use std::path::Path;

use super::*;

/// A results row: what `analyze` would write for one migrasome.
#[derive(Clone, Debug)]
struct Det {
    frame: u64,
    x: f64,
    y: f64,
    released: bool,
    cargo: Vec<bool>,
}

#[derive(Clone, Debug)]
struct ResCell {
    frame: u64,
    id: u64,
    x: f64,
    y: f64,
    count: u64,
    released: u64,
    cargo: Vec<u64>,
}

const CARGO: [&str; 2] = ["Tom20", "IL6"];

/// Writes `migrasomes.csv` and `cells.csv` in the analyze contract (image named with its
/// suffix, extra measurement columns) into `dir`.
fn write_results(dir: &Path, dets: &[Det], cells: &[ResCell]) {
    let mut m =
        String::from("image,frame,z,migrasome_id,cell_id,x_um,y_um,area_um2,diameter_um,released");
    for ch in ["Hoechst", "WGA", "Tom20", "IL6"] {
        m += &format!(",mean_{ch},sum_{ch},max_{ch}");
    }
    for c in CARGO {
        m += &format!(",{c}_positive");
    }
    m.push('\n');
    for (i, d) in dets.iter().enumerate() {
        m += &format!(
            "synth.ome.tif,{},0,{},0,{:.4},{:.4},1.0,1.1,{}",
            d.frame,
            i + 1,
            d.x,
            d.y,
            u8::from(d.released)
        );
        m += &",1,2,3".repeat(4);
        for c in &d.cargo {
            m += if *c { ",1" } else { ",0" };
        }
        m.push('\n');
    }
    std::fs::write(dir.join("migrasomes.csv"), m).unwrap();
    let mut c =
        String::from("image,frame,z,cell_id,x_um,y_um,area_um2,migrasome_count,released_count");
    for n in CARGO {
        c += &format!(",{n}_positive_count");
    }
    c.push('\n');
    for r in cells {
        c += &format!(
            "synth,{},0,{},{:.4},{:.4},500,{},{}",
            r.frame, r.id, r.x, r.y, r.count, r.released
        );
        for n in &r.cargo {
            c += &format!(",{n}");
        }
        c.push('\n');
    }
    std::fs::write(dir.join("cells.csv"), c).unwrap();
}

/// The truth of `dir` as results rows.
fn truth_as_results(dir: &Path) -> (Vec<Det>, Vec<ResCell>, Vec<f64>) {
    let migs = rows(&dir.join("truth_migrasomes.csv"));
    let dets = migs
        .iter()
        .map(|m| Det {
            frame: f(m, "frame") as u64,
            x: f(m, "x_um"),
            y: f(m, "y_um"),
            released: m["released"] == "1",
            cargo: CARGO
                .iter()
                .map(|c| m[&format!("{c}_positive")] == "1")
                .collect(),
        })
        .collect();
    let radii = migs.iter().map(|m| 0.5 * f(m, "diameter_um")).collect();
    let cells = rows(&dir.join("truth_cells.csv"))
        .iter()
        .map(|c| ResCell {
            frame: f(c, "frame") as u64,
            id: f(c, "cell_id") as u64,
            x: f(c, "x_um"),
            y: f(c, "y_um"),
            count: f(c, "migrasome_count") as u64,
            released: f(c, "released_count") as u64,
            cargo: CARGO
                .iter()
                .map(|n| f(c, &format!("{n}_positive_count")) as u64)
                .collect(),
        })
        .collect();
    (dets, cells, radii)
}

fn truth_dir(seed: u64, frames: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        frames,
        condition: Condition::Senescent,
        ..small(seed)
    };
    generate(&cfg, dir.path()).unwrap();
    dir
}

#[test]
fn truth_against_itself_scores_perfectly() {
    let truth = truth_dir(11, 2);
    let res = tempfile::tempdir().unwrap();
    let (dets, cells, _) = truth_as_results(truth.path());
    write_results(res.path(), &dets, &cells);
    let r: Report = evaluate(truth.path(), res.path()).unwrap();
    assert_eq!((r.tp, r.fp, r.fn_), (dets.len(), 0, 0));
    assert_eq!((r.precision, r.recall, r.f1), (1.0, 1.0, 1.0));
    assert_eq!(r.cell_count_mae, 0.0);
    assert_eq!((r.cells_matched, r.cells_truth), (cells.len(), cells.len()));
    assert_eq!(r.cargo_accuracy, Some(1.0));
    assert_eq!(r.released_accuracy, Some(1.0));
    assert_eq!(r.frames, 2);
    assert!(
        r.per_cargo
            .iter()
            .all(|c| c.accuracy == Some(1.0) && c.positive_count_mae == 0.0)
    );
    let json: serde_json::Value = serde_json::from_str(&r.json_line()).unwrap();
    for k in [
        "tp",
        "fp",
        "fn",
        "precision",
        "recall",
        "f1",
        "cell_count_mae",
        "cells_matched",
        "cells_truth",
        "cargo_accuracy",
        "released_accuracy",
        "per_cargo",
    ] {
        assert!(json.get(k).is_some(), "JSON lacks {k}");
    }
}

#[test]
fn perturbed_results_give_the_exact_counts() {
    let truth = truth_dir(12, 1);
    let res = tempfile::tempdir().unwrap();
    let (mut dets, mut cells, radii) = truth_as_results(truth.path());
    let n = dets.len();
    assert!(n >= 12, "want a busy truth, got {n}");
    let tol = |i: usize| radii[i].max(1.0);
    // Shift two detections just beyond their own radius, where no other truth is in reach.
    let mut shifted = Vec::new();
    for i in 2..n {
        let (x, y) = (dets[i].x + tol(i) + 0.3, dets[i].y);
        let free = (0..n).all(|j| (dets[j].x - x).hypot(dets[j].y - y) > tol(j) + 0.05);
        if free {
            dets[i].x = x;
            shifted.push(i);
        }
        if shifted.len() == 2 {
            break;
        }
    }
    assert_eq!(shifted.len(), 2);
    // Flip flags on matched detections: released on one, Tom20 on two.
    let matched: Vec<usize> = (2..n).filter(|i| !shifted.contains(i)).collect();
    dets[matched[0]].released ^= true;
    dets[matched[1]].cargo[0] ^= true;
    dets[matched[2]].cargo[0] ^= true;
    // Three false detections at nucleus centroids (inside bodies, far from any migrasome).
    for c in cells.iter().take(3) {
        dets.push(Det {
            frame: 0,
            x: c.x,
            y: c.y,
            released: false,
            cargo: vec![false, false],
        });
    }
    let dets: Vec<Det> = dets.into_iter().skip(2).collect(); // drop the first two
    // Cells: drop cell 1, count two too many for cell 2, move cell 3 by 3 µm, add a stray.
    let dropped_count = cells[0].count as f64;
    cells[1].count += 2;
    cells[2].x += 3.0;
    cells.push(ResCell {
        frame: 0,
        id: 99,
        x: 1.0,
        y: 1.0,
        count: 5,
        released: 0,
        cargo: vec![0, 0],
    });
    let ncells = cells.len() - 1;
    let cells: Vec<ResCell> = cells.into_iter().skip(1).collect();
    write_results(res.path(), &dets, &cells);

    let r = evaluate(truth.path(), res.path()).unwrap();
    let tp = n - 4;
    assert_eq!((r.tp, r.fp, r.fn_), (tp, 5, 4));
    assert!((r.precision - tp as f64 / (tp + 5) as f64).abs() < 1e-12);
    assert!((r.recall - tp as f64 / n as f64).abs() < 1e-12);
    assert_eq!((r.cells_matched, r.cells_truth), (ncells - 1, ncells));
    assert!((r.cell_count_mae - (dropped_count + 2.0) / ncells as f64).abs() < 1e-12);
    assert!((r.released_accuracy.unwrap() - (tp - 1) as f64 / tp as f64).abs() < 1e-12);
    assert!((r.per_cargo[0].accuracy.unwrap() - (tp - 2) as f64 / tp as f64).abs() < 1e-12);
    assert_eq!(r.per_cargo[1].accuracy, Some(1.0));
    assert!((r.cargo_accuracy.unwrap() - (2 * tp - 2) as f64 / (2 * tp) as f64).abs() < 1e-12);
}

#[test]
fn missing_files_and_columns_are_named() {
    let truth = truth_dir(13, 1);
    let res = tempfile::tempdir().unwrap();
    let (dets, cells, _) = truth_as_results(truth.path());
    write_results(res.path(), &dets, &cells);
    std::fs::remove_file(res.path().join("cells.csv")).unwrap();
    let e = evaluate(truth.path(), res.path()).unwrap_err().to_string();
    assert!(e.contains("cells.csv"), "{e}");

    write_results(res.path(), &dets, &cells);
    let m = std::fs::read_to_string(res.path().join("migrasomes.csv")).unwrap();
    std::fs::write(
        res.path().join("migrasomes.csv"),
        m.replacen("IL6_positive", "IL6_pos", 1),
    )
    .unwrap();
    let e = evaluate(truth.path(), res.path()).unwrap_err().to_string();
    assert!(
        e.contains("migrasomes.csv") && e.contains("'IL6_positive'"),
        "{e}"
    );

    std::fs::write(
        res.path().join("migrasomes.csv"),
        m.replacen(",0,", ",zero,", 1),
    )
    .unwrap();
    let e = evaluate(truth.path(), res.path()).unwrap_err().to_string();
    assert!(e.contains("line 2") && e.contains("'frame'"), "{e}");
}

/// Writes a contrast-stretched PNG of a default young frame's membrane channel to
/// `/tmp/synth_preview.png` (run with `--ignored` to look at the model).
#[test]
#[ignore]
fn synth_preview_png() {
    let dir = tempfile::tempdir().unwrap();
    generate(&SynthConfig::default(), dir.path()).unwrap();
    let r = StackReader::open(&dir.path().join("synth.ome.tif"), &OpenOptions::default()).unwrap();
    let PlaneData::U16(v) = r.read_plane(PlaneIndex { t: 0, c: 1, z: 0 }).unwrap().data else {
        panic!("not uint16")
    };
    let mut s = v.clone();
    s.sort_unstable();
    let (lo, hi) = (
        s[s.len() / 200] as f64,
        s[s.len() - s.len() / 500 - 1] as f64,
    );
    let px: Vec<u8> = v
        .iter()
        .map(|&x| (((x as f64 - lo) / (hi - lo)).clamp(0.0, 1.0).powf(0.6) * 255.0) as u8)
        .collect();
    let n = r.info().shape.x as u32;
    image::GrayImage::from_raw(n, n, px)
        .unwrap()
        .save("/tmp/synth_preview.png")
        .unwrap();
}

/// Writes a one-frame uint16 label stack of `n`² px at `px` µm, label 1 on `rows` × `cols`.
fn write_square(
    path: &Path,
    n: usize,
    px: f64,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) {
    let mut v = vec![0u32; n * n];
    for i in rows {
        for j in cols.clone() {
            v[i * n + j] = 1;
        }
    }
    let spec = migrascope::io::WriteSpec {
        shape: migrascope::io::Shape {
            t: 1,
            c: 1,
            z: 1,
            y: n,
            x: n,
        },
        pixel_size_um: migrascope::io::PixelSize {
            x: Some(px),
            y: Some(px),
            z: None,
        },
        time_increment_s: None,
        channels: vec![],
    };
    migrascope::io::write_labels(path, &spec, [v]).unwrap();
}

#[test]
fn synth_eval_body_dice_and_false_positives_near_bodies() {
    let truth = truth_dir(14, 1);
    let res = tempfile::tempdir().unwrap();
    let (mut dets, cells, _) = truth_as_results(truth.path());
    let (n, px) = (512, 0.2);
    // A 100 x 100 px truth body (20 µm) where no truth migrasome is within 8 µm of it.
    let far = |x: f64, y: f64| dets.iter().all(|d| (d.x - x).hypot(d.y - y) > 8.0);
    let (r0, c0) = (0..40)
        .flat_map(|a| (0..40).map(move |b| (a * 10, b * 10)))
        .find(|&(r0, c0)| {
            (0..=10).all(|i| {
                (0..=10).all(|j| far((c0 + 10 * j) as f64 * px, (r0 + 10 * i) as f64 * px))
            }) && r0 + 150 < n
                && c0 + 115 < n
        })
        .expect("a free square");
    write_square(
        &truth.path().join("truth_bodies.tif"),
        n,
        px,
        r0..r0 + 100,
        c0..c0 + 100,
    );
    // The predicted body: the same square moved down by half its height.
    write_square(
        &res.path().join("synth_bodies.tif"),
        n,
        px,
        r0 + 50..r0 + 150,
        c0..c0 + 100,
    );
    // Four false positives (row r0 + 50): inside the body, 1.8 µm and 2.2 µm right of its
    // last column, and in the middle of nowhere (the square's far corner is free).
    let row = (r0 + 50) as f64 * px;
    let last = (c0 + 99) as f64 * px;
    for x in [(c0 + 50) as f64 * px, last + 1.8, last + 2.2] {
        dets.push(Det {
            frame: 0,
            x,
            y: row,
            released: false,
            cargo: vec![false, false],
        });
    }
    let ncells = cells.len();
    write_results(res.path(), &dets, &cells);
    let r = evaluate(truth.path(), res.path()).unwrap();
    assert_eq!(r.fp, 3);
    assert_eq!(r.body_dice, Some(0.5));
    assert_eq!(r.fp_near_body, Some(2));
    assert_eq!(r.fp_near_body_per_cell, Some(2.0 / ncells as f64));
    assert!(r.table().contains("Dice 0.500"), "{}", r.table());
    let json: serde_json::Value = serde_json::from_str(&r.json_line()).unwrap();
    assert_eq!(json["body_dice"], 0.5);
    assert_eq!(json["fp_near_body"], 2);

    // Without predicted bodies: no Dice, the near-body count stays.
    std::fs::remove_file(res.path().join("synth_bodies.tif")).unwrap();
    let r = evaluate(truth.path(), res.path()).unwrap();
    assert_eq!((r.body_dice, r.fp_near_body), (None, Some(2)));
    // A prediction of the wrong size is refused, naming the file.
    write_square(&res.path().join("synth_bodies.tif"), 256, px, 0..10, 0..10);
    let e = evaluate(truth.path(), res.path()).unwrap_err().to_string();
    assert!(e.contains("synth_bodies.tif"), "{e}");
    // Without truth bodies: neither, and the other scores do not change.
    let before = r;
    std::fs::remove_file(truth.path().join("truth_bodies.tif")).unwrap();
    let r = evaluate(truth.path(), res.path()).unwrap();
    assert_eq!(
        (r.body_dice, r.fp_near_body, r.fp_near_body_per_cell),
        (None, None, None)
    );
    assert_eq!(
        (r.tp, r.fp, r.fn_, r.f1),
        (before.tp, before.fp, before.fn_, before.f1)
    );
}

#[test]
fn synth_eval_truth_bodies_against_themselves_score_one() {
    let truth = truth_dir(15, 2);
    let res = tempfile::tempdir().unwrap();
    let (dets, cells, _) = truth_as_results(truth.path());
    write_results(res.path(), &dets, &cells);
    std::fs::copy(
        truth.path().join("truth_bodies.tif"),
        res.path().join("synth_bodies.tif"),
    )
    .unwrap();
    let r = evaluate(truth.path(), res.path()).unwrap();
    assert_eq!(r.body_dice, Some(1.0));
    assert_eq!(
        (r.fp, r.fp_near_body, r.fp_near_body_per_cell),
        (0, Some(0), Some(0.0))
    );
}
