//! Statistics against scipy (`tests/data/stats/reference.json`, made by
//! `make_reference.py` beside it) and the `compare` command on real `analyze` results.

use std::path::Path;

use migrascope::stats::{Test, UMethod, mann_whitney_u, stars, student_t, welch_t};

const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/stats/reference.json"
);

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

#[allow(dead_code)]
fn exists(p: &Path) -> bool {
    p.exists()
}
