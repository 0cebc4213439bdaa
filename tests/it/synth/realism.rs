//! The realism knobs of `synth`: off by default (the classic scene does not move when the
//! look knobs are on), deterministic, each one changes the pixels where it should (checked
//! on the noise-free signal, exactly), the true body masks, and migrasome clearance from
//! everything that is not a migrasome.

use migrascope::synth::{Realism, illumination, signal};

use super::*;

/// The small config with some realism knobs.
fn real(seed: u64, realism: Realism) -> SynthConfig {
    SynthConfig {
        realism,
        ..small(seed)
    }
}

fn none() -> Realism {
    Realism::default()
}

/// Distance from `(x, y)` to segment `a`–`b`.
fn seg(x: f64, y: f64, a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((x - a.0) * dx + (y - a.1) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (x - a.0 - t * dx).hypot(y - a.1 - t * dy)
}

/// A label or mask plane dilated by `r` pixels (square).
fn dilate(m: &[bool], n: usize, r: usize) -> Vec<bool> {
    let mut out = vec![false; m.len()];
    for i in 0..n {
        for j in 0..n {
            if m[i * n + j] {
                for ii in i.saturating_sub(r)..(i + r + 1).min(n) {
                    for jj in j.saturating_sub(r)..(j + r + 1).min(n) {
                        out[ii * n + jj] = true;
                    }
                }
            }
        }
    }
    out
}

fn body_mask(scene: &Scene, t: usize) -> Vec<bool> {
    scene.body_labels(t).iter().map(|&l| l != 0).collect()
}

fn labels_from_file(dir: &Path) -> Vec<Vec<u32>> {
    let r = StackReader::open(&dir.join("truth_bodies.tif"), &OpenOptions::default()).unwrap();
    assert_eq!(r.info().shape.c, 1);
    (0..r.info().shape.t)
        .map(|t| {
            let p = r.read_plane(PlaneIndex { t, c: 0, z: 0 }).unwrap();
            match p.data {
                PlaneData::U16(v) => v.into_iter().map(u32::from).collect(),
                other => panic!("truth_bodies.tif is {}", other.sample_type()),
            }
        })
        .collect()
}

#[test]
fn synth_realism_same_seed_same_bytes() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cfg = SynthConfig {
        frames: 2,
        ..real(21, Realism::realistic())
    };
    generate(&cfg, a.path()).unwrap();
    generate(&cfg, b.path()).unwrap();
    for name in FILES {
        assert!(
            read(a.path(), name) == read(b.path(), name),
            "{name} differs for one seed"
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&read(a.path(), "truth.json")).unwrap();
    assert!(json["realism"]["model"].is_object());
    assert_eq!(json["config"]["realism"]["touching"], 0.3);
}

#[test]
fn synth_realism_is_off_by_default_and_look_knobs_move_nothing_classic() {
    assert!(SynthConfig::default().realism.is_off());
    let dir = tempfile::tempdir().unwrap();
    generate(&small(22), dir.path()).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&read(dir.path(), "truth.json")).unwrap();
    assert!(json.get("realism").is_none() && json["config"].get("realism").is_none());
    // Everything but touching and border: the same cells, fibers and migrasomes.
    let look = Realism {
        touching: 0.0,
        border: 0,
        ..Realism::realistic()
    };
    let (a, b) = (
        Scene::build(&small(22)).unwrap(),
        Scene::build(&real(22, look)).unwrap(),
    );
    assert_eq!(a.migrasomes.len(), b.migrasomes.len());
    for (m, n) in a.migrasomes.iter().zip(&b.migrasomes) {
        assert_eq!((m.pos, m.diameter, m.cell), (n.pos, n.diameter, n.cell));
    }
    for (c, d) in a.cells.iter().zip(&b.cells) {
        assert_eq!(
            (c.center, c.rear, c.fibers.len()),
            (d.center, d.rear, d.fibers.len())
        );
        assert!(c.look.is_none() && d.look.is_some());
    }
}

/// Noise-free membrane signal of a config, and its scene.
fn wga(cfg: &SynthConfig) -> (Scene, Vec<f32>) {
    let s = Scene::build(cfg).unwrap();
    let v = signal(&s, 0, 1);
    (s, v)
}

