//! `compare --out`: the plots (SVG + PNG per metric, time courses for movies) and
//! `report.html`, rendered by headless Chromium (the Debian package `chromium`, which CI
//! installs; a machine without it fails these tests, it does not skip them).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::run_ok;

const CHROMIUM: &str = "/usr/bin/chromium";

fn migrascope(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_migrascope"));
    c.env_remove("MIGRASCOPE_BACKEND")
        .env_remove("MIGRASCOPE_DEVICE")
        .args(args);
    c
}

/// Small `analyze --samples` results of synth movies: young and senescent, 2 replicates
/// each, 3 frames of 320 × 320 px (0.2 µm) with 3 cells, QC overlays of frames 0 and 2.
fn movie_results(root: &Path) -> PathBuf {
    let mut sheet = String::from("file,condition,replicate,plate\n");
    let mut files = Vec::new();
    for (c, cond) in ["young", "senescent"].iter().enumerate() {
        for rep in 1..=2 {
            let dir = root.join(format!("{cond}_{rep}"));
            let seed = (200 + 10 * c + rep).to_string();
            run_ok(&mut migrascope(&[
                "synth",
                "--out",
                dir.to_str().unwrap(),
                "--condition",
                cond,
                "--seed",
                &seed,
                "--cells",
                "3",
                "--size",
                "320",
                "--pixel-size",
                "0.2",
                "--frames",
                "3",
            ]));
            let f = dir.join("synth.ome.tif");
            sheet += &format!("{},{cond},{rep},P<{rep}>\n", f.display());
            files.push(f);
        }
    }
    let sheet_path = root.join("samples.csv");
    std::fs::write(&sheet_path, sheet).unwrap();
    let res = root.join("res");
    run_ok(
        migrascope(&[
            "analyze",
            "--qc-every",
            "2",
            "--samples",
            sheet_path.to_str().unwrap(),
        ])
        .args(&files)
        .arg("--out")
        .arg(&res),
    );
    res
}

/// Runs `cmd`, killing it after `limit`; (status, stdout, stderr).
fn run_with_limit(mut cmd: Command, limit: Duration) -> (bool, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {CHROMIUM} ({e}): the report tests need Debian's chromium \
                 (apt-get install chromium; .ci/run installs it)"
            )
        });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).unwrap();
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).unwrap();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{CHROMIUM} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (
        status.success(),
        t_out.join().unwrap(),
        t_err.join().unwrap(),
    )
}

/// Headless Chromium's DOM of `page` after loading, and its log (console messages, CSP
/// reports) from stderr.
fn chromium_dom(page: &Path, profile: &Path) -> (String, String) {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the report tests need Debian's chromium (apt-get install \
         chromium; .ci/run installs it)"
    );
    let mut c = Command::new(CHROMIUM);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg("--dump-dom")
    .arg(format!("file://{}", page.display()));
    let (ok, dom, log) = run_with_limit(c, Duration::from_secs(180));
    assert!(ok, "chromium failed:\n{log}");
    (dom, log)
}

/// Lines of Chromium's log that report a Content-Security-Policy violation.
fn csp_violations(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains("Content Security Policy")
                || l.contains("Content-Security-Policy")
                || l.contains("Refused to")
        })
        .collect()
}

fn png_size(p: &Path) -> (u32, u32) {
    image::image_dimensions(p).unwrap()
}

/// The SVG's width and height attributes.
fn svg_size(svg: &str) -> (f64, f64) {
    let attr = |name: &str| -> f64 {
        let k = format!(" {name}=\"");
        let i = svg.find(&k).unwrap() + k.len();
        svg[i..i + svg[i..].find('"').unwrap()].parse().unwrap()
    };
    (attr("width"), attr("height"))
}

