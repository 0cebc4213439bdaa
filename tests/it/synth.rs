//! `migrascope synth` and `evaluate`: determinism, truth consistency with the scene and the
//! pixels, the OME file read back, and evaluate's exact counts on perturbed results. CPU only.

use std::collections::BTreeMap;
use std::path::Path;

use migrascope::evaluate::{Report, evaluate};
use migrascope::image::PlaneData;
use migrascope::io::{OpenOptions, PlaneIndex, StackReader};
use migrascope::synth::{Condition, P2, Scene, SynthConfig, generate};

/// A small, quick config: 512 px of 0.2 µm (a 102 µm field), 4 cells.
fn small(seed: u64) -> SynthConfig {
    SynthConfig {
        seed,
        cells: 4,
        size: 512,
        pixel_size_um: 0.2,
        cargo: vec!["Tom20".into(), "IL6".into()],
        ..SynthConfig::default()
    }
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const FILES: [&str; 5] = [
    "synth.ome.tif",
    "truth_migrasomes.csv",
    "truth_cells.csv",
    "truth.json",
    "truth_bodies.tif",
];

/// Rows of a CSV as maps from header name to field (our own simple files: no quoting).
fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let head: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

fn f(r: &BTreeMap<String, String>, k: &str) -> f64 {
    r[k].parse().unwrap_or_else(|_| panic!("{k}={}", r[k]))
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let cfg = SynthConfig {
        frames: 2,
        ..small(7)
    };
    generate(&cfg, a.path()).unwrap();
    generate(&cfg, b.path()).unwrap();
    generate(
        &SynthConfig {
            seed: 8,
            ..cfg.clone()
        },
        c.path(),
    )
    .unwrap();
    for name in FILES {
        assert!(
            read(a.path(), name) == read(b.path(), name),
            "{name} differs for one seed"
        );
    }
    for name in ["synth.ome.tif", "truth_migrasomes.csv", "truth.json"] {
        assert!(
            read(a.path(), name) != read(c.path(), name),
            "{name} same for two seeds"
        );
    }
}

#[test]
fn truth_counts_agree_and_migrasomes_keep_their_distance() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        frames: 3,
        condition: Condition::Senescent,
        ..small(3)
    };
    generate(&cfg, dir.path()).unwrap();
    let migs = rows(&dir.path().join("truth_migrasomes.csv"));
    let cells = rows(&dir.path().join("truth_cells.csv"));
    assert_eq!(cells.len(), 3 * 4);
    assert!(!migs.is_empty());
    for c in &cells {
        let mine: Vec<_> = migs
            .iter()
            .filter(|m| m["frame"] == c["frame"] && m["cell_id"] == c["cell_id"])
            .collect();
        assert_eq!(f(c, "migrasome_count") as usize, mine.len());
        assert_eq!(
            f(c, "released_count") as usize,
            mine.iter().filter(|m| m["released"] == "1").count()
        );
        for cargo in ["Tom20", "IL6"] {
            let n = mine
                .iter()
                .filter(|m| m[&format!("{cargo}_positive")] == "1")
                .count();
            assert_eq!(f(c, &format!("{cargo}_positive_count")) as usize, n);
        }
    }
    // Migrasomes appear and stay: per cell, counts never fall; ids keep their position.
    let scene = Scene::build(&cfg).unwrap();
    for t in 1..3 {
        assert!(scene.alive(t).count() >= scene.alive(t - 1).count());
    }
    for m in &migs {
        let s = &scene.migrasomes[f(m, "migrasome_id") as usize - 1];
        assert!((s.pos.x - f(m, "x_um")).abs() < 1e-3 && (s.pos.y - f(m, "y_um")).abs() < 1e-3);
        assert_eq!(s.cell, f(m, "cell_id") as u32);
    }
    // Every migrasome: outside every body by ≥ 1 µm, ≥ 1 µm from the others, nearest to its
    // own nucleus, in every frame it exists.
    for t in 0..3 {
        let alive: Vec<_> = scene.alive(t).collect();
        for (i, m) in alive.iter().enumerate() {
            let r = 0.5 * m.diameter;
            for c in &scene.cells {
                assert!(
                    c.body_sdist(m.pos, t) >= r + 1.0 - 1e-6,
                    "migrasome {} in a body",
                    m.id
                );
            }
            for o in &alive[i + 1..] {
                assert!(m.pos.dist(o.pos) >= r + 0.5 * o.diameter + 1.0 - 1e-6);
            }
            let own = scene.cells[m.cell as usize - 1].nucleus_dist(m.pos, t);
            for c in scene.cells.iter().filter(|c| c.id != m.cell) {
                assert!(
                    c.nucleus_dist(m.pos, t) > own,
                    "migrasome {} nearer another nucleus",
                    m.id
                );
            }
        }
    }
}

