//! Tracking scores (`evaluate` on movies): when the truth has tracks (`truth_migrasomes.csv`
//! with `track_id`, ≥ 2 frames) and the results' `migrasomes.csv` has `track_id`.
//!
//! Definitions (each image and frame alone, then pooled):
//! - **Matching**: in every frame, the *visible* truth detections (`visible` ≠ 0; a blinking
//!   migrasome is in the truth but not in the image) match the predicted detections one to
//!   one within max(1 µm, truth radius), closest pairs first (as `evaluate`'s detection
//!   scores). Detection precision = TP / predicted, recall = TP / visible truth.
//! - **Links**: a truth link joins two consecutive visible detections of one track (across a
//!   blink it spans the gap); a predicted link joins two consecutive detections (by frame) of
//!   one predicted track (an empty `track_id`: a detection in no track). A predicted link is
//!   correct when its two ends match the two ends of a truth link. `edge_jaccard` = correct /
//!   (truth links + predicted links − correct); `link_recall` = correct / truth links,
//!   `link_precision` = correct / predicted links. These three are laptrack's
//!   `Jaccard_index`, `true_positive_rate` and `precision` of `calc_scores` (laptrack 0.17)
//!   with the predicted nodes mapped onto the matched truth nodes, every frame included.
//! - **Track purity** (laptrack's / Chenouard 2014): for each predicted track, the most of its
//!   links that are correct links of one single truth track; summed over predicted tracks,
//!   divided by all predicted links. **Target effectiveness**: for each truth track, the most
//!   of its links that one single predicted track has; summed, divided by all truth links.
//!   Tracks without links add nothing to either sum (as in laptrack).
//! - **Tracks whole**: a truth track (≥ 1 visible detection) is recovered whole when every
//!   visible detection is matched, all of them by detections of one predicted track, and that
//!   predicted track has no other detections; `tracks_whole_fraction` = whole / truth tracks.
//! - **ID switches**: along each truth track's matched detections in frame order, every change
//!   of the predicted track id (unmatched frames skipped; an empty id is an id of its own).
//! - **Events** (`truth_events.csv` against the results' `events.csv`, per event type:
//!   formation, release, disappearance, uptake): a predicted event matches a truth event of the
//!   same type and image when their frames differ by ≤ 1 and their positions by ≤ max(1 µm,
//!   the truth track's radius); one to one, closest first (then the smaller frame difference).
//!   When the frames differ, the truth's position is also taken on its track in the predicted
//!   event's frame (the nearer of the two counts): an event called a frame early or late is
//!   where the object was in that frame, which for a migrasome heading into a cell (0.5-1.2
//!   µm per frame) is outside the gate around the truth event's own position.
//!   Precision = TP / predicted, recall = TP / truth, F1 = 2 TP / (truth + predicted).
//!
//! Ratios are `null` when their denominator is 0. Not here: reading the non-tracking columns
//! (see `evaluate`), CSV parsing (see `table`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use super::table::Table;
use super::{MIN_MATCH_UM, greedy_match, image_key};
use crate::error::{Error, Result};

/// The event types scored, in report order.
pub const EVENTS: [&str; 4] = ["formation", "release", "disappearance", "uptake"];

/// One detection: image, frame, track (`None`: in no track), centre, radius (truth), visible.
#[derive(Clone, Debug, PartialEq)]
pub struct Det {
    pub image: String,
    pub frame: u64,
    pub track: Option<u64>,
    pub xy: (f64, f64),
    pub radius: f64,
    pub visible: bool,
}

/// One event row.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub image: String,
    pub frame: u64,
    pub kind: String,
    pub track: Option<u64>,
    pub xy: (f64, f64),
}

/// Scores of one event type.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EventScore {
    pub event: String,
    pub truth: usize,
    pub predicted: usize,
    pub tp: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

/// The tracking scores (see the module doc).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TrackingScore {
    pub truth_tracks: usize,
    pub predicted_tracks: usize,
    pub detection_tp: usize,
    pub detection_fp: usize,
    pub detection_fn: usize,
    pub detection_precision: Option<f64>,
    pub detection_recall: Option<f64>,
    pub truth_links: usize,
    pub predicted_links: usize,
    pub correct_links: usize,
    pub edge_jaccard: Option<f64>,
    pub link_recall: Option<f64>,
    pub link_precision: Option<f64>,
    pub track_purity: Option<f64>,
    pub target_effectiveness: Option<f64>,
    pub tracks_whole: usize,
    pub tracks_whole_fraction: Option<f64>,
    pub id_switches: usize,
    /// Per event type; empty when events were not scored (see `events_note`).
    pub events: Vec<EventScore>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_note: Option<String>,
}