/// The acceptance test: synth movies analysed with a sample sheet; `compare --out` writes
/// stats.csv, a bar chart and a time course per metric as SVG and PNG (the same size × 2,
/// byte-identical on a second run) and report.html; headless Chromium renders the report with
/// every statistics row and every plot, no CSP violation, and no http(s) reference in it.
#[test]
fn the_report_renders_in_chromium_with_tables_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let res = movie_results(tmp.path());
    let out = tmp.path().join("cmp");
    let compare = || {
        run_ok(
            migrascope(&[
                "compare",
                res.to_str().unwrap(),
                "--control",
                "young",
                "--out",
            ])
            .arg(&out),
        )
    };
    compare();
    let metrics = ["migrasome_count", "released_count", "migrasome_diameter_um"];
    let mut plots = Vec::new();
    for m in metrics {
        for kind in ["cell", "time"] {
            let svg_path = out.join(format!("plots/{m}_{kind}.svg"));
            let svg = std::fs::read_to_string(&svg_path)
                .unwrap_or_else(|e| panic!("{}: {e}", svg_path.display()));
            assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
            let (w, h) = svg_size(&svg);
            assert_eq!(
                png_size(&svg_path.with_extension("png")),
                ((w * 2.0) as u32, (h * 2.0) as u32),
                "{m} {kind}"
            );
            if kind == "cell" {
                // two bars, one bracket with stars, n under the names
                assert_eq!(svg.matches("<rect ").count(), 3, "{m}"); // + background
                assert!(svg.contains(">young</text>") && svg.contains(">senescent</text>"));
                assert!(svg.contains(">n = "), "{m}");
            } else {
                // time in minutes (synth's time increment), two conditions
                assert!(svg.contains(">time (min)</text>"), "{m}");
                assert_eq!(svg.matches(" Z\"").count(), 2, "{m}: two SEM bands");
            }
            plots.push((svg_path, svg));
        }
    }
    // the same bytes again
    let report = std::fs::read(out.join("report.html")).unwrap();
    let pngs: Vec<Vec<u8>> = plots
        .iter()
        .map(|(p, _)| std::fs::read(p.with_extension("png")).unwrap())
        .collect();
    compare();
    assert_eq!(std::fs::read(out.join("report.html")).unwrap(), report);
    for ((p, svg), png) in plots.iter().zip(&pngs) {
        assert_eq!(&std::fs::read_to_string(p).unwrap(), svg);
        assert_eq!(&std::fs::read(p.with_extension("png")).unwrap(), png);
    }

    let html = String::from_utf8(report).unwrap();
    for scheme in ["http://", "https://"] {
        assert!(
            !html.contains(scheme),
            "report.html holds a {scheme} reference"
        );
    }
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:"
    ));
    assert!(!html.contains("<script"));

    let (dom, log) = chromium_dom(&out.join("report.html"), &tmp.path().join("profile"));
    let violations = csp_violations(&log);
    assert!(
        violations.is_empty(),
        "CSP violations:\n{}",
        violations.join("\n")
    );
    // the statistics: one row per metric (senescent vs young), with p and stars
    let rows: Vec<&str> = dom
        .split("<tr class=\"stat\">")
        .skip(1)
        .map(|r| &r[..r.find("</tr>").unwrap()])
        .collect();
    assert_eq!(rows.len(), metrics.len(), "{dom}");
    for (r, m) in rows.iter().zip(metrics) {
        assert!(
            r.starts_with(&format!(
                "<td>{m}</td><td>senescent vs young</td><td>cell</td>"
            )),
            "{r}"
        );
        assert!(
            ["ns", "*", "**", "***", "****"]
                .iter()
                .any(|s| r.ends_with(&format!("<td class=\"stars\">{s}</td>"))),
            "{r}"
        );
    }
    // the plots: 6 inline SVGs with their drawings, no namespace attribute needed
    assert_eq!(
        dom.matches("<svg ").count(),
        plots.len(),
        "plots in the DOM"
    );
    assert!(dom.matches("<circle ").count() > 50);
    // the sample sheet (escaped metadata), the inputs, the parameters, the QC links
    assert!(dom.contains("<td>P&lt;1&gt;</td>"), "sample sheet");
    assert!(dom.contains("synth.ome.tif"));
    assert!(dom.contains("GPU adapter"));
    assert!(dom.contains("<td><code>preset</code></td><td class=\"num\">wga</td>"));
    assert!(dom.contains("<td><code>cells.body_min_area_um2</code></td>"));
    let qc: Vec<&str> = dom
        .split("href=\"../res/images/")
        .skip(1)
        .map(|r| &r[..r.find('"').unwrap()])
        .collect();
    assert_eq!(
        qc.len(),
        4 * 2 * 2,
        "4 images × frames 0 and 2 × 2 overlays"
    );
    for rel in qc {
        assert!(rel.ends_with(".png"), "{rel}");
        assert!(res.join("images").join(rel).is_file(), "{rel}");
    }
}

/// The check above sees a violation when there is one: the same CSP with an image that is
/// not a data: URI is reported in Chromium's log.
#[test]
fn chromium_reports_a_csp_violation_the_report_test_would_catch() {
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"></head>\
         <body><img src=\"x.png\"><svg width=\"4\" height=\"4\"></svg></body></html>",
    )
    .unwrap();
    let (dom, log) = chromium_dom(&page, &tmp.path().join("profile"));
    assert!(dom.contains("<svg"), "{dom}");
    assert!(
        !csp_violations(&log).is_empty(),
        "no violation seen in:\n{log}"
    );
}
