//! Hand-made cases of the streaming tracker.

use super::*;

fn pt(x: f64, y: f64, id: u32) -> Point {
    Point {
        x,
        y,
        features: [100.0, 1.0],
        id,
    }
}

/// Runs `frames` through a tracker; returns per frame the track of each point, and the ends.
fn run(p: &LinkParams, frames: &[Vec<Point>]) -> (Vec<Vec<u32>>, Vec<TrackEnd>, Vec<Final>) {
    let mut t = Tracker::new(p);
    let mut ids: Vec<Vec<u32>> = frames.iter().map(|f| vec![0; f.len()]).collect();
    let mut ends = Vec::new();
    let mut finals = Vec::new();
    let mut take = |o: Output, ids: &mut Vec<Vec<u32>>| {
        for s in &o.spots {
            assert_eq!(ids[s.frame][s.index], 0, "a spot made final twice");
            ids[s.frame][s.index] = s.track;
        }
        finals.extend(o.spots);
        ends.extend(o.ends);
    };
    for (f, pts) in frames.iter().enumerate() {
        let o = t.push(pts);
        // a spot is final max_frame_gap - 1 frames after its own
        let lag = p.max_frame_gap as usize - 1;
        if f >= lag {
            assert!(
                t.final_before() > f - lag,
                "frame {} not final at {f}",
                f - lag
            );
        }
        take(o, &mut ids);
    }
    take(t.finish(), &mut ids);
    for f in &ids {
        assert!(f.iter().all(|&i| i != 0), "a spot never made final");
    }
    (ids, ends, finals)
}

fn params(g: u32) -> LinkParams {
    LinkParams {
        max_frame_gap: g,
        ..LinkParams::migrasomes()
    }
}

#[test]
fn a_single_frame_keeps_its_ids() {
    let (ids, ends, _) = run(
        &params(2),
        &[vec![pt(0.0, 0.0, 3), pt(9.0, 0.0, 1), pt(20.0, 0.0, 7)]],
    );
    assert_eq!(ids, vec![vec![3, 1, 7]]);
    assert_eq!(ends.len(), 3);
}

#[test]
fn still_spots_keep_their_track_and_new_ones_count_on() {
    let f0 = vec![pt(0.0, 0.0, 1), pt(10.0, 0.0, 2)];
    let f1 = vec![pt(10.1, 0.0, 1), pt(0.1, 0.1, 2), pt(30.0, 0.0, 3)];
    let f2 = vec![pt(30.2, 0.0, 1), pt(0.0, 0.1, 2), pt(10.0, 0.2, 3)];
    let (ids, ends, _) = run(&params(2), &[f0, f1, f2]);
    assert_eq!(ids, vec![vec![1, 2], vec![2, 1, 3], vec![3, 1, 2]]);
    assert_eq!(ends.len(), 3);
    assert!(ends.iter().all(|e| e.last_frame == 2));
}

#[test]
fn a_gap_of_two_missed_frames_is_closed() {
    // present in frames 0-2, missed in 3 and 4, back in 5-6: frame difference 3
    let mut frames = Vec::new();
    for f in 0..7 {
        let mut v = vec![pt(50.0, 50.0, 1)];
        if !(3..=4).contains(&f) {
            v.push(pt(0.2 * f as f64, 0.0, 2));
        }
        frames.push(v);
    }
    let (ids, ends, finals) = run(&params(3), &frames);
    assert!(ids.iter().all(|f| f[0] == 1));
    assert!(
        ids.iter().filter(|f| f.len() == 2).all(|f| f[1] == 2),
        "{ids:?}"
    );
    assert_eq!(ends.len(), 2);
    let gap = finals
        .iter()
        .flat_map(|f| &f.incoming)
        .filter(|e| e.kind == LinkKind::Gap)
        .count();
    assert_eq!(gap, 1);
    // with max_frame_gap 2 the same gap is too long: a new track
    let (ids, ends, _) = run(&params(2), &frames);
    assert_eq!(ids[5][1], 3);
    assert_eq!(ends.len(), 3);
    assert_eq!(
        ends.iter().find(|e| e.track == 2).map(|e| e.last_frame),
        Some(2)
    );
}

#[test]
fn a_spot_seen_in_single_frames_is_gap_closed() {
    // seen in frames 0, 2, 4 only: every segment is one spot long
    let frames: Vec<Vec<Point>> = (0..5)
        .map(|f| {
            if f % 2 == 0 {
                vec![pt(5.0, 5.0, 4)]
            } else {
                vec![]
            }
        })
        .collect();
    let (ids, ends, _) = run(&params(2), &frames);
    assert_eq!(ids[0], vec![4]);
    assert_eq!(ids[2], vec![4]);
    assert_eq!(ids[4], vec![4]);
    assert_eq!(ends.len(), 1);
}

