//! Movies: `synth` dynamics (release, drift, disappearance, uptake, blinking, encounters) with
//! exact track and event truth, and `evaluate`'s tracking scores: hand-made cases with known
//! numbers, laptrack's values on committed track sets (`tests/tracking/reference.json`, made
//! by `tests/tracking/make_reference.py`), and truth against itself end to end.

use std::collections::BTreeMap;

use migrascope::evaluate::Table;
use migrascope::evaluate::tracking::{self, Det, Event};
use migrascope::synth::{DYNAMICS_MODEL, Dynamics, Fate, polyline_minus_disks, seg_dist};

use super::*;

const REFERENCE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tracking");

fn det(frame: u64, track: u64, x: f64, y: f64) -> Det {
    Det {
        image: "m".into(),
        frame,
        track: Some(track),
        xy: (x, y),
        radius: 0.5,
        visible: true,
    }
}

/// Two truth tracks 20 µm apart over frames 0-4.
fn two_tracks() -> Vec<Det> {
    (0..5)
        .flat_map(|f| [det(f, 1, 10.0, 10.0 + f as f64), det(f, 2, 30.0, 10.0)])
        .collect()
}

#[test]
fn tracking_perfect_prediction_scores_one() {
    let truth = two_tracks();
    let pred: Vec<Det> = (truth.iter())
        .map(|d| Det {
            track: d.track.map(|t| t + 40),
            xy: (d.xy.0 + 0.1, d.xy.1),
            ..d.clone()
        })
        .collect();
    let s = tracking::score(&truth, &pred).unwrap();
    for v in [
        s.detection_precision,
        s.detection_recall,
        s.edge_jaccard,
        s.link_recall,
        s.link_precision,
        s.track_purity,
        s.target_effectiveness,
        s.tracks_whole_fraction,
    ] {
        assert_eq!(v, Some(1.0), "{s:?}");
    }
    assert_eq!((s.truth_links, s.correct_links, s.id_switches), (8, 8, 0));
}

#[test]
fn tracking_one_swap_gives_the_known_numbers() {
    let truth = two_tracks();
    // Predicted track 10 follows truth 1 in frames 0-1, then truth 2; track 20 the other way.
    let pred: Vec<Det> = (truth.iter())
        .map(|d| {
            let t = d.track.unwrap();
            let p = if (d.frame < 2) == (t == 1) { 10 } else { 20 };
            Det {
                track: Some(p),
                ..d.clone()
            }
        })
        .collect();
    let s = tracking::score(&truth, &pred).unwrap();
    // Links: 8 truth, 8 predicted, 6 correct (the two across the swap are wrong).
    assert_eq!(
        (s.truth_links, s.predicted_links, s.correct_links),
        (8, 8, 6)
    );
    assert_eq!(s.edge_jaccard, Some(6.0 / 10.0));
    assert_eq!(s.link_recall, Some(0.75));
    assert_eq!(s.link_precision, Some(0.75));
    // Each predicted track: at most 2 of its 4 links from one truth track; likewise back.
    assert_eq!(s.track_purity, Some(0.5));
    assert_eq!(s.target_effectiveness, Some(0.5));
    assert_eq!((s.id_switches, s.tracks_whole), (2, 0));
    assert_eq!(s.detection_precision, Some(1.0));
}