fn ratio(n: usize, d: usize) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// An optional non-negative integer field (empty: `None`).
fn opt_int(t: &Table, r: usize, c: usize) -> Result<Option<u64>> {
    if t.text(r, c).trim().is_empty() {
        Ok(None)
    } else {
        t.int(r, c).map(Some)
    }
}

/// Reads the detections of a migrasome table with a `track_id` column (truth or results):
/// `diameter_um` and `visible` are read when present (radius 0 and visible otherwise).
pub fn read_dets(t: &Table) -> Result<Vec<Det>> {
    let (ci, cf, ct, cx, cy) = (
        t.col("image")?,
        t.col("frame")?,
        t.col("track_id")?,
        t.col("x_um")?,
        t.col("y_um")?,
    );
    let cd = t.col("diameter_um").ok();
    let cv = t.col("visible").ok();
    (0..t.rows.len())
        .map(|r| {
            Ok(Det {
                image: image_key(t.text(r, ci)),
                frame: t.int(r, cf)?,
                track: opt_int(t, r, ct)?,
                xy: (t.num(r, cx)?, t.num(r, cy)?),
                radius: cd.map_or(Ok(0.0), |c| t.num(r, c).map(|d| 0.5 * d))?,
                visible: cv.map_or(Ok(true), |c| t.flag(r, c))?,
            })
        })
        .collect()
}

/// Reads an events table (`image,frame,event,track_id,cell_id,x_um,y_um`; by header name).
pub fn read_events(t: &Table) -> Result<Vec<Event>> {
    let (ci, cf, ce, ct, cx, cy) = (
        t.col("image")?,
        t.col("frame")?,
        t.col("event")?,
        t.col("track_id")?,
        t.col("x_um")?,
        t.col("y_um")?,
    );
    (0..t.rows.len())
        .map(|r| {
            let kind = t.text(r, ce).trim().to_ascii_lowercase();
            if !EVENTS.contains(&kind.as_str()) {
                return Err(Error::format(
                    &t.path,
                    format!("line {}, column 'event'", t.rows[r].0),
                    format!("'{kind}' is not one of {}", EVENTS.join(", ")),
                ));
            }
            Ok(Event {
                image: image_key(t.text(r, ci)),
                frame: t.int(r, cf)?,
                kind,
                track: opt_int(t, r, ct)?,
                xy: (t.num(r, cx)?, t.num(r, cy)?),
            })
        })
        .collect()
}

/// The detections of each track in frame order (`None` track: every detection alone); an
/// error when a track has two detections in one frame.
fn tracks(dets: &[Det], what: &str) -> Result<Vec<Vec<usize>>> {
    let mut by: BTreeMap<(&str, u64), Vec<usize>> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, d) in dets.iter().enumerate() {
        match d.track {
            Some(id) => by.entry((&d.image, id)).or_default().push(i),
            None => out.push(vec![i]),
        }
    }
    for ((image, id), mut v) in by {
        v.sort_by_key(|&i| dets[i].frame);
        if let Some(w) = v.windows(2).find(|w| dets[w[0]].frame == dets[w[1]].frame) {
            return Err(Error::invalid(format!(
                "{what}: track {id} of image '{image}' has two detections in frame {}",
                dets[w[0]].frame
            )));
        }
        out.push(v);
    }
    Ok(out)
}