#[test]
fn synth_realism_each_knob_changes_the_signal_where_expected() {
    let seed = 23;
    let (base_scene, base) = wga(&real(seed, none()));
    let n = base_scene.cfg.size;
    let amp = base_scene.model.channels[1].amplitude_photons as f32;
    // Blur and edge anti-aliasing reach 3 px beyond the mask.
    let inside = dilate(&body_mask(&base_scene, 0), n, 4);
    let diff = |r: Realism| {
        let (s, v) = wga(&real(seed, r));
        let d: Vec<f32> = v.iter().zip(&base).map(|(a, b)| a - b).collect();
        (s, d)
    };
    let max_where = |d: &[f32], m: &dyn Fn(usize) -> bool| {
        (0..d.len())
            .filter(|&k| m(k))
            .map(|k| d[k].abs())
            .fold(0f32, f32::max)
    };

    // Puncta and ruffles: bright, and only inside the bodies.
    for (name, r) in [
        (
            "puncta",
            Realism {
                puncta: 8.0,
                ..none()
            },
        ),
        (
            "ruffles",
            Realism {
                ruffles: 1.0,
                ..none()
            },
        ),
    ] {
        let (_, d) = diff(r);
        assert!(max_where(&d, &|k| inside[k]) > 0.3 * amp, "{name}: too dim");
        assert_eq!(
            max_where(&d, &|k| !inside[k]),
            0.0,
            "{name}: outside a body"
        );
    }

    // Filopodia: bright thin lines outside the true body mask, and only lines: their pixels
    // lie within 1 µm of a filopodium.
    let (s, d) = diff(Realism {
        filopodia: 10.0,
        ..none()
    });
    let px = s.cfg.pixel_size_um;
    let segs: Vec<((f64, f64), (f64, f64))> = (s.cells.iter())
        .flat_map(|c| {
            let p = c.pos(0);
            let look = c.look.as_ref().unwrap();
            look.filopodia.iter().flat_map(move |f| {
                f.pts
                    .windows(2)
                    .map(move |w| ((w[0].x + p.x, w[0].y + p.y), (w[1].x + p.x, w[1].y + p.y)))
            })
        })
        .collect();
    assert!(segs.len() >= 20, "{} filopodium segments", segs.len());
    let mut bright_out = 0;
    for k in 0..n * n {
        if d[k] > 0.15 * amp && !inside[k] {
            bright_out += 1;
            let (x, y) = ((k % n) as f64 * px, (k / n) as f64 * px);
            let near = segs.iter().any(|&(a, b)| seg(x, y, a, b) < 1.0);
            assert!(
                near,
                "bright pixel ({x:.1}, {y:.1}) µm far from every filopodium"
            );
        }
    }
    assert!(bright_out > 200, "{bright_out} bright filopodium pixels");

    // Debris: outside bodies too, but dim.
    let (_, d) = diff(Realism {
        debris: 10.0,
        ..none()
    });
    let m = max_where(&d, &|k| !inside[k]);
    assert!(m > 0.03 * amp && m <= 0.6 * amp, "debris peak {m}");

    // Haze: light around bright bodies, about X × their signal; nothing far from them.
    let (s, d) = diff(Realism {
        haze: 0.3,
        body_rel: Some((2.0, 2.0)),
        ..none()
    });
    let near_bodies = dilate(&body_mask(&s, 0), n, 30);
    let off_bodies = dilate(&inside, n, 5);
    let halo = max_where(&d, &|k| near_bodies[k] && !off_bodies[k]);
    assert!(halo > 0.05 * amp, "haze halo {halo}");

    // Illumination: the field spans 1 ± X around the vignette.
    let x = 0.2;
    let (a, b) = (
        illumination(&base_scene),
        illumination(
            &Scene::build(&real(
                seed,
                Realism {
                    illumination: x,
                    ..none()
                },
            ))
            .unwrap(),
        ),
    );
    let ratio: Vec<f32> = b.iter().zip(&a).map(|(b, a)| b / a).collect();
    let lo = ratio.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = ratio.iter().copied().fold(0f32, f32::max);
    assert!(
        (lo - 0.8).abs() < 1e-3 && (hi - 1.2).abs() < 1e-3,
        "field {lo}..{hi}"
    );
}

