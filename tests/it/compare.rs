//! Statistics against scipy (`tests/stats/reference.json`, made by
//! `make_reference.py` beside it) and the `compare` command on real `analyze` results.

use std::path::Path;
use std::process::{Command, Output};

use crate::harness::{fails_with, run_ok};

use migrascope::stats::{Test, UMethod, mann_whitney_u, stars, student_t, welch_t};

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stats/reference.json");

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
    }
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Every case of the reference: statistic, df and p within 1e-9 relative of scipy's, the same
/// stars; p reaches down to ~1e-15.
#[test]
fn tests_match_scipy_to_1e9_relative() {
    let text = std::fs::read_to_string(REFERENCE).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["scipy"].as_str(), Some("1.10.1"));
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() > 300, "{} cases", cases.len());
    let (mut min_p, mut seen) = (1.0f64, std::collections::BTreeMap::new());
    let mut worst = 0.0f64;
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let test = c["test"].as_str().unwrap();
        let method = c["method"].as_str().unwrap();
        let (a, b) = (floats(&c["a"]), floats(&c["b"]));
        let r = match (test, method) {
            ("student", _) => student_t(&a, &b),
            ("welch", _) => welch_t(&a, &b),
            ("mannwhitney", "auto") => mann_whitney_u(&a, &b, UMethod::Auto),
            ("mannwhitney", "exact") => mann_whitney_u(&a, &b, UMethod::Exact),
            ("mannwhitney", "asymptotic") => mann_whitney_u(&a, &b, UMethod::Asymptotic),
            other => panic!("unknown case kind {other:?}"),
        };
        let want_stat = c["statistic"].as_f64().unwrap();
        let want_p = c["p"].as_f64().unwrap();
        let what = format!("{test}/{method} {name}");
        let e = rel(r.statistic, want_stat);
        assert!(
            e <= 1e-9,
            "{what}: statistic {} vs {want_stat}",
            r.statistic
        );
        worst = worst.max(e);
        let e = rel(r.p, want_p);
        assert!(e <= 1e-9, "{what}: p {:e} vs {want_p:e} ({e:e})", r.p);
        worst = worst.max(e);
        match c["df"].as_f64() {
            Some(df) => {
                let e = rel(r.df, df);
                assert!(e <= 1e-9, "{what}: df {} vs {df}", r.df);
                worst = worst.max(e);
            }
            None => assert!(r.df.is_nan(), "{what}: df {}", r.df),
        }
        assert_eq!(stars(r.p), c["stars"].as_str().unwrap(), "{what}");
        min_p = min_p.min(want_p);
        *seen.entry(format!("{test}/{method}")).or_insert(0) += 1;
    }
    assert!(min_p < 3e-15, "smallest p {min_p:e}");
    for kind in [
        "student/",
        "welch/",
        "mannwhitney/auto",
        "mannwhitney/exact",
        "mannwhitney/asymptotic",
    ] {
        assert!(
            seen.get(kind).copied().unwrap_or(0) >= 10,
            "{kind}: {seen:?}"
        );
    }
    eprintln!("worst relative error {worst:e} over {} cases", cases.len());
}

/// scipy 1.10's `method='auto'`: exact when the smaller sample has at most 8 values and
/// nothing ties, else the normal approximation.
#[test]
fn mann_whitney_chooses_exact_like_scipy() {
    let a: Vec<f64> = (0..5).map(|i| i as f64 * 1.1).collect();
    let b: Vec<f64> = (0..30).map(|i| i as f64 * 0.37 + 0.05).collect();
    assert!(mann_whitney_u(&a, &b, UMethod::Auto).exact);
    let mut tied = b.clone();
    tied[3] = a[2];
    assert!(!mann_whitney_u(&a, &tied, UMethod::Auto).exact);
    let nine: Vec<f64> = (0..9).map(|i| i as f64 * 1.3).collect();
    assert!(!mann_whitney_u(&nine, &b, UMethod::Auto).exact);
    assert_eq!(Test::MannWhitney.name(), "mannwhitney");
}