/// Scores predicted tracks against truth tracks (see the module doc); events are left empty.
pub fn score(truth: &[Det], pred: &[Det]) -> Result<TrackingScore> {
    // Per (image, frame) matching of visible truth to predictions.
    // (image, frame) -> (visible truth rows, predicted rows)
    type Group = (Vec<usize>, Vec<usize>);
    let mut groups: BTreeMap<(&str, u64), Group> = BTreeMap::new();
    for (i, d) in truth.iter().enumerate().filter(|(_, d)| d.visible) {
        groups.entry((&d.image, d.frame)).or_default().0.push(i);
    }
    for (j, d) in pred.iter().enumerate() {
        groups.entry((&d.image, d.frame)).or_default().1.push(j);
    }
    let mut match_of_pred: Vec<Option<usize>> = vec![None; pred.len()];
    let mut match_of_truth: Vec<Option<usize>> = vec![None; truth.len()];
    for (ti, pj) in groups.values() {
        let a: Vec<_> = ti.iter().map(|&i| truth[i].xy).collect();
        let b: Vec<_> = pj.iter().map(|&j| pred[j].xy).collect();
        for (i, j, _) in greedy_match(&a, &b, |i| MIN_MATCH_UM.max(truth[ti[i]].radius)) {
            match_of_pred[pj[j]] = Some(ti[i]);
            match_of_truth[ti[i]] = Some(pj[j]);
        }
    }
    let visible = truth.iter().filter(|d| d.visible).count();
    let tp = match_of_pred.iter().flatten().count();

    // Truth tracks over visible detections; links between consecutive ones.
    let vis: Vec<usize> = (0..truth.len()).filter(|&i| truth[i].visible).collect();
    let vis_dets: Vec<Det> = vis.iter().map(|&i| truth[i].clone()).collect();
    let ttracks: Vec<Vec<usize>> = tracks(&vis_dets, "truth")?
        .into_iter()
        .map(|v| v.into_iter().map(|k| vis[k]).collect())
        .collect();
    let ptracks = tracks(pred, "results")?;
    let mut track_of_truth = vec![usize::MAX; truth.len()];
    for (g, tr) in ttracks.iter().enumerate() {
        tr.iter().for_each(|&i| track_of_truth[i] = g);
    }
    let mut track_of_pred = vec![usize::MAX; pred.len()];
    for (p, tr) in ptracks.iter().enumerate() {
        tr.iter().for_each(|&j| track_of_pred[j] = p);
    }
    let truth_links: HashSet<(usize, usize)> = ttracks
        .iter()
        .flat_map(|tr| tr.windows(2).map(|w| (w[0], w[1])))
        .collect();
    let n_truth_links = truth_links.len();
    // Correct predicted links: (predicted track, truth track) pairs.
    let mut n_pred_links = 0;
    let mut correct: Vec<(usize, usize)> = Vec::new();
    for (p, tr) in ptracks.iter().enumerate() {
        for w in tr.windows(2) {
            n_pred_links += 1;
            if let (Some(a), Some(b)) = (match_of_pred[w[0]], match_of_pred[w[1]])
                && truth_links.contains(&(a, b))
            {
                correct.push((p, track_of_truth[a]));
            }
        }
    }
    let nc = correct.len();
    let mut overlap: HashMap<(usize, usize), usize> = HashMap::new();
    for &pg in &correct {
        *overlap.entry(pg).or_default() += 1;
    }
    let best = |key: &dyn Fn(&(usize, usize)) -> usize| -> usize {
        let mut m: HashMap<usize, usize> = HashMap::new();
        for (k, &n) in &overlap {
            let e = m.entry(key(k)).or_default();
            *e = (*e).max(n);
        }
        m.values().sum()
    };
    let purity_sum = best(&|k| k.0);
    let effect_sum = best(&|k| k.1);

    // Whole tracks and ID switches.
    let mut whole = 0;
    let mut switches = 0;
    for tr in &ttracks {
        let ps: Vec<Option<usize>> = tr
            .iter()
            .map(|&i| match_of_truth[i].map(|j| track_of_pred[j]))
            .collect();
        let matched: Vec<usize> = ps.iter().flatten().copied().collect();
        switches += matched.windows(2).filter(|w| w[0] != w[1]).count();
        if matched.len() == tr.len()
            && matched.iter().all(|&p| p == matched[0])
            && ptracks[matched[0]].len() == tr.len()
        {
            whole += 1;
        }
    }
    Ok(TrackingScore {
        truth_tracks: ttracks.len(),
        predicted_tracks: ptracks.len(),
        detection_tp: tp,
        detection_fp: pred.len() - tp,
        detection_fn: visible - tp,
        detection_precision: ratio(tp, pred.len()),
        detection_recall: ratio(tp, visible),
        truth_links: n_truth_links,
        predicted_links: n_pred_links,
        correct_links: nc,
        edge_jaccard: ratio(nc, n_truth_links + n_pred_links - nc),
        link_recall: ratio(nc, n_truth_links),
        link_precision: ratio(nc, n_pred_links),
        track_purity: ratio(purity_sum, n_pred_links),
        target_effectiveness: ratio(effect_sum, n_truth_links),
        tracks_whole: whole,
        tracks_whole_fraction: ratio(whole, ttracks.len()),
        id_switches: switches,
        events: Vec::new(),
        events_note: None,
    })
}