#[test]
fn senescent_cells_leave_about_three_times_more_migrasomes() {
    let per_cell = |condition| {
        let (mut n, mut cells, mut pos, mut rel) = (0, 0, 0, 0);
        for seed in 1..=6 {
            let s = Scene::build(&SynthConfig {
                seed,
                condition,
                ..SynthConfig::default()
            })
            .unwrap();
            n += s.migrasomes.len();
            cells += s.cells.len();
            pos += s.migrasomes.iter().filter(|m| m.cargo[0].is_some()).count();
            rel += s.migrasomes.iter().filter(|m| m.released).count();
            assert!(
                s.dropped * 10 <= s.drawn.max(10),
                "seed {seed}: {} of {} dropped",
                s.dropped,
                s.drawn
            );
        }
        (
            n as f64 / cells as f64,
            pos as f64 / n as f64,
            rel as f64 / n as f64,
        )
    };
    let (young, young_pos, _) = per_cell(Condition::Young);
    let (old, old_pos, _) = per_cell(Condition::Senescent);
    assert!((2.5..6.0).contains(&young), "young: {young} per cell");
    assert!(
        old > 2.0 * young,
        "senescent {old} vs young {young} per cell"
    );
    assert!(
        old_pos > young_pos,
        "cargo-positive fraction {old_pos} vs {young_pos}"
    );
}

#[test]
fn stack_reads_back_with_shape_names_calibration_and_bright_migrasomes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        frames: 2,
        ..SynthConfig {
            cargo: vec!["Tom20".into()],
            ..small(5)
        }
    };
    generate(&cfg, dir.path()).unwrap();
    let r = StackReader::open(&dir.path().join("synth.ome.tif"), &OpenOptions::default()).unwrap();
    let info = r.info();
    assert_eq!(
        (
            info.shape.t,
            info.shape.c,
            info.shape.z,
            info.shape.y,
            info.shape.x
        ),
        (2, 3, 1, 512, 512)
    );
    let names: Vec<_> = info
        .channels
        .iter()
        .map(|c| c.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["Hoechst", "WGA", "Tom20"]);
    assert!((info.pixel_size_um.x.unwrap() - 0.2).abs() < 1e-9);
    assert!((info.pixel_size_um.y.unwrap() - 0.2).abs() < 1e-9);
    assert!((info.time_increment_s.unwrap() - 300.0).abs() < 1e-9);

    let scene = Scene::build(&cfg).unwrap();
    let plane = |c: usize, t: usize| match r.read_plane(PlaneIndex { t, c, z: 0 }).unwrap().data {
        PlaneData::U16(v) => v,
        other => panic!("not uint16: {}", other.sample_type()),
    };
    let px = cfg.pixel_size_um;
    let at = |v: &[u16], x: f64, y: f64| {
        let (i, j) = ((y / px).round() as usize, (x / px).round() as usize);
        let mut s = 0.0;
        for di in 0..3 {
            for dj in 0..3 {
                s += v[(i + di - 1) * 512 + j + dj - 1] as f64;
            }
        }
        s / 9.0
    };
    let median = |v: &[u16]| {
        let mut w = v.to_vec();
        w.sort_unstable();
        w[w.len() / 2] as f64
    };
    for t in 0..2 {
        let (nuc, wga, cargo) = (plane(0, t), plane(1, t), plane(2, t));
        let amp = |c: usize| scene.model.channels[c].amplitude_photons;
        for cell in &scene.cells {
            let p = cell.nucleus_center(t);
            assert!(
                at(&nuc, p.x, p.y) - median(&nuc) > 0.5 * amp(0),
                "nucleus {} dim",
                cell.id
            );
        }
        for m in scene.alive(t) {
            let w = at(&wga, m.pos.x, m.pos.y) - median(&wga);
            assert!(w > 0.15 * amp(1), "migrasome {} dim ({w})", m.id);
            if m.diameter < 1.0 {
                continue; // a 3x3 mean is wider than the smallest ones
            }
            assert!(w > 0.4 * amp(1), "migrasome {} dim ({w})", m.id);
            let c = at(&cargo, m.pos.x, m.pos.y) - median(&cargo);
            if m.cargo[0].is_some() {
                assert!(
                    c > 0.3 * amp(2),
                    "cargo-positive migrasome {} dim ({c})",
                    m.id
                );
            } else {
                assert!(
                    c < 0.12 * amp(2),
                    "cargo-negative migrasome {} bright ({c})",
                    m.id
                );
            }
        }
    }
}

#[test]
fn bad_configs_are_refused() {
    let bad = [
        SynthConfig {
            diameter_um: (3.0, 1.0),
            ..SynthConfig::default()
        },
        SynthConfig {
            snr: f64::NAN,
            ..SynthConfig::default()
        },
        SynthConfig {
            cargo: vec!["WGA".into()],
            ..SynthConfig::default()
        },
        SynthConfig {
            cargo: vec!["a,b".into()],
            ..SynthConfig::default()
        },
        SynthConfig {
            frames: 0,
            ..SynthConfig::default()
        },
    ];
    for cfg in bad {
        assert!(cfg.validate().is_err(), "{cfg:?}");
    }
    let crowded = SynthConfig {
        cells: 60,
        size: 256,
        ..SynthConfig::default()
    };
    let e = Scene::build(&crowded).unwrap_err().to_string();
    assert!(e.contains("cannot place 60 cells"), "{e}");
}

mod eval;
mod realism;
mod tracking;