fn migrascope(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_migrascope"));
    c.env_remove("MIGRASCOPE_BACKEND")
        .env_remove("MIGRASCOPE_DEVICE")
        .args(args);
    c
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A results folder as `analyze --samples` writes it: cells of conditions `young` (control)
/// and `old`, 3 replicates each, 4 cells per replicate, 2 migrasomes in some cells.
fn handmade_results(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut cells = String::from(
        "image,frame,z,cell_id,x_um,y_um,area_um2,migrasome_count,released_count,\
         Tom20_positive_count,territory_area_um2,condition,replicate,plate\n",
    );
    let mut migr = String::from(
        "image,frame,z,migrasome_id,cell_id,x_um,y_um,area_um2,diameter_um,released,\
         Tom20_positive,condition,replicate,plate\n",
    );
    for (cond, base) in [("young", 2), ("old", 7)] {
        for rep in 1..=3 {
            let image = format!("{cond}_{rep}");
            for id in 1..=4 {
                let count = base + (id * rep) % 4;
                cells += &format!("{image},0,0,{id},1,1,300,{count},0,1,900,{cond},{rep},P\n");
                for k in 1..=2 {
                    let d = 1.0 + 0.1 * (id + k) as f64;
                    migr += &format!("{image},0,0,{k},{id},1,1,1,{d},0,1,{cond},{rep},P\n");
                }
            }
            migr += &format!("{image},0,0,9,0,1,1,1,9.9,0,1,{cond},{rep},P\n");
        }
    }
    std::fs::write(dir.join("cells.csv"), cells).unwrap();
    std::fs::write(dir.join("migrasomes.csv"), migr).unwrap();
}

/// `compare` on tables with known values: the unit, n, means and the test's figures agree
/// with the library on the same values; `--out` writes stats.csv, the plots and the report.
#[test]
fn compare_reports_unit_n_and_the_test_of_the_values() {
    let tmp = tempfile::tempdir().unwrap();
    let res = tmp.path().join("res");
    handmade_results(&res);
    let young: Vec<f64> = (1..=3)
        .flat_map(|r| (1..=4).map(move |i| (2 + (i * r) % 4) as f64))
        .collect();
    let old: Vec<f64> = young.iter().map(|v| v + 5.0).collect();
    let out = run_ok(&mut migrascope(&[
        "compare",
        res.to_str().unwrap(),
        "--metric",
        "migrasome_count",
        "--metric",
        "migrasome_diameter_um",
        "--control",
        "young",
        "--test",
        "student",
        "--json",
    ]));
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    for key in [
        "metric",
        "unit",
        "control",
        "group",
        "n_control",
        "n_group",
        "mean_control",
        "mean_group",
        "sem_control",
        "sem_group",
        "test",
        "statistic",
        "df",
        "p",
        "stars",
        "fold_change",
    ] {
        assert!(r.get(key).is_some(), "no {key} in {r}");
    }
    assert_eq!(r["metric"], "migrasome_count");
    assert_eq!(
        (
            r["unit"].as_str(),
            r["control"].as_str(),
            r["group"].as_str()
        ),
        (Some("cell"), Some("young"), Some("old"))
    );
    assert_eq!(
        (r["n_control"].as_u64(), r["n_group"].as_u64()),
        (Some(12), Some(12))
    );
    let want = student_t(&old, &young);
    // (serde_json reads floats to within an ulp)
    assert!(rel(r["statistic"].as_f64().unwrap(), want.statistic) < 1e-14);
    assert_eq!(r["df"].as_f64().unwrap(), 22.0);
    assert!(rel(r["p"].as_f64().unwrap(), want.p) < 1e-14);
    assert!(want.p < 1e-6, "{}", want.p);
    assert_eq!(r["stars"], "****");
    let fold = r["fold_change"].as_f64().unwrap();
    let mean_young = young.iter().sum::<f64>() / 12.0;
    assert!(
        (fold - (mean_young + 5.0) / mean_young).abs() < 1e-12,
        "{fold}"
    );
    // per-cell means of the migrasomes' diameters: the same in both conditions
    let d = &rows[1];
    assert_eq!(d["metric"], "migrasome_diameter_um");
    assert_eq!(d["n_control"].as_u64(), Some(12)); // the unassigned migrasome counts nowhere
    assert!(
        (d["mean_control"].as_f64().unwrap() - 1.4).abs() < 1e-12,
        "{d}"
    );
    assert_eq!(d["stars"], "ns");

    // replicate unit: the mean of each replicate's cells, n = 3; Mann-Whitney exact
    let out = run_ok(&mut migrascope(&[
        "compare",
        res.to_str().unwrap(),
        "--metric",
        "migrasome_count",
        "--unit",
        "replicate",
        "--test",
        "mannwhitney",
        "--json",
    ]));
    let r = &json_lines(&out)[0];
    assert_eq!(
        (r["n_control"].as_u64(), r["n_group"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(r["unit"], "replicate");
    assert_eq!(r["statistic"].as_f64(), Some(9.0)); // every old replicate above every young
    // replicate means 3.5, 3, 3.5 and 8.5, 8, 8.5: ties, so the normal approximation
    let want = mann_whitney_u(&[8.5, 8.0, 8.5], &[3.5, 3.0, 3.5], UMethod::Auto);
    assert!(!want.exact);
    assert!(rel(r["p"].as_f64().unwrap(), want.p) < 1e-14);
    assert!(r["df"].is_null());

    // the table names the unit and n on every line; --out writes stats.csv, plots, report
    let outdir = tmp.path().join("stats");
    let out = run_ok(&mut migrascope(&[
        "compare",
        res.to_str().unwrap(),
        "--unit",
        "image",
        "--out",
        outdir.to_str().unwrap(),
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    let results: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("old vs young"))
        .collect();
    assert_eq!(results.len(), 3, "{text}");
    assert!(
        results
            .iter()
            .all(|l| l.contains(" image ") && l.contains("3 vs 3")),
        "{text}"
    );
    let mut names: Vec<String> = std::fs::read_dir(&outdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["plots", "report.html", "stats.csv"]);
    // one bar chart per metric at the unit asked for; one frame per image: no time courses
    let mut plots: Vec<String> = std::fs::read_dir(outdir.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    plots.sort();
    assert_eq!(
        plots,
        [
            "migrasome_count_image.png",
            "migrasome_count_image.svg",
            "migrasome_diameter_um_image.png",
            "migrasome_diameter_um_image.svg",
            "released_count_image.png",
            "released_count_image.svg",
        ]
    );
    let csv = std::fs::read_to_string(outdir.join("stats.csv")).unwrap();
    assert!(
        csv.starts_with("metric,unit,control,group,n_control,n_group,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 4, "{csv}");
}

/// Usage errors exit 2, unreadable results 3, each with one line naming the problem.
#[test]
fn compare_errors_are_one_line_with_their_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let res = tmp.path().join("res");
    handmade_results(&res);
    let r = res.to_str().unwrap();
    let line = fails_with(
        &migrascope(&["compare", r, "--metric", "nope"])
            .output()
            .unwrap(),
        2,
    );
    assert!(line.contains("no metric 'nope'"), "{line}");
    let line = fails_with(
        &migrascope(&["compare", r, "--control", "mid"])
            .output()
            .unwrap(),
        2,
    );
    assert!(
        line.contains("no condition 'mid'") && line.contains("young, old"),
        "{line}"
    );
    // one replicate of a condition at the replicate unit: fewer than 2 values
    let cells = std::fs::read_to_string(res.join("cells.csv")).unwrap();
    let one_rep: String = cells
        .lines()
        .map(|l| {
            l.replacen(",old,2,", ",old,1,", 1)
                .replacen(",old,3,", ",old,1,", 1)
                + "\n"
        })
        .collect();
    let res2 = tmp.path().join("res2");
    std::fs::create_dir_all(&res2).unwrap();
    std::fs::write(res2.join("cells.csv"), one_rep).unwrap();
    std::fs::copy(res.join("migrasomes.csv"), res2.join("migrasomes.csv")).unwrap();
    let out = migrascope(&["compare", res2.to_str().unwrap(), "--unit", "replicate"])
        .output()
        .unwrap();
    let line = fails_with(&out, 2);
    assert!(
        line.contains("'old'") && line.contains("at least 2"),
        "{line}"
    );
    // results without a sample sheet
    let res3 = tmp.path().join("res3");
    std::fs::create_dir_all(&res3).unwrap();
    let plain: String = cells
        .lines()
        .map(|l| l.replacen(",young,", ",,", 1) + "\n")
        .collect();
    std::fs::write(res3.join("cells.csv"), plain).unwrap();
    std::fs::copy(res.join("migrasomes.csv"), res3.join("migrasomes.csv")).unwrap();
    let line = fails_with(
        &migrascope(&["compare", res3.to_str().unwrap()])
            .output()
            .unwrap(),
        2,
    );
    assert!(line.contains("cells.csv: line 2: no condition"), "{line}");
    // unreadable results
    let missing = tmp.path().join("missing");
    let out = migrascope(&["compare", missing.to_str().unwrap()])
        .output()
        .unwrap();
    let line = fails_with(&out, 3);
    assert!(line.contains("missing"), "{line}");
    std::fs::write(res2.join("cells.csv"), "image,frame\nx,1,2\n").unwrap();
    let line = fails_with(
        &migrascope(&["compare", res2.to_str().unwrap()])
            .output()
            .unwrap(),
        3,
    );
    assert!(line.contains("cells.csv"), "{line}");
}

/// `analyze --samples`: an input without a row in the sheet is refused (exit 2) before
/// anything is analysed, naming the input.
#[test]
fn analyze_refuses_an_input_missing_from_the_sample_sheet() {
    let tmp = tempfile::tempdir().unwrap();
    let sheet = tmp.path().join("samples.csv");
    std::fs::write(&sheet, "file,condition,replicate\nother.tif,young,1\n").unwrap();
    let out = tmp.path().join("out");
    let o = migrascope(&[
        "analyze",
        SAMPLE,
        "--samples",
        sheet.to_str().unwrap(),
        "--out",
    ])
    .arg(&out)
    .output()
    .unwrap();
    let line = fails_with(&o, 2);
    assert!(
        line.contains("sample_migrasomes.ome.tif") && line.contains("not in the sample sheet"),
        "{line}"
    );
    assert!(!out.exists());
    std::fs::write(&sheet, "file,replicate\nx.tif,1\n").unwrap();
    let o = migrascope(&[
        "analyze",
        SAMPLE,
        "--samples",
        sheet.to_str().unwrap(),
        "--out",
    ])
    .arg(&out)
    .output()
    .unwrap();
    let line = fails_with(&o, 2);
    assert!(
        line.contains("samples.csv: header: no column 'condition'"),
        "{line}"
    );
}

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/sample_migrasomes.ome.tif"
);

/// The acceptance run, small: `synth` fields of young and senescent cells, 3 replicates × 1
/// field × 8 cells each, analysed with a sample sheet; `compare` finds more migrasomes per
/// senescent cell with p < 0.001 at the cell unit and n = 3 per condition at the replicate
/// unit. (README, Comparing conditions: the full-size run, 48 cells per replicate.)
#[test]
fn senescent_cells_have_more_migrasomes_than_young_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let mut sheet = String::from("file,condition,replicate,plate\n");
    let mut files = Vec::new();
    for (c, cond) in ["young", "senescent"].iter().enumerate() {
        for rep in 1..=3 {
            let dir = tmp.path().join(format!("{cond}_{rep}"));
            let seed = (100 * c + rep).to_string();
            run_ok(&mut migrascope(&[
                "synth",
                "--out",
                dir.to_str().unwrap(),
                "--condition",
                cond,
                "--seed",
                &seed,
                "--cells",
                "8",
                "--size",
                "1024",
            ]));
            let f = dir.join("synth.ome.tif");
            sheet += &format!("{},{cond},{rep},P{rep}\n", f.display());
            files.push(f);
        }
    }
    let sheet_path = tmp.path().join("samples.csv");
    std::fs::write(&sheet_path, sheet).unwrap();
    let res = tmp.path().join("res");
    run_ok(
        migrascope(&[
            "analyze",
            "--qc-every",
            "0",
            "--samples",
            sheet_path.to_str().unwrap(),
        ])
        .args(&files)
        .arg("--out")
        .arg(&res),
    );
    let cells = std::fs::read_to_string(res.join("cells.csv")).unwrap();
    assert!(
        cells
            .lines()
            .next()
            .unwrap()
            .ends_with(",condition,replicate,plate")
    );
    let r = res.to_str().unwrap();
    let args = [
        "compare",
        r,
        "--metric",
        "migrasome_count",
        "--control",
        "young",
        "--json",
    ];
    let cell = &json_lines(&run_ok(&mut migrascope(&args)))[0];
    assert_eq!(
        (cell["group"].as_str(), cell["unit"].as_str()),
        (Some("senescent"), Some("cell"))
    );
    let (n_y, n_s) = (
        cell["n_control"].as_u64().unwrap(),
        cell["n_group"].as_u64().unwrap(),
    );
    assert!(n_y >= 20 && n_s >= 20, "{cell}");
    assert!(
        cell["mean_group"].as_f64() > cell["mean_control"].as_f64(),
        "{cell}"
    );
    assert!(cell["p"].as_f64().unwrap() < 0.001, "{cell}");
    let rep = &json_lines(&run_ok(migrascope(&args).args(["--unit", "replicate"])))[0];
    assert_eq!(
        (rep["n_control"].as_u64(), rep["n_group"].as_u64()),
        (Some(3), Some(3)),
        "{rep}"
    );
    assert_eq!(rep["unit"], "replicate");
}