#[test]
fn tracking_a_blink_is_a_gap_not_an_end() {
    // Truth track 1 blinks in frame 2: its link runs 1 -> 3.
    let mut truth = two_tracks();
    truth
        .iter_mut()
        .filter(|d| d.track == Some(1) && d.frame == 2)
        .for_each(|d| d.visible = false);
    let pred: Vec<Det> = truth.iter().filter(|d| d.visible).cloned().collect();
    let s = tracking::score(&truth, &pred).unwrap();
    assert_eq!((s.truth_links, s.correct_links), (7, 7));
    assert_eq!(s.tracks_whole, 2);
    assert_eq!(s.detection_fn, 0, "a blink is no missed detection");
    // A detection on the blinking spot is a false positive, and it breaks the link.
    let mut more = pred.clone();
    more.push(det(2, 1, 10.0, 12.0));
    let s = tracking::score(&truth, &more).unwrap();
    assert_eq!(
        (s.detection_fp, s.predicted_links, s.correct_links),
        (1, 8, 6)
    );
    assert_eq!(s.tracks_whole, 1);
    // A broken track: ids change at frame 3; one more track, no switch of a matched id...
    let broken: Vec<Det> = (pred.iter())
        .map(|d| Det {
            track: d.track.map(|t| if d.frame >= 3 && t == 2 { 9 } else { t }),
            ..d.clone()
        })
        .collect();
    let s = tracking::score(&truth, &broken).unwrap();
    assert_eq!(
        (s.predicted_tracks, s.correct_links, s.id_switches),
        (3, 6, 1)
    );
    assert_eq!(s.track_purity, Some(1.0));
    assert_eq!(s.target_effectiveness, Some(5.0 / 7.0));
}

#[test]
fn tracking_two_detections_of_one_track_in_a_frame_are_refused() {
    let truth = two_tracks();
    let mut pred = truth.clone();
    pred[1].track = Some(1);
    let e = tracking::score(&truth, &pred).unwrap_err().to_string();
    assert!(e.contains("track 1") && e.contains("frame 0"), "{e}");
}

fn ev(frame: u64, kind: &str, track: u64, x: f64) -> Event {
    Event {
        image: "m".into(),
        frame,
        kind: kind.into(),
        track: Some(track),
        xy: (x, 5.0),
    }
}

#[test]
fn tracking_events_match_by_type_within_one_frame_and_the_gate() {
    let truth = vec![
        ev(3, "release", 1, 10.0),
        ev(5, "uptake", 2, 20.0),
        ev(7, "disappearance", 3, 30.0),
        ev(2, "formation", 4, 40.0),
        ev(9, "uptake", 5, 50.0),
    ];
    let pred = vec![
        ev(4, "release", 9, 10.5),       // one frame late, 0.5 µm: match
        ev(7, "uptake", 9, 20.0),        // two frames late: no
        ev(7, "release", 9, 30.0),       // wrong type: no
        ev(2, "formation", 9, 41.4),     // 1.4 µm, the track's radius is 1.5 µm: match
        ev(2, "formation", 9, 40.2),     // closer: this one takes the truth event
        ev(6, "disappearance", 9, 31.2), // 1.2 µm > 1 µm gate: no
        // a frame early, 1.2 µm from the truth event but where its track was then: match
        ev(8, "uptake", 9, 48.8),
    ];
    let track = |radius: f64, at: &[(u64, (f64, f64))]| tracking::TruthTrack {
        radius,
        at: at.iter().copied().collect(),
    };
    let tracks: tracking::TruthTracks = [
        (("m".to_string(), 4), track(1.5, &[])),
        (("m".to_string(), 5), track(0.0, &[(8, (48.8, 5.0))])),
        // track 3 was elsewhere in frame 6: the event's own position still decides (no match)
        (("m".to_string(), 3), track(0.0, &[(6, (35.0, 5.0))])),
    ]
    .into();
    let s = tracking::score_events(&truth, &pred, &tracks);
    let by: BTreeMap<&str, (usize, usize, usize)> = (s.iter())
        .map(|e| (e.event.as_str(), (e.truth, e.predicted, e.tp)))
        .collect();
    assert_eq!(by["release"], (1, 2, 1));
    assert_eq!(by["uptake"], (2, 2, 1));
    assert_eq!(by["disappearance"], (1, 1, 0));
    assert_eq!(by["formation"], (1, 2, 1));
    let f = s.iter().find(|e| e.event == "formation").unwrap();
    assert_eq!(
        (f.precision, f.recall, f.f1),
        (Some(0.5), Some(1.0), Some(2.0 / 3.0))
    );
}