/// One truth track, for scoring events: its radius and its position in each frame it has.
#[derive(Clone, Debug, Default)]
pub struct TruthTrack {
    pub radius: f64,
    pub at: HashMap<u64, (f64, f64)>,
}

/// The truth tracks by (image, track id).
pub type TruthTracks = HashMap<(String, u64), TruthTrack>;

/// The truth tracks from the truth's detections (those without a track id are left out).
pub fn truth_tracks(truth: &[Det]) -> TruthTracks {
    let mut t = TruthTracks::new();
    for d in truth {
        if let Some(id) = d.track {
            let tr = t.entry((d.image.clone(), id)).or_default();
            tr.radius = d.radius;
            tr.at.insert(d.frame, d.xy);
        }
    }
    t
}

/// Scores predicted events against truth events per type (see the module doc).
pub fn score_events(truth: &[Event], pred: &[Event], tracks: &TruthTracks) -> Vec<EventScore> {
    EVENTS
        .iter()
        .map(|&kind| {
            let t: Vec<&Event> = truth.iter().filter(|e| e.kind == kind).collect();
            let p: Vec<&Event> = pred.iter().filter(|e| e.kind == kind).collect();
            let mut pairs = Vec::new();
            for (i, a) in t.iter().enumerate() {
                let track = a.track.and_then(|id| tracks.get(&(a.image.clone(), id)));
                let gate = track.map_or(MIN_MATCH_UM, |tr| MIN_MATCH_UM.max(tr.radius));
                for (j, b) in p.iter().enumerate() {
                    let df = a.frame.abs_diff(b.frame);
                    if a.image != b.image || df > 1 {
                        continue;
                    }
                    let dist = |xy: (f64, f64)| (xy.0 - b.xy.0).hypot(xy.1 - b.xy.1);
                    // a frame off: the truth track where it is in the predicted frame, if it
                    // is there then
                    let then = track.filter(|_| df == 1).and_then(|tr| tr.at.get(&b.frame));
                    let d = then.map_or(dist(a.xy), |&xy| dist(a.xy).min(dist(xy)));
                    if d <= gate {
                        pairs.push((d, df, i, j));
                    }
                }
            }
            pairs.sort_by(|x, y| {
                (x.0.total_cmp(&y.0))
                    .then(x.1.cmp(&y.1))
                    .then(x.2.cmp(&y.2))
                    .then(x.3.cmp(&y.3))
            });
            let (mut ut, mut up) = (BTreeSet::new(), BTreeSet::new());
            let mut tp = 0;
            for (_, _, i, j) in pairs {
                if !ut.contains(&i) && !up.contains(&j) {
                    ut.insert(i);
                    up.insert(j);
                    tp += 1;
                }
            }
            EventScore {
                event: kind.to_string(),
                truth: t.len(),
                predicted: p.len(),
                tp,
                precision: ratio(tp, p.len()),
                recall: ratio(tp, t.len()),
                f1: ratio(2 * tp, t.len() + p.len()),
            }
        })
        .collect()
}

fn opt(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.3}"))
}

impl TrackingScore {
    /// The table lines of `evaluate`.
    pub fn table(&self) -> String {
        let mut s = format!(
            "tracking    truth tracks {}, predicted {}  detections precision {}  recall {}\n",
            self.truth_tracks,
            self.predicted_tracks,
            opt(self.detection_precision),
            opt(self.detection_recall)
        );
        s += &format!(
            "            links: truth {}, predicted {}, correct {}  edge Jaccard {}  link recall {}  link precision {}\n",
            self.truth_links,
            self.predicted_links,
            self.correct_links,
            opt(self.edge_jaccard),
            opt(self.link_recall),
            opt(self.link_precision)
        );
        s += &format!(
            "            track purity {}  target effectiveness {}  tracks whole {}/{} ({})  ID switches {}\n",
            opt(self.track_purity),
            opt(self.target_effectiveness),
            self.tracks_whole,
            self.truth_tracks,
            opt(self.tracks_whole_fraction),
            self.id_switches
        );
        for e in &self.events {
            s += &format!(
                "event {:<13} truth {}, predicted {}, matched {}  precision {}  recall {}  F1 {}\n",
                e.event,
                e.truth,
                e.predicted,
                e.tp,
                opt(e.precision),
                opt(e.recall),
                opt(e.f1)
            );
        }
        if let Some(n) = &self.events_note {
            s += &format!("events      {n}\n");
        }
        s
    }
}