#[test]
fn synth_realism_rim_is_x_times_the_interior() {
    // 0.1 µm pixels, so that a 0.3 µm rim spans pixels.
    let cfg = |rim| SynthConfig {
        seed: 24,
        cells: 2,
        size: 512,
        pixel_size_um: 0.1,
        realism: Realism {
            body_rel: Some((1.0, 1.0)),
            rim: Some(rim),
            ..none()
        },
        ..SynthConfig::default()
    };
    // Mean signal just inside the edge (0.05-0.15 µm) over the mean deep inside (> 3 µm).
    let edge_ratio = |rim| {
        let (s, v) = wga(&cfg(rim));
        let (n, px) = (s.cfg.size, s.cfg.pixel_size_um);
        let (mut edge, mut deep) = ((0.0, 0), (0.0, 0));
        for (k, &val) in v.iter().enumerate() {
            let p = P2::new((k % n) as f64 * px, (k / n) as f64 * px);
            let d = s
                .cells
                .iter()
                .map(|c| c.body_sdist(p, 0))
                .fold(f64::INFINITY, f64::min);
            if (-0.15..=-0.05).contains(&d) {
                edge = (edge.0 + val as f64, edge.1 + 1);
            } else if d < -3.0 {
                deep = (deep.0 + val as f64, deep.1 + 1);
            }
        }
        assert!(edge.1 > 100 && deep.1 > 1000);
        (edge.0 / edge.1 as f64) / (deep.0 / deep.1 as f64)
    };
    let (r1, r2, r3) = (edge_ratio(1.0), edge_ratio(2.0), edge_ratio(3.0));
    assert!((0.5..1.1).contains(&r1), "no rim: edge/interior {r1}");
    assert!((1.7..2.2).contains(&(r2 / r1)), "rim 2: {r2} vs {r1}");
    assert!((2.4..3.3).contains(&(r3 / r1)), "rim 3: {r3} vs {r1}");
}

/// Median of `v` at the indices where `keep` holds.
fn median_where(v: &[u16], keep: impl Fn(usize) -> bool) -> f64 {
    let mut w: Vec<u16> = (0..v.len()).filter(|&k| keep(k)).map(|k| v[k]).collect();
    assert!(!w.is_empty());
    w.sort_unstable();
    w[w.len() / 2] as f64
}

#[test]
fn synth_realism_body_rel_sets_body_over_migrasome_brightness() {
    // Nominal body / migrasome: rel (plus the classic faint rim and Golgi haze); the migrasome
    // median sits a little below its nominal peak (0.8-1.2, sampled at a 0.2 µm pixel).
    for (rel, lo, hi) in [(3.0, 2.4, 3.9), (0.5, 0.4, 0.8)] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SynthConfig {
            condition: Condition::Senescent,
            cells: 6,
            size: 640,
            ..real(
                25,
                Realism {
                    body_rel: Some((rel, rel)),
                    ..none()
                },
            )
        };
        generate(&cfg, dir.path()).unwrap();
        let scene = Scene::build(&cfg).unwrap();
        let r =
            StackReader::open(&dir.path().join("synth.ome.tif"), &OpenOptions::default()).unwrap();
        let PlaneData::U16(v) = r.read_plane(PlaneIndex { t: 0, c: 1, z: 0 }).unwrap().data else {
            panic!("not uint16")
        };
        let labels = &labels_from_file(dir.path())[0];
        let (n, px) = (cfg.size, cfg.pixel_size_um);
        let near = dilate(&labels.iter().map(|&l| l != 0).collect::<Vec<_>>(), n, 15);
        let bg = median_where(&v, |k| !near[k]);
        let body = median_where(&v, |k| labels[k] != 0) - bg;
        // Migrasome peaks: the pixel at the centre of each released migrasome of ≥ 1 µm (an
        // attached one also carries its fiber's brightness).
        let peaks: Vec<u16> = (scene.migrasomes.iter())
            .filter(|m| m.diameter >= 1.0 && m.released)
            .map(|m| v[(m.pos.y / px).round() as usize * n + (m.pos.x / px).round() as usize])
            .collect();
        assert!(peaks.len() >= 5, "{} migrasomes", peaks.len());
        let mig = median_where(&peaks, |_| true) - bg;
        let ratio = body / mig;
        assert!(
            (lo..hi).contains(&ratio),
            "body-rel {rel}: body {body} / migrasome {mig} = {ratio}"
        );
    }
}