#[test]
fn tracking_scores_match_laptrack() {
    let text = std::fs::read_to_string(format!("{REFERENCE_DIR}/reference.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let read = |k: &str| {
            let t = Table::read(Path::new(&format!(
                "{REFERENCE_DIR}/{}",
                c[k].as_str().unwrap()
            )))
            .unwrap();
            tracking::read_dets(&t).unwrap()
        };
        let s = tracking::score(&read("truth"), &read("pred")).unwrap();
        let lap = &c["laptrack"];
        for (ours, theirs) in [
            (s.edge_jaccard, "Jaccard_index"),
            (s.link_recall, "true_positive_rate"),
            (s.link_precision, "precision"),
            (s.track_purity, "track_purity"),
            (s.target_effectiveness, "target_effectiveness"),
        ] {
            let want = lap[theirs].as_f64().unwrap();
            let got = ours.unwrap();
            assert!(
                (got - want).abs() < 1e-6,
                "{name} {theirs}: ours {got}, laptrack {want}"
            );
        }
        let n = &c["counts"];
        let count = |k: &str| n[k].as_u64().unwrap() as usize;
        assert_eq!(
            [
                s.detection_tp,
                s.detection_fp,
                s.detection_fn,
                s.truth_links,
                s.predicted_links,
                s.correct_links,
                s.id_switches,
                s.tracks_whole,
                s.truth_tracks,
            ],
            [
                count("detection_tp"),
                count("detection_fp"),
                count("detection_fn"),
                count("truth_links"),
                count("predicted_links"),
                count("correct_links"),
                count("id_switches"),
                count("tracks_whole"),
                count("truth_tracks"),
            ],
            "{name}"
        );
    }
}

/// A 30-frame senescent movie with every dynamics knob turned up (512 px of 0.2 µm).
fn movie(seed: u64) -> SynthConfig {
    SynthConfig {
        seed,
        frames: 30,
        cells: 3,
        condition: Condition::Senescent,
        size: 512,
        pixel_size_um: 0.2,
        cargo: vec!["Tom20".into()],
        dynamics: Dynamics {
            release: 0.6,
            drift: 0.08,
            disappear: 0.25,
            uptake: 0.6,
            blink: 0.1,
            encounters: 3,
        },
        ..SynthConfig::default()
    }
}

#[test]
fn synth_dynamics_same_seed_same_bytes_and_the_classic_scene_stays() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cfg = SynthConfig {
        frames: 8,
        size: 384,
        ..movie(4)
    };
    generate(&cfg, a.path()).unwrap();
    generate(&cfg, b.path()).unwrap();
    for name in FILES.iter().chain(&["truth_events.csv"]) {
        assert!(
            read(a.path(), name) == read(b.path(), name),
            "{name} differs"
        );
    }
    // The dynamics stream moves nothing of the classic scene.
    let dy = Scene::build(&cfg).unwrap();
    let classic = Scene::build(&SynthConfig {
        dynamics: Dynamics::default(),
        ..cfg.clone()
    })
    .unwrap();
    assert_eq!(dy.migrasomes.len(), classic.migrasomes.len());
    for (m, c) in dy.migrasomes.iter().zip(&classic.migrasomes) {
        assert_eq!(
            (m.id, m.cell, m.birth, m.pos, m.diameter),
            (c.id, c.cell, c.birth, c.pos, c.diameter)
        );
    }
    for (x, y) in dy.cells.iter().zip(&classic.cells) {
        assert_eq!((x.center, x.velocity), (y.center, y.velocity));
    }
    // Classic output has no track columns and no events file.
    let c = tempfile::tempdir().unwrap();
    generate(
        &SynthConfig {
            dynamics: Dynamics::default(),
            ..cfg
        },
        c.path(),
    )
    .unwrap();
    assert!(!c.path().join("truth_events.csv").exists());
    let head = std::fs::read_to_string(c.path().join("truth_migrasomes.csv")).unwrap();
    assert!(!head.lines().next().unwrap().contains("track_id"));
}