#[test]
fn a_division_splits_off_a_daughter_track() {
    let p = LinkParams::cells();
    // the mother at (50, 50) divides at frame 3 into two daughters moving apart
    let mut frames = Vec::new();
    for f in 0..6 {
        if f < 3 {
            frames.push(vec![pt(50.0, 50.0, 1)]);
        } else {
            let d = 3.0 * (f - 2) as f64;
            frames.push(vec![pt(50.0 - d, 50.0, 1), pt(50.0 + d + 0.5, 50.0, 2)]);
        }
    }
    let (ids, ends, finals) = run(&p, &frames);
    assert_eq!(ids[2], vec![1]);
    assert_eq!(ids[3], vec![1, 2]);
    assert_eq!(ids[5], vec![1, 2]);
    let daughter = finals.iter().find(|f| f.track == 2).unwrap();
    assert_eq!(daughter.starts, Some(Some(1)));
    assert_eq!(daughter.incoming.len(), 1);
    assert_eq!(daughter.incoming[0].kind, LinkKind::Split);
    assert_eq!(ends.len(), 2);
    // without splitting, the daughter is a track of its own, of no parent
    let p = LinkParams {
        allow_splitting: false,
        ..p
    };
    let (_, _, finals) = run(&p, &frames);
    let daughter = finals.iter().find(|f| f.track == 2).unwrap();
    assert_eq!(daughter.starts, Some(None));
}

#[test]
fn two_spots_coming_together_merge() {
    let p = LinkParams {
        allow_merging: true,
        ..params(2)
    };
    // A still at 0; B approaches and disappears into A at frame 3
    let mut frames = Vec::new();
    for f in 0..6 {
        let mut v = vec![pt(0.0, 0.0, 1)];
        if f < 3 {
            v.push(pt(1.5 - 0.4 * f as f64, 0.0, 2));
        }
        frames.push(v);
    }
    let (ids, ends, finals) = run(&p, &frames);
    assert!(ids.iter().all(|f| f[0] == 1));
    assert_eq!(ids[2][1], 2);
    let b = ends.iter().find(|e| e.track == 2).unwrap();
    assert_eq!((b.last_frame, b.merged_into), (2, Some(1)));
    let merges: Vec<&Edge> = finals
        .iter()
        .flat_map(|f| &f.incoming)
        .filter(|e| e.kind == LinkKind::Merge)
        .collect();
    assert_eq!(merges.len(), 1);
    // without merging B simply ends
    let (_, ends, _) = run(&params(2), &frames);
    assert_eq!(
        ends.iter().find(|e| e.track == 2).unwrap().merged_into,
        None
    );
}

#[test]
fn crossing_tracks_follow_the_cheaper_assignment() {
    // two spots 0.5 µm apart passing each other: each moves 0.2 µm per frame toward and
    // past the other; d² says each keeps its own side of the motion, not swapping
    let mut frames = Vec::new();
    for f in 0..5 {
        let s = 0.2 * f as f64;
        frames.push(vec![pt(0.0 + s, 0.0, 1), pt(1.0 - s, 0.3, 2)]);
    }
    let (ids, _, _) = run(&params(2), &frames);
    assert!(ids.iter().all(|f| f == &vec![1, 2]), "{ids:?}");
}

#[test]
fn memory_holds_a_bounded_window() {
    let mut t = Tracker::new(&params(2));
    for f in 0..500 {
        let pts: Vec<Point> = (0..20)
            .map(|i| pt(10.0 * i as f64, 0.01 * f as f64, i + 1))
            .collect();
        t.push(&pts);
        assert!(
            t.nodes.len() <= 20 * (2 * 2 + 2),
            "{} nodes held",
            t.nodes.len()
        );
    }
    let o = t.finish();
    assert_eq!(o.ends.len(), 20);
    assert!(o.ends.iter().all(|e| e.last_frame == 499));
}

mod random {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// On random movies, with merging and splitting on or off: every spot is made final
        /// exactly once, in frame order; no two spots of a frame share a track; every track
        /// ends once, after its last spot; an edge goes forward 1..=max_frame_gap frames.
        #[test]
        fn every_spot_gets_one_track_and_every_track_ends_once(
            frames in proptest::collection::vec(
                proptest::collection::vec((0.0f64..12.0, 0.0f64..12.0), 0..6), 1..9),
            g in 1u32..4,
            merge in any::<bool>(),
            split in any::<bool>(),
        ) {
            let p = LinkParams {
                max_frame_gap: g,
                allow_merging: merge,
                allow_splitting: split,
                ..LinkParams::migrasomes()
            };
            let pts: Vec<Vec<Point>> = frames
                .iter()
                .map(|f| f.iter().enumerate().map(|(i, &(x, y))| pt(x, y, i as u32 + 1)).collect())
                .collect();
            let (ids, ends, finals) = run(&p, &pts);
            let mut last_frame = 0;
            let mut last_of: std::collections::HashMap<u32, usize> = Default::default();
            for f in &finals {
                prop_assert!(f.frame >= last_frame);
                last_frame = f.frame;
                last_of.insert(f.track, f.frame);
                for e in &f.incoming {
                    prop_assert!(e.source_frame < f.frame);
                    prop_assert!(f.frame - e.source_frame <= g as usize);
                }
            }
            for f in &ids {
                let set: std::collections::HashSet<_> = f.iter().collect();
                prop_assert_eq!(set.len(), f.len());
            }
            let mut ended = std::collections::HashSet::new();
            for e in &ends {
                prop_assert!(ended.insert(e.track), "track {} ended twice", e.track);
                prop_assert_eq!(Some(&e.last_frame), last_of.get(&e.track));
            }
            prop_assert_eq!(ended.len(), last_of.len());
        }
    }
}