#[test]
fn synth_realism_truth_bodies_cover_the_bodies_touching_and_border_cells() {
    let (mut touching, mut border) = (0, 0);
    for seed in 31..=34 {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SynthConfig {
            frames: 2,
            cells: 5,
            size: 640,
            ..real(
                seed,
                Realism {
                    touching: 0.6,
                    border: 1,
                    ..Realism::realistic()
                },
            )
        };
        generate(&cfg, dir.path()).unwrap();
        let scene = Scene::build(&cfg).unwrap();
        let (n, px) = (cfg.size, cfg.pixel_size_um);
        let files = labels_from_file(dir.path());
        assert_eq!(files.len(), 2);
        let cells = rows(&dir.path().join("truth_cells.csv"));
        assert_eq!(
            cells.len(),
            2 * 5,
            "every cell is in the truth, border cells too"
        );
        for (t, lab) in files.iter().enumerate() {
            assert!(*lab == scene.body_labels(t), "truth_bodies.tif frame {t}");
            for c in &scene.cells {
                // The nucleus centre is in the image and in its own body.
                let p = c.nucleus_center(t);
                assert!(scene.in_field(p, 1.0 - 1e-9), "cell {} nucleus out", c.id);
                let k = (p.y / px).round() as usize * n + (p.x / px).round() as usize;
                assert_eq!(lab[k], c.id, "cell {} nucleus not in its body", c.id);
                // The mask is the body: every labelled pixel is inside, every pixel 1 px
                // inside is labelled.
                for (k, &l) in lab.iter().enumerate() {
                    let q = P2::new((k % n) as f64 * px, (k / n) as f64 * px);
                    let sd = c.body_sdist(q, t);
                    if l == c.id {
                        assert!(sd <= 0.02, "cell {} label outside its body", c.id);
                    } else if sd < -px {
                        // Only a deeper neighbour (in contact) may take it.
                        let o = &scene.cells[l as usize - 1];
                        assert!(l != 0 && o.body_sdist(q, t) < sd + px, "cell {} hole", c.id);
                    }
                }
                if c.border {
                    border += 1;
                    let edge = (0..n).any(|i| {
                        [lab[i * n], lab[i * n + n - 1], lab[i], lab[(n - 1) * n + i]]
                            .contains(&c.id)
                    });
                    assert!(edge, "border cell {} not cut by the border", c.id);
                    assert_eq!(c.velocity, P2::default());
                }
            }
        }
        for (i, a) in scene.cells.iter().enumerate() {
            for b in &scene.cells[i + 1..] {
                let gap = (a.body.outline.iter())
                    .map(|q| b.body_sdist(q.add(a.pos(0)), 0))
                    .fold(f64::INFINITY, f64::min);
                if gap < 1.0 {
                    touching += 1;
                    assert!(gap >= -1.0 - 1e-6, "bodies overlap by {gap}");
                    assert!(a.anchored && b.anchored);
                }
            }
        }
    }
    assert!(touching >= 2, "{touching} touching pairs");
    assert_eq!(border, 4 * 2);
}

#[test]
fn synth_realism_migrasomes_keep_clear_of_bodies_filopodia_and_debris() {
    let mut checked = 0;
    for seed in 41..=43 {
        let cfg = SynthConfig {
            frames: 3,
            condition: Condition::Senescent,
            ..real(
                seed,
                Realism {
                    filopodia: 20.0,
                    debris: 30.0,
                    ..Realism::realistic()
                },
            )
        };
        let scene = Scene::build(&cfg).unwrap();
        let dir = tempfile::tempdir().unwrap();
        generate(&cfg, dir.path()).unwrap();
        // Only migrasomes are in the truth: one row per migrasome per frame it is alive.
        let migs = rows(&dir.path().join("truth_migrasomes.csv"));
        let alive: usize = (0..3).map(|t| scene.alive(t).count()).sum();
        assert_eq!(migs.len(), alive);
        for t in 0..3 {
            for m in scene.alive(t) {
                let r = 0.5 * m.diameter;
                assert!(
                    scene.in_field(m.pos, r),
                    "migrasome {} outside the image",
                    m.id
                );
                for c in &scene.cells {
                    assert!(c.body_sdist(m.pos, t) >= r + 1.0 - 1e-6, "in a body");
                    let p = c.pos(t);
                    let q = m.pos.sub(p);
                    for f in &c.look.as_ref().unwrap().filopodia {
                        for w in f.pts.windows(2) {
                            let d = seg(q.x, q.y, (w[0].x, w[0].y), (w[1].x, w[1].y));
                            assert!(
                                d - 0.5 * f.width >= r + 1.0,
                                "migrasome {} by a filopodium",
                                m.id
                            );
                        }
                        if let Some(tip) = f.tip {
                            assert!(q.dist(tip.c) - tip.r >= r + 1.0, "by a filopodium tip");
                        }
                        checked += 1;
                    }
                }
                for d in &scene.debris {
                    assert!(
                        m.pos.dist(d.c) - d.a >= r + 1.0,
                        "migrasome {} by debris",
                        m.id
                    );
                }
            }
        }
    }
    assert!(checked > 1000, "{checked} migrasome-filopodium pairs");
}