#[test]
fn synth_dynamics_truth_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = movie(3);
    generate(&cfg, dir.path()).unwrap();
    let scene = Scene::build(&cfg).unwrap();
    let migs = rows(&dir.path().join("truth_migrasomes.csv"));
    let events = rows(&dir.path().join("truth_events.csv"));
    let frames = cfg.frames as u64;
    let count = |k: &str| events.iter().filter(|e| e["event"] == k).count();
    for k in ["formation", "release", "disappearance", "uptake"] {
        assert!(count(k) >= 1, "no {k} event in {events:?}");
    }
    // Per track: rows on consecutive frames, steps ≤ the fastest motion (uptake).
    let mut by: BTreeMap<u64, Vec<&BTreeMap<String, String>>> = BTreeMap::new();
    for m in &migs {
        assert_eq!(m["track_id"], m["migrasome_id"]);
        by.entry(f(m, "track_id") as u64).or_default().push(m);
    }
    let vmax = DYNAMICS_MODEL.uptake_speed_um_per_frame.1 + 1e-3;
    let mut moved = 0;
    for (id, rs) in &by {
        let s = &scene.migrasomes[*id as usize - 1];
        for w in rs.windows(2) {
            assert_eq!(
                f(w[1], "frame"),
                f(w[0], "frame") + 1.0,
                "track {id} skips a frame"
            );
            let d = (f(w[1], "x_um") - f(w[0], "x_um")).hypot(f(w[1], "y_um") - f(w[0], "y_um"));
            assert!(d <= vmax, "track {id} jumps {d} µm");
            moved += usize::from(d > 1e-3);
            // released never reverts
            assert!(
                w[1]["released"] >= w[0]["released"],
                "track {id} re-attaches"
            );
        }
        let (first, last) = (
            f(rs[0], "frame") as u64,
            f(rs[rs.len() - 1], "frame") as u64,
        );
        let mine: Vec<_> = events
            .iter()
            .filter(|e| f(e, "track_id") as u64 == *id)
            .collect();
        let at = |k: &str| {
            mine.iter()
                .find(|e| e["event"] == k)
                .map(|e| f(e, "frame") as u64)
        };
        // formation: seen appearing on its fiber (one that appears released is not)
        assert_eq!(
            at("formation"),
            (first > 0 && !s.released).then_some(first),
            "track {id}"
        );
        let ends = mine
            .iter()
            .filter(|e| e["event"] == "disappearance" || e["event"] == "uptake")
            .count();
        assert_eq!(
            ends,
            usize::from(last + 1 < frames),
            "track {id}: one end event iff it ends early"
        );
        if let Some(e) = mine
            .iter()
            .find(|e| e["event"] == "disappearance" || e["event"] == "uptake")
        {
            assert_eq!(f(e, "frame") as u64, last);
        }
        if let Some(r) = at("release") {
            for m in rs {
                assert_eq!(
                    m["released"] == "1",
                    f(m, "frame") as u64 >= r,
                    "track {id} release"
                );
            }
        }
        if let Some(e) = mine.iter().find(|e| e["event"] == "uptake") {
            assert_eq!(s.end.map(|x| x.1), Some(Fate::Uptake));
            let cell = scene.cells.iter().find(|c| c.id == s.cell).unwrap();
            let gap = cell.body_sdist(P2::new(f(e, "x_um"), f(e, "y_um")), last as usize)
                - 0.5 * s.diameter;
            // it enters the body in the frame its step would touch it: in its last frame it
            // is at most one step (and the touch distance) from the outline
            assert!(
                (-1e-3..=DYNAMICS_MODEL.uptake_touch_um + vmax).contains(&gap),
                "uptake {id} {gap}"
            );
        }
        // Blinks: never the first or last frame, and hidden rows agree with the scene.
        for m in rs {
            let t = f(m, "frame") as usize;
            assert_eq!(m["visible"] == "1", s.visible(t));
            if m["visible"] == "0" {
                assert!(t as u64 != first && t as u64 != last);
            }
        }
    }
    assert!(moved > 20, "only {moved} steps moved");
    // A release breaks the fiber: from the release frame on, no fiber of the cell is drawn
    // within `fiber_break_um` of the migrasome's edge where it was attached.
    let mut broken = 0;
    for s in &scene.migrasomes {
        let Some(r) = s.release else { continue };
        let cell = scene.cells.iter().find(|c| c.id == s.cell).unwrap();
        let need = 0.5 * s.diameter + DYNAMICS_MODEL.fiber_break_um;
        for t in r.saturating_sub(1)..cfg.frames.min(r + 2) {
            let cut = scene.fiber_breaks(s.cell, t);
            assert_eq!(cut.iter().any(|&(c, _)| c == s.pos), t >= r, "{} {t}", s.id);
            let d = (cell.fibers.iter())
                .flat_map(|f| polyline_minus_disks(&f.pts, &cut))
                .map(|(a, b)| seg_dist(s.pos, a, b))
                .fold(f64::INFINITY, f64::min);
            if t >= r {
                assert!(
                    d >= need - 1e-9,
                    "migrasome {} frame {t}: fiber {d} µm",
                    s.id
                );
            }
        }
        broken += 1;
    }
    assert!(broken > 0, "no release during the movie");
    // Every frame: ≥ 1 µm edge to edge between migrasomes (0.3 µm for an encounter pair),
    // ≥ 1 µm from every body (an uptake mover: outside its own body).
    let pairs: Vec<(u32, u32)> = scene.encounters.iter().map(|e| (e.0, e.1)).collect();
    assert!(!pairs.is_empty(), "no encounter made");
    for t in 0..cfg.frames {
        let alive: Vec<_> = scene.alive(t).collect();
        for (i, a) in alive.iter().enumerate() {
            let pa = a.pos_at(t);
            for c in &scene.cells {
                // a released migrasome may be on its way into its own body (uptake)
                let uptake_own = c.id == a.cell && a.released_at(t);
                let need = if uptake_own { 0.0 } else { 1.0 };
                assert!(
                    c.body_sdist(pa, t) - 0.5 * a.diameter >= need - 1e-6,
                    "migrasome {} in frame {t} too near body {}",
                    a.id,
                    c.id
                );
            }
            for b in &alive[i + 1..] {
                let gap = pa.dist(b.pos_at(t)) - 0.5 * (a.diameter + b.diameter);
                let partner = pairs.contains(&(a.id, b.id)) || pairs.contains(&(b.id, a.id));
                let need = if partner {
                    DYNAMICS_MODEL.encounter_partner_gap_um
                } else {
                    1.0
                };
                assert!(
                    gap >= need - 1e-6,
                    "migrasomes {} and {} {gap} µm apart in frame {t}",
                    a.id,
                    b.id
                );
            }
        }
    }
    // Encounters pass 1.5-2.5 µm apart (centres) in the frame given.
    for &(a, b, t, d) in &scene.encounters {
        let (ma, mb) = (
            &scene.migrasomes[a as usize - 1],
            &scene.migrasomes[b as usize - 1],
        );
        let got = ma.pos_at(t).dist(mb.pos_at(t));
        assert!(
            (got - d).abs() < 1e-3 && (1.5 - 1e-6..=2.5 + 1e-6).contains(&got),
            "{got}"
        );
    }
}

#[test]
fn synth_dynamics_a_blinking_migrasome_is_not_rendered_bright() {
    let cfg = SynthConfig {
        frames: 16,
        ..movie(5)
    };
    let scene = Scene::build(&cfg).unwrap();
    let amp = scene.model.channels[1].amplitude_photons;
    let (n, px) = (cfg.size, cfg.pixel_size_um);
    let at = |sig: &[f32], p: P2| {
        sig[(p.y / px).round() as usize * n + (p.x / px).round() as usize] as f64
    };
    let mut checked = 0;
    let mut signals: BTreeMap<usize, Vec<f32>> = BTreeMap::new();
    for m in &scene.migrasomes {
        for &t in &m.hidden {
            for s in [t, t + 1] {
                signals
                    .entry(s)
                    .or_insert_with(|| migrascope::synth::signal(&scene, s, 1));
            }
            let hidden = at(&signals[&t], m.pos_at(t));
            let shown = at(&signals[&(t + 1)], m.pos_at(t + 1));
            // Off a fiber (released at birth: ≥ 1 µm from every fiber) the spot is at
            // background (0.1 × its peak); on one (attached, or released later and still
            // near its fiber), the fiber's ≤ 0.35 × shows through; the next frame shows it
            // at ≥ 0.8 × 0.85 × amplitude.
            let limit = if m.released { 0.15 } else { 0.5 };
            assert!(
                hidden <= limit * amp,
                "migrasome {} frame {t}: {hidden} of {amp}",
                m.id
            );
            assert!(
                shown - hidden >= 0.4 * amp,
                "migrasome {} frame {t}: {shown} vs {hidden}",
                m.id
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} blinks");
}

#[test]
fn synth_dynamics_knobs_are_checked() {
    for (d, flag) in [
        (
            Dynamics {
                blink: 0.9,
                ..Dynamics::default()
            },
            "--blink",
        ),
        (
            Dynamics {
                drift: -1.0,
                ..Dynamics::default()
            },
            "--drift",
        ),
        (
            Dynamics {
                release: f64::NAN,
                ..Dynamics::default()
            },
            "--release",
        ),
        (
            Dynamics {
                encounters: 1000,
                ..Dynamics::default()
            },
            "--encounters",
        ),
    ] {
        let e = SynthConfig {
            dynamics: d,
            ..small(1)
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains(flag), "{e}");
    }
}

/// Results made from a movie's truth: visible rows with their track id, the truth cells,
/// the truth events.
fn truth_as_results(truth: &Path, out: &Path, with_tracks: bool) {
    let text = std::fs::read_to_string(truth.join("truth_migrasomes.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let vis = head.iter().position(|h| *h == "visible").unwrap();
    let keep: Vec<usize> = (0..head.len())
        .filter(|&i| i != vis && (with_tracks || head[i] != "track_id"))
        .collect();
    let pick = |fields: &[&str]| {
        keep.iter()
            .map(|&i| fields[i])
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut s = pick(&head) + "\n";
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if f[vis] == "1" {
            s += &(pick(&f) + "\n");
        }
    }
    std::fs::write(out.join("migrasomes.csv"), s).unwrap();
    std::fs::copy(truth.join("truth_cells.csv"), out.join("cells.csv")).unwrap();
    std::fs::copy(truth.join("truth_events.csv"), out.join("events.csv")).unwrap();
}

#[test]
fn evaluate_scores_a_movie_truth_against_itself_perfectly() {
    let (truth, res, bare) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let cfg = SynthConfig {
        frames: 20,
        size: 448,
        ..movie(2)
    };
    generate(&cfg, truth.path()).unwrap();
    truth_as_results(truth.path(), res.path(), true);
    let r = evaluate(truth.path(), res.path()).unwrap();
    assert_eq!((r.precision, r.recall, r.cell_count_mae), (1.0, 1.0, 0.0));
    let t = r.tracking.as_ref().expect("tracking scored");
    for v in [
        t.edge_jaccard,
        t.track_purity,
        t.target_effectiveness,
        t.tracks_whole_fraction,
    ] {
        assert_eq!(v, Some(1.0), "{t:?}");
    }
    assert_eq!(t.id_switches, 0);
    assert!(t.truth_links > 100);
    assert_eq!(t.events.len(), 4);
    for e in &t.events {
        assert!(e.f1.is_none_or(|f| f == 1.0), "{e:?}");
    }
    assert!(
        r.table().contains("edge Jaccard 1.000") && r.json_line().contains("\"edge_jaccard\":1.0")
    );
    // Without track_id in the results: a note, no scores.
    truth_as_results(truth.path(), bare.path(), false);
    let r = evaluate(truth.path(), bare.path()).unwrap();
    assert!(r.tracking.is_none());
    assert!(
        r.tracking_note
            .as_deref()
            .unwrap()
            .contains("no track_id column")
    );
    assert!(r.table().contains("tracking not scored"));
    // Classic truth: nothing about tracking, not even in the JSON.
    let classic = tempfile::tempdir().unwrap();
    generate(
        &SynthConfig {
            dynamics: Dynamics::default(),
            ..cfg
        },
        classic.path(),
    )
    .unwrap();
    let r = evaluate(classic.path(), bare.path()).unwrap();
    assert!(r.tracking.is_none() && r.tracking_note.is_none());
    assert!(!r.json_line().contains("tracking"));
}
