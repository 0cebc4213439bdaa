//! Tracking in the results of one image: migrasomes and cells are tracked frame by frame as
//! the engine hands its results over ([`crate::track`]); each frame's rows wait until the
//! tracks of its detections are final (a few frames: `max_frame_gap` − 1) and those of the
//! next `released_lookahead` frames too (8: see below), then go out with
//! `track_id` in `migrasomes.csv` and the cell's track as `cell_id` everywhere. Finished
//! tracks go to `tracks.csv` as they end, events (formation, release, disappearance, uptake) to
//! `events.csv` as they are known, the spots and tracks to `<image>.xml` (TrackMate's file).
//! A frame is handed out twice: early ([`Early`]), once its own tracks are final, for what
//! needs only the ids (label images, track tails, the QC overlay without the released
//! rings), which may drop its planes; then as [`Ready`] for the rows. Memory holds a few
//! frames and the tracks that have not ended (for the release, a few words per detection of
//! each), whatever the movie's length.
//!
//! Events (migrasome tracks only; a track with fewer than `MIN_EVENT_SPOTS` detections makes
//! none):
//! - `formation`: a track that begins after the first frame, attached (its state in its
//!   first frame, as the `released` column gives it, see below: since stop 33; its first
//!   frame's own call before, which at SNR 4-5 often calls a new migrasome on a faint fiber
//!   released), not within `border_margin_um` of the field's border, and not split off
//!   another track;
//! - `release`: known when the track has ended ([`ReleaseFit`]): the step down in the
//!   track's fiber contact (`Migrasome::fiber_contact`: a fiber running into the migrasome,
//!   or none) that fits it best, when the contact before the step is at least
//!   `release_drop` times the contact from it on (geometric means; or, a faint fiber's,
//!   `release_faint_drop` times when the contact after it is no fiber's and the step
//!   stands out of the track's scatter), the frame calls before it are mostly attached,
//!   and at least `release_persistence` detections follow from it on; the event's frame is
//!   the step's; or the start of its motion, when a track that sat still moves off
//!   (`release_motion_um`, see [`ReleaseFit::moved`]), if that comes earlier. A track mostly
//!   released from its first detection
//!   makes none (it was released before it was seen), and a track makes one at most
//!   (released is final);
//! - `disappearance`: a track that ends before the last frame, not near the border, not by
//!   merging into another;
//! - `uptake`: such a track whose last detection's edge is within `uptake_max_gap_um` of a
//!   cell body: the cell took it up (its `cell_id` is that cell's). It need not have been
//!   seen released (on the stop-11 movies true uptakes ended 0.45–1.26 µm from a body, true
//!   disappearances 1.8 µm and more).
//!
//! Each detection's `released` (in every table, the QC pictures and the TrackMate file) is its
//! track's state, not its frame's own call (the network of fibers reaching a body, which
//! noise ridges across the gap to a broken fiber's end often still call attached, and which
//! a faint fiber cut by the noise calls released): the same fit on the track's detections up
//! to `released_lookahead` frames later ([`ReleaseFit::state_at`]; released at its step is
//! final), so
//! a frame's rows wait that many frames more. A track's release event is the fit on all of
//! it, so the two can differ by a few frames. `released_lookahead` 0: the frame's own call.
//!
//! Not here: the tracking itself (see `track`), the other tables (see `tables`).

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};

use crate::error::{Error, Result};
use crate::image::Plane;
use crate::pipeline::migrasome::FrameResult;
use crate::pipeline::migrasome::config::TrackingParams;
use crate::pipeline::migrasome::frame::Migrasome;
use crate::pipeline::migrasome::frame::count_released;
use crate::report::overlay::QcBase;
use crate::track::{Edge, Final, Point, TrackEnd, Tracker};

/// The tracking tables, per image and combined.
pub const TRACK_TABLES: [&str; 2] = ["tracks.csv", "events.csv"];
/// Fewest detections of a track that make events: a detection in one frame alone (most
/// often a false one) neither forms nor disappears.
pub const MIN_EVENT_SPOTS: usize = 2;
/// TrackMate's file format version written (the `TrackMate version` attribute).
pub const TRACKMATE_VERSION: &str = "7.11.1";

/// Per (z, cell id): the cell's formation and release rates per hour, where known.
pub type CellRates = HashMap<(usize, u32), (Option<f64>, Option<f64>)>;

/// A frame's ids once its tracks are final (or its own ids, tracking off).
#[derive(Clone, Debug, Default)]
pub struct FrameIds {
    /// Per cell (in `FrameResult::cells` order): its id in the tables (its track).
    pub cell: Vec<u32>,
    /// Per migrasome: its track (None: tracking off).
    pub track: Vec<Option<u32>>,
    /// Per migrasome: its cell's id in the tables (0: none).
    pub cell_of_migrasome: Vec<u32>,
    /// Per migrasome: the cell of its track's first detection.
    pub origin_cell: Vec<Option<u32>>,
}

impl FrameIds {
    /// The frame's own ids.
    pub fn own(f: &FrameResult) -> FrameIds {
        FrameIds {
            cell: f.cells.iter().map(|c| c.id).collect(),
            track: vec![None; f.migrasomes.len()],
            cell_of_migrasome: f.migrasomes.iter().map(|m| m.cell_id).collect(),
            origin_cell: vec![None; f.migrasomes.len()],
        }
    }
}

/// A frame ready to write.
pub struct Ready {
    pub t: usize,
    pub z: usize,
    pub f: FrameResult,
    /// Its QC overlay as drawn by the early hand-out ([`Early`]), when it has one.
    pub qc: Option<QcBase>,
    pub ids: FrameIds,
}

/// A frame whose tracks are final, handed out before its migrasomes' released states are
/// (those wait `released_lookahead` frames more): for what needs only the ids (label images,
/// track tails, the QC overlay without the released rings). The hand-out may take the
/// planes and clear the frame's label planes (`FrameLabels::default()`), so that a frame
/// waiting for its states holds only its results and its overlay; it returns the overlay.
pub struct Early<'a> {
    pub t: usize,
    pub z: usize,
    pub f: &'a mut FrameResult,
    /// The input planes, for its QC pictures (`None`: no QC picture of this frame).
    pub planes: Option<Vec<Plane>>,
    /// Cell tracks and migrasome tracks (`cell_of_migrasome` and `origin_cell` empty).
    pub ids: &'a FrameIds,
}

/// A frame waiting for its tracks.
struct Pending {
    t: usize,
    z: usize,
    f: FrameResult,
    planes: Option<Vec<Plane>>,
    cells: Vec<Option<Final>>,
    migrasomes: Vec<Option<Final>>,
    /// Once handed out early (its tracks final).
    early: Option<Handed>,
}

/// What the early hand-out of a frame leaves for its rows.
struct Handed {
    /// Per migrasome: its edge's gap to the nearest body (µm, see `body_gap_um`; measured
    /// then, while the label planes are here).
    gaps: Vec<f64>,
    /// Its cell tracks and migrasome tracks (the rest is filled in when it is written).
    ids: FrameIds,
    qc: Option<QcBase>,
}

impl Pending {
    fn complete(&self) -> bool {
        self.cells.iter().all(Option::is_some) && self.migrasomes.iter().all(Option::is_some)
    }
}

/// A migrasome track not ended yet.
struct TrackAcc {
    first_frame: usize,
    last_frame: usize,
    origin_cell: u32,
    last_cell: u32,
    n: usize,
    path_um: f64,
    last_pos: (f64, f64),
    sum_diameter: f64,
    cargo_positive: Vec<usize>,
    /// The formation frame if the track's start is one (called once it has
    /// `MIN_EVENT_SPOTS` detections).
    formation: Option<usize>,
    first_pos: (f64, f64),
    release: Option<usize>,
    split_from: Option<u32>,
    /// The last detection's gap to the nearest cell body (µm; ∞ beyond the uptake gap).
    body_gap_um: f64,
    /// The fiber contacts and released calls of its detections, for the release.
    release_fit: ReleaseFit<((f64, f64), u32)>,
    /// Its state in the last frame written (see `TrackingParams::released_lookahead`).
    state: Released,
}

/// Contacts below this (over the fiber threshold) count as this in the release fit: a ring
/// without a ridge (0) is no fiber, not an infinitely deep drop.
pub const CONTACT_FLOOR: f64 = 0.1;
/// Before a release the contact is a fiber's: its geometric mean at least the fiber
/// threshold.
pub const MIN_CONTACT_BEFORE: f64 = 1.0;
/// A track's state ([`ReleaseFit::state_at`]) turns released for good at a release with at
/// least this many ring detections before it; after fewer it is released but judged again
/// in the next frame. In a track's first frames the fit holds the detections up to
/// `released_lookahead` frames on, and one bright first ring made a step that the longer
/// track does not have (stop 30, movie 61: an attached migrasome on a faint fiber at SNR 4,
/// released for good from its second frame on). Pooled released accuracy on the 22 movies
/// 0.949 / 0.953 / 0.984 → 0.955 / 0.958 / 0.984 (replayed). Not asking the two rings for
/// the step at all (a true release right after a track's first detection then waits for the
/// frame calls) was better there but lost 0.047 on the test movie of seed 8.
pub const STATE_MIN_BEFORE: usize = 2;
/// A track that starts to move ([`ReleaseFit::moved`]) sat still before: each detection
/// within this fraction of `ReleaseRule::motion_um` of the mean of those before it ...
pub const MOTION_STILL: f64 = 0.6;
/// ... for at least this many detections (3 took a migrasome seen released at its birth,
/// called attached in its first two frames, for one released as it moved off);
pub const MOTION_MIN_STILL: usize = 5;
/// the detection after the first one that moved lies farther by this fraction of
/// `motion_um`;
pub const MOTION_GROW: f64 = 0.5;
/// the release is sought in the frames this many before the motion.
pub const MOTION_WINDOW: usize = 4;

/// The release from the windowed contact (`fibers.contact_frames`, see
/// [`ReleaseFit::release`]): a detection counts where the track sat this still (µm) over its
/// window;
pub const WINDOW_STILL_UM: f64 = 0.3;
/// a release that only the windowed contact shows ([`ReleaseFit::window_step`]) needs this
/// many such detections,
pub const WINDOW_MIN_POINTS: usize = 6;
/// a drop of this many times, at least,
pub const WINDOW_DROP: f64 = 1.5;
/// from at least this (a fiber's, over the windowed threshold: a still attached migrasome
/// reads 2-3 at SNR 4-5),
pub const WINDOW_MIN_BEFORE: f64 = 1.5;
/// and a ramp this many standard errors deep. Stop 32, 14 movies at SNR 4-5 (replays of
/// `migrasomes.csv` with the release moved as [`ReleaseFit::retimed`] does): release F1
/// 0.709 → 0.758 (+8 found, +9 called); 4 to 6 standard errors and 1.3 to 1.5 times give
/// 0.750-0.758. Tuned on 7 of the movies, it gave +0.04 on the other 7 either way.
pub const WINDOW_MIN_T: f64 = 5.0;

/// A release found where the windowed contact of the frames after it keeps this much of its
/// level before is none ([`fiber_kept`]): a still migrasome's fiber is still there. Stop 32,
/// replays of `migrasomes.csv`: 0.7 drops 5 false releases of 96 on the 14 SNR 4-5 movies
/// (F1 0.721 → 0.740) and 1 of 33 at SNR 6-7 (0.853 → 0.866), none true, and changes nothing
/// at SNR 8-12 nor on the 6 fresh SNR 4-5 movies; true releases kept at most 0.64 of it
/// (0.6 dropped a true one, 0.65 one false more on the fresh movies).
pub const WINDOW_KEPT: f64 = 0.7;

/// The release of one track as a step down in its fiber contact. The frame's own call
/// (attached or released) is not enough: a freed migrasome whose broken fiber ends 1.5 µm
/// away is still called attached in about half its frames when noise ridges bridge the gap
/// (`synth --dynamics` movies 33-36: a step fit of the calls found 9 of 25 releases, this
/// fit 24 of 25), while its contact drops from 1.5-3 to under 1 in the frame the fiber
/// breaks. The step is
/// placed where a two-level fit of ln(contact) explains the most (ties: the earliest); each
/// detection's log contact, call and what it carries are kept until the track ends.
#[derive(Clone, Debug)]
pub struct ReleaseFit<T> {
    /// Per detection with a contact ring: frame, ln(max(contact, CONTACT_FLOOR)), the
    /// frame's released call, and what it carries.
    seen: Vec<(usize, f64, bool, T)>,
    /// Per detection: frame, centre (µm), the frame's released call, and what it carries
    /// (for the motion, see [`ReleaseFit::release`]).
    path: Vec<(usize, (f64, f64), bool, T)>,
    /// Per detection with a windowed contact (`Migrasome::fiber_contact_window`): frame,
    /// ln(max(contact, CONTACT_FLOOR)) and its index in `path` (for whether it sat still).
    window: Vec<(usize, f64, usize)>,
    /// The frame calls of all its detections: released ones, all.
    calls: (usize, usize),
}

impl<T> Default for ReleaseFit<T> {
    fn default() -> Self {
        ReleaseFit {
            seen: Vec::new(),
            path: Vec::new(),
            window: Vec::new(),
            calls: (0, 0),
        }
    }
}

/// One detection pushed to a [`ReleaseFit`]: its frame's released call, its fiber contact
/// (`None`: no contact ring), its windowed fiber contact (`None`: none), its frame, its
/// centre (µm) and what it carries.
pub type FitDetection<T> = (bool, Option<f64>, Option<f64>, usize, (f64, f64), T);

impl<T: Clone> ReleaseFit<T> {
    /// The next detection of the track (frames in order): its frame's released call, its
    /// fiber contact (`None`: no contact ring, all of it in the body zone, which says
    /// nothing of a fiber) and its centre (µm).
    pub fn push(&mut self, (released, contact, window, frame, pos, at): FitDetection<T>) {
        self.calls.0 += usize::from(released);
        self.calls.1 += 1;
        if let Some(c) = contact {
            let log = c.max(CONTACT_FLOOR).ln();
            self.seen.push((frame, log, released, at.clone()));
        }
        if let Some(w) = window {
            let log = w.max(CONTACT_FLOOR).ln();
            self.window.push((frame, log, self.path.len()));
        }
        self.path.push((frame, pos, released, at));
    }

    /// `judge` of the fit with `more` detections pushed after the track's (the frames ahead),
    /// which then go again (no copy of the track's detections).
    pub fn with_more<R>(
        &mut self,
        more: impl IntoIterator<Item = FitDetection<T>>,
        judge: impl FnOnce(&Self) -> R,
    ) -> R {
        let (n, k, w, calls) = (
            self.seen.len(),
            self.path.len(),
            self.window.len(),
            self.calls,
        );
        for d in more {
            self.push(d);
        }
        let r = judge(self);
        self.seen.truncate(n);
        self.path.truncate(k);
        self.window.truncate(w);
        self.calls = calls;
        r
    }

    /// The track's state in frame `t`, judged on the detections pushed so far (those of
    /// `tracking.released_lookahead` frames after `t` included): released when the release
    /// that [`ReleaseFit::release`] finds on them is at or before `t` (for good when at least
    /// `STATE_MIN_BEFORE` ring detections lie before it), attached when it is later; without
    /// one, released when most of the frame calls so far are (a migrasome released before it
    /// was seen). A state not for good is judged again in the next frame (noise ridges can
    /// call an attached one released in its first few frames, and one bright first ring can
    /// make a step).
    pub fn state_at(&self, t: usize, rule: &ReleaseRule) -> Released {
        match self.release(rule) {
            Some((frame, _)) if frame <= t => {
                let before = self.seen.iter().take_while(|s| s.0 < frame).count();
                if before >= STATE_MIN_BEFORE {
                    Released::Step
                } else {
                    Released::Again
                }
            }
            Some(_) => Released::Attached,
            None if 2 * self.calls.0 > self.calls.1 => Released::Again,
            None => Released::Attached,
        }
    }

    /// The release (its frame and what that detection carries), once the track has ended:
    /// the earlier of the step in its contact (`ReleaseFit::step`) and the start of its
    /// motion ([`ReleaseFit::moved`]): a migrasome does not move while its fiber holds it
    /// (the step of a freed one that travels over fibers on its way can come late or not at
    /// all).
    ///
    /// With the windowed contact (`rule.window_frames` ≥ 2), the release's frame is then
    /// placed where the windowed contact of the track's still detections ramps down
    /// ([`ReleaseFit::retimed`]), it is no release where that contact shows the fiber still
    /// there after it ([`fiber_kept`]), and a track where neither rule finds one is released
    /// where that ramp alone stands out ([`ReleaseFit::window_step`]).
    pub fn release(&self, rule: &ReleaseRule) -> Option<(usize, T)> {
        let step = self.step(rule);
        let found = match self.moved(rule) {
            Some(m) if step.as_ref().is_none_or(|s| m.0 < s.0) => Some(m),
            _ => step,
        };
        if rule.window_frames < 2 {
            return found;
        }
        let still = self.still_window(rule);
        match found {
            Some(r) => {
                let r = self.retimed(r, &still, rule);
                (!fiber_kept(&still, r.0, rule.window_frames)).then_some(r)
            }
            None => self.window_step(&still, rule),
        }
    }

    /// The windowed contacts (frame, log) of the detections that sat still over their
    /// window: at least one detection of the track in the `rule.window_frames` − 1 frames
    /// before, all within `WINDOW_STILL_UM` of this one (a moving migrasome's trail in the
    /// mean reads as a fiber).
    fn still_window(&self, rule: &ReleaseRule) -> Vec<(usize, f64)> {
        let span = rule.window_frames - 1;
        let mut out = Vec::new();
        for &(frame, log, i) in &self.window {
            let here = self.path[i].1;
            let mut before = self.path[..i]
                .iter()
                .rev()
                .take_while(|p| p.0 + span >= frame)
                .peekable();
            let sat = before.peek().is_some()
                && before.all(|p| (p.1.0 - here.0).hypot(p.1.1 - here.1) <= WINDOW_STILL_UM);
            if sat {
                out.push((frame, log));
            }
        }
        out
    }

    /// The first detection at or after frame `r`: its frame and what it carries.
    fn detection_from(&self, r: usize) -> Option<(usize, T)> {
        let d = self.path.iter().find(|p| p.0 >= r)?;
        Some((d.0, d.3.clone()))
    }

    /// A release found at frame `found.0`, moved to the onset of the windowed contact's ramp
    /// down that fits best ([`ramp_fit`]) within `rule.window_frames` − 1 frames of it, when
    /// a ramp down at `found.0` itself can be fitted (2 still detections before it, 2 after:
    /// near a movie's ends, or where the migrasome moves off, the window cannot weigh the
    /// frame found against the others); else as found. The mean of K frames ramps down over
    /// the K frames from the release, so the whole ramp places it, where the single frames'
    /// step sits wherever the noise makes it deepest. Stop 32, replays of `migrasomes.csv`
    /// (34 movies): releases found within ±1 frame 184 → 193 of 246, the same 227 called
    /// (SNR 4-5: 55 → 64 of 101; 6-7: 29 → 28 of 35; 8-12: 100 → 101 of 110). Without the
    /// condition at `found.0` the releases in a movie's first and last frames moved off the
    /// truth (8-12: 95).
    fn retimed(&self, found: (usize, T), still: &[(usize, f64)], rule: &ReleaseRule) -> (usize, T) {
        let (k, span) = (rule.window_frames, rule.window_frames - 1);
        // the windowed contact judges only where it sees the release found as a ramp down
        if ramp_fit(still, k, found.0..=found.0).is_none() {
            return found;
        }
        let onsets = found.0.saturating_sub(span).max(1)..=found.0 + span;
        match ramp_fit(still, k, onsets) {
            Some(f) if f.onset != found.0 => self.detection_from(f.onset).unwrap_or(found),
            _ => found,
        }
    }

    /// A release that only the windowed contact shows: the ramp that fits the track's still
    /// windowed contacts best ([`ramp_fit`], any onset), on at least `WINDOW_MIN_POINTS` of
    /// them, from a fiber's level (at least `WINDOW_MIN_BEFORE` over the threshold) down by
    /// `WINDOW_DROP` times at least, at least `WINDOW_MIN_T` standard errors deep, with the
    /// frame calls before it mostly attached.
    fn window_step(&self, still: &[(usize, f64)], rule: &ReleaseRule) -> Option<(usize, T)> {
        if still.len() < WINDOW_MIN_POINTS {
            return None;
        }
        let onsets = still[0].0 + 1..=still[still.len() - 1].0;
        let f = ramp_fit(still, rule.window_frames, onsets)?;
        let before = self.path.iter().take_while(|p| p.0 < f.onset).count();
        let deep = f.before - f.after >= WINDOW_DROP.ln()
            && f.before >= WINDOW_MIN_BEFORE.ln()
            && f.t >= WINDOW_MIN_T;
        (deep && lead(&self.path[..before]) > 0)
            .then(|| self.detection_from(f.onset))
            .flatten()
    }

    /// The step in the track's fiber contact: the detection k ≥ 1 whose two levels of ln(contact) explain the most (n_a n_b
    /// / n times the squared difference of the means; ties: the earliest) of those where
    /// - at least `rule.min_after` detections follow from k on, and the calls before k are
    ///   mostly attached (a track mostly released from its first detection makes none: it
    ///   was released before it was seen);
    /// - the contact before k is a fiber's (geometric mean at least `MIN_CONTACT_BEFORE`) and
    ///   at least `rule.drop` times the contact from k on (geometric means); or, a fainter
    ///   fiber's (at SNR 4 a fiber reads 1.2-1.4 against 0.8-1 for none), at least
    ///   `rule.faint_drop` times it when the contact from k on is no fiber's (at most
    ///   `rule.faint_after_max`) and the step stands out of the track's scatter (the two
    ///   means' difference at least `rule.faint_min_t` standard errors: the SD about the two
    ///   levels, pooled);
    /// - the `min_after` detections from k on all lie below the midpoint of the two levels,
    ///   so that neither one low frame at the end nor one dip among high ones (a ring cut by
    ///   a neighbour) makes a release. Most of the later ones need not: a freed migrasome that
    ///   its cell takes up can slide back onto the rest of its fiber on its way in (hold-out
    ///   movie 38: contact 2.5-3.5, then 0.9-1.1 for the 3 frames after the release, then 2.4
    ///   and more).
    fn step(&self, rule: &ReleaseRule) -> Option<(usize, T)> {
        let n = self.seen.len();
        let total: f64 = self.seen.iter().map(|s| s.1).sum();
        let total_sq: f64 = self.seen.iter().map(|s| s.1 * s.1).sum();
        let (mut before, mut before_sq, mut lead) = (0.0, 0.0, 0i64);
        let mut best: Option<(f64, usize)> = None;
        for k in 1..n {
            let (_, log, released, _) = &self.seen[k - 1];
            before += log;
            before_sq += log * log;
            lead += if *released { -1 } else { 1 };
            if n - k < rule.min_after as usize {
                break;
            }
            let (na, nb) = (k as f64, (n - k) as f64);
            let (high, low) = (before / na, (total - before) / nb);
            let explained = na * nb / n as f64 * (high - low).powi(2);
            if lead <= 0 || high < MIN_CONTACT_BEFORE.ln() || best.is_some_and(|b| explained <= b.0)
            {
                continue;
            }
            let faint = || {
                // the squared deviations about the two levels (sums of squares less n mean²)
                let ss = (before_sq - na * high * high) + (total_sq - before_sq - nb * low * low);
                // two detections leave no scatter to measure: no faint release from them
                // unless the test is off
                let deep = if n > 2 {
                    let se = (ss.max(0.0) / (n - 2) as f64 * (1.0 / na + 1.0 / nb)).sqrt();
                    high - low >= rule.faint_min_t * se
                } else {
                    rule.faint_min_t == 0.0
                };
                high - low >= rule.faint_drop.ln() && low <= rule.faint_after_max.ln() && deep
            };
            if high - low < rule.drop.ln() && !faint() {
                continue;
            }
            let mid = 0.5 * (high + low);
            let m = (rule.min_after as usize).max(1);
            if self.seen[k..k + m].iter().all(|s| s.1 < mid) {
                best = Some((explained, k));
            }
        }
        best.map(|(_, k)| (self.seen[k].0, self.seen[k].3.clone()))
    }

    /// The release that the start of a migrasome's motion shows (`rule.motion_um` > 0): the
    /// track sat still (each of its first detections, at least `MOTION_MIN_STILL`, within
    /// `MOTION_STILL` × `motion_um` of the mean of those before it), then the first detection
    /// beyond that lies more than `motion_um` from where it sat (one in between: the track is
    /// not judged) and the next one farther still (by at least
    /// `MOTION_GROW` × `motion_um`: a jump to a neighbour or of the whole field that then
    /// stays is no motion). Distances and counts are per detection: frames missed between
    /// them (bridged by the tracker) are not scaled for. One detection off its spot ends the
    /// judging: the track makes no release by motion. The calls while it sat are mostly
    /// attached (all its detections' calls), and its contact then a fiber's: the geometric
    /// mean of its ring detections more than `MOTION_WINDOW` frames before the motion (of all
    /// its rings before the motion when those are fewer than 2; 2 at least) is at least
    /// `MIN_CONTACT_BEFORE`. The release is the first of the ring detections in the last
    /// `MOTION_WINDOW` frames before the motion whose contact is `rule.drop` times under that
    /// mean (the fiber broke, then it moved off), else the last detection before the motion.
    /// Stop 30, `synth --dynamics` movies: freed
    /// migrasomes that a cell takes up move 0.5-1.2 µm a frame, 1-4 frames after the
    /// release, and can travel over the rest of their fiber (contact 2.5-3.5, 0.8-1.1 for
    /// the frames between, 2.5 again once they move); a still one's centre wanders 0.03 µm.
    pub fn moved(&self, rule: &ReleaseRule) -> Option<(usize, T)> {
        let d = rule.motion_um;
        if d <= 0.0 {
            return None;
        }
        let dist = |p: (f64, f64), q: (f64, f64)| (p.0 - q.0).hypot(p.1 - q.1);
        let (mut sx, mut sy) = (0.0, 0.0);
        for (k, &(_, p, _, _)) in self.path.iter().enumerate() {
            if k > 0 {
                let sat = (sx / k as f64, sy / k as f64);
                let r = dist(p, sat);
                if r > MOTION_STILL * d {
                    if k < MOTION_MIN_STILL || r <= d {
                        return None;
                    }
                    let next = self.path.get(k + 1)?;
                    if dist(next.1, sat) < r + MOTION_GROW * d {
                        return None;
                    }
                    return self.release_before(k, rule);
                }
            }
            sx += p.0;
            sy += p.1;
        }
        None
    }

    /// [`ReleaseFit::moved`]'s release of a track that starts to move at detection `k`.
    fn release_before(&self, k: usize, rule: &ReleaseRule) -> Option<(usize, T)> {
        let onset = self.path[k].0;
        let rings: Vec<_> = self.seen.iter().take_while(|s| s.0 < onset).collect();
        if lead(&self.path[..k]) <= 0 || rings.len() < 2 {
            return None;
        }
        let from = onset.saturating_sub(MOTION_WINDOW);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let early: Vec<f64> = rings.iter().filter(|s| s.0 < from).map(|s| s.1).collect();
        let high = if early.len() >= 2 {
            mean(&early)
        } else {
            mean(&rings.iter().map(|s| s.1).collect::<Vec<_>>())
        };
        if high < MIN_CONTACT_BEFORE.ln() {
            return None;
        }
        let broke = rings
            .iter()
            .find(|s| s.0 >= from && s.1 <= high - rule.drop.ln())
            .map(|s| (s.0, s.3.clone()));
        broke.or_else(|| {
            let sat = &self.path[k - 1];
            Some((sat.0, sat.3.clone()))
        })
    }

    /// [`ReleaseFit::release`] of a track seen up to the movie's last frame `last`: when it
    /// finds none, a step in that frame counts too, with its one detection after it, when
    /// the contact drops at least `rule.end_drop` times (stricter than `drop`: the depth
    /// stands in for the detections that the movie's end cuts off) from a fiber's, and the
    /// calls before it are mostly attached; the track has at least 3 detections with a ring.
    pub fn release_ending_at(&self, rule: &ReleaseRule, last: usize) -> Option<(usize, T)> {
        if let Some(r) = self.release(rule) {
            return Some(r);
        }
        let n = self.seen.len();
        let (frame, low, _, at) = self.seen.last()?;
        if n < 3 || *frame != last {
            return None;
        }
        let before = &self.seen[..n - 1];
        let high = before.iter().map(|s| s.1).sum::<f64>() / (n - 1) as f64;
        (lead(before) > 0 && high >= MIN_CONTACT_BEFORE.ln() && high - low >= rule.end_drop.ln())
            .then(|| (*frame, at.clone()))
    }
}

/// The frame calls of these detections (released: the third field), attached ones less
/// released ones: > 0 when they are mostly attached.
fn lead<P, T>(dets: &[(usize, P, bool, T)]) -> i64 {
    dets.iter().map(|s| if s.2 { -1 } else { 1 }).sum()
}

/// Whether the windowed contacts `still` (frame, log; frames ascending) show the fiber
/// still there after a release at frame `at`: the level after it keeps at least
/// `WINDOW_KEPT` of the level before it (geometric means, 2 detections at least before it).
/// The level after is that of the windows wholly after the release (from `at` + `k` − 1
/// on) where there are 2 of them at least. Near a track's end (a movie's last frames),
/// where there are fewer, the windows at least half after the release ([`ramp_weight`] w ≥
/// 1/2) are read too, 1 at least: such a window reads the level before times 1 − w plus
/// the level after times w (logs), so the level after is (value − before × (1 − w)) / w.
/// A fiber that still reads 2 over its threshold where a release 2 frames before would
/// have halved it is still there. Only there: a window part after a release called a frame
/// or two early (a freed migrasome that then moves off) still holds the fiber. Stop 33,
/// the 14 SNR 4-5 movies: 7 of the 91 releases called were none, all false, all in a
/// movie's last 4 frames; true ones kept at most 0.64 of the level.
pub fn fiber_kept(still: &[(usize, f64)], at: usize, k: usize) -> bool {
    let mean =
        |v: Vec<f64>, n: usize| (v.len() >= n).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let Some(before) = mean(still.iter().filter(|p| p.0 < at).map(|p| p.1).collect(), 2) else {
        return false;
    };
    let full = still.iter().filter(|p| p.0 + 1 >= at + k).map(|p| p.1);
    let after = mean(full.collect(), 2).or_else(|| {
        let half = still.iter().filter_map(|p| {
            let w = ramp_weight(p.0, at, k);
            (w >= 0.5).then(|| (p.1 - before * (1.0 - w)) / w)
        });
        mean(half.collect(), 1)
    });
    matches!(after, Some(a) if a - before >= WINDOW_KEPT.ln())
}

/// The least-squares fit of a ramp down to windowed contacts ([`ramp_fit`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RampFit {
    /// The release frame: the first frame whose window holds a frame after it.
    pub onset: usize,
    /// The levels (log contact) before and after the ramp.
    pub before: f64,
    pub after: f64,
    /// (before − after) over its standard error (the SD about the fit, on n − 2 degrees of
    /// freedom, times √(1/n_before + 1/n_after); ∞ for an exact fit).
    pub t: f64,
}

/// The weight of the level after a release at `onset` in the mean of `k` frames ending at
/// frame `t`: 0 up to `onset` − 1, rising by 1/k a frame, 1 from `onset` + k − 1 on.
pub fn ramp_weight(t: usize, onset: usize, k: usize) -> f64 {
    ((t as f64 - onset as f64 + 1.0) / k as f64).clamp(0.0, 1.0)
}

/// The ramp down onset among `onsets` that fits `points` (frame, value; frames ascending)
/// best in least squares, each value `before` × (1 − w) + `after` × w with w the
/// [`ramp_weight`] of a `k`-frame mean (ties: the earliest), of those with at least 2
/// points before the ramp (w = 0) and 2 at least half down (w ≥ 1/2) whose fitted `before`
/// is above `after`. Prefix sums make each onset cost O(k).
pub fn ramp_fit(
    points: &[(usize, f64)],
    k: usize,
    onsets: std::ops::RangeInclusive<usize>,
) -> Option<RampFit> {
    let n = points.len();
    let mut sum = vec![(0.0, 0.0); n + 1];
    for (i, p) in points.iter().enumerate() {
        sum[i + 1] = (sum[i].0 + p.1, sum[i].1 + p.1 * p.1);
    }
    let first_from = |t: usize| points.partition_point(|p| p.0 < t);
    let mut best: Option<(f64, RampFit)> = None;
    for r in onsets {
        // [0, i0): w = 0; [i0, i1): on the ramp; [i1, n): w = 1
        let i0 = first_from(r);
        let i1 = first_from(r + k - 1).max(i0);
        // at least half down: those on the ramp past its middle, and all after it
        let on_ramp = &points[i0..i1];
        let half = on_ramp
            .iter()
            .filter(|p| ramp_weight(p.0, r, k) >= 0.5)
            .count()
            + n
            - i1;
        if i0 < 2 || half < 2 {
            continue;
        }
        // normal equations of [1 − w, w]
        let (mut s00, mut s01, mut s11) = (i0 as f64, 0.0, (n - i1) as f64);
        let (mut b0, mut b1) = (sum[i0].0, sum[n].0 - sum[i1].0);
        for p in on_ramp {
            let w = ramp_weight(p.0, r, k);
            s00 += (1.0 - w) * (1.0 - w);
            s01 += w * (1.0 - w);
            s11 += w * w;
            b0 += (1.0 - w) * p.1;
            b1 += w * p.1;
        }
        let det = s00 * s11 - s01 * s01;
        if det <= 0.0 {
            continue;
        }
        let before = (s11 * b0 - s01 * b1) / det;
        let after = (s00 * b1 - s01 * b0) / det;
        if before <= after {
            continue;
        }
        let sse = (sum[n].1 - before * b0 - after * b1).max(0.0);
        if best.as_ref().is_some_and(|b| sse >= b.0) {
            continue;
        }
        let se = if n > 2 {
            (sse / (n - 2) as f64 * (1.0 / i0 as f64 + 1.0 / half as f64)).sqrt()
        } else {
            0.0
        };
        let t = if se > 0.0 {
            (before - after) / se
        } else {
            f64::INFINITY
        };
        best = Some((
            sse,
            RampFit {
                onset: r,
                before,
                after,
                t,
            },
        ));
    }
    best.map(|b| b.1)
}

/// A track's released state in one frame ([`ReleaseFit::state_at`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Released {
    Attached,
    /// Released by most of the frame calls (no release found), or at or after a release with
    /// fewer than `STATE_MIN_BEFORE` ring detections before it: judged again next frame.
    Again,
    /// At or after its release: released for good.
    Step,
}

impl Released {
    pub fn released(self) -> bool {
        self != Released::Attached
    }
}

/// What a release must show (`tracking.release_*`, see [`ReleaseFit::release`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReleaseRule {
    /// Detections from the step on, at least.
    pub min_after: u32,
    /// The contact before the step over the contact after it (geometric means), at least.
    pub drop: f64,
    /// ... or at least this (a faint fiber's drop, at most `drop`: a larger value does
    /// nothing) when the contact after it is at most `faint_after_max` (no fiber's) and the
    /// step is at least `faint_min_t` standard errors deep.
    pub faint_drop: f64,
    pub faint_after_max: f64,
    pub faint_min_t: f64,
    /// A step in the movie's last frame: the drop, at least (see
    /// [`ReleaseFit::release_ending_at`]).
    pub end_drop: f64,
    /// A still track that moves this far (µm) was released ([`ReleaseFit::moved`]; 0: off).
    pub motion_um: f64,
    /// Frames of the windowed contact (`fibers.contact_frames`; under 2: none, see
    /// [`ReleaseFit::release`]).
    pub window_frames: usize,
}

/// A migrasome's centre in µm (`um` µm a pixel): the tracker's point, the release fit's
/// centre and the tables' position.
fn centre_um(m: &Migrasome, um: f64) -> (f64, f64) {
    (m.stats.centroid_x * um, m.stats.centroid_y * um)
}

/// A detection in the frames ahead of the one written: its frame's call, its contact, its
/// frame and its centre (µm).
type Ahead = FitDetection<()>;

/// Per cell track: frames seen, formations and releases of its migrasomes.
#[derive(Clone, Copy, Debug, Default)]
struct CellAcc {
    first: usize,
    last: usize,
    formations: u32,
    releases: u32,
}

/// Per plane (z) sequence.
struct PlaneState {
    cells: Tracker,
    migrasomes: Tracker,
    tracks: HashMap<u32, TrackAcc>,
    /// Track ends waiting for the frame after their last one to be written.
    ends: Vec<TrackEnd>,
    /// Frames of this plane written.
    written: usize,
}

/// The tracking outputs of one image being written in its staging folder.
pub struct ImageTracking {
    image: String,
    enabled: bool,
    p: TrackingParams,
    pixel_um: f64,
    /// Seconds per frame, when the file says.
    dt_s: Option<f64>,
    nt: usize,
    membrane: usize,
    n_cargo: usize,
    sample: Vec<String>,
    planes: Vec<PlaneState>,
    pending: VecDeque<Pending>,
    size_um: (f64, f64),
    tracks: Table,
    events: Table,
    xml: Option<Xml>,
    cells: HashMap<(usize, u32), CellAcc>,
    /// Frames of the windowed fiber contact (`fibers.contact_frames`, see
    /// [`ImageTracking::with_contact_frames`]).
    window_frames: usize,
}

/// What the TrackMate file records about the image.
pub struct XmlImage {
    pub input: PathBuf,
    pub width: usize,
    pub height: usize,
    pub nframes: usize,
    /// Channels of the image (a mean intensity feature each, up to 8) and the migrasome
    /// channel (its mean is the spot's QUALITY).
    pub channels: usize,
    pub membrane: usize,
}

struct Table {
    path: PathBuf,
    out: csv::Writer<File>,
}

impl Table {
    fn create(path: PathBuf, header: &[String]) -> Result<Table> {
        let f = File::create(&path).map_err(|e| Error::output(&path, e))?;
        let mut t = Table {
            out: csv::Writer::from_writer(f),
            path,
        };
        t.row(header)?;
        Ok(t)
    }
    fn row(&mut self, r: &[String]) -> Result<()> {
        self.out
            .write_record(r)
            .map_err(|e| Error::output(&self.path, e.into()))
    }
    fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::output(&self.path, e))
    }
}

/// The gap (µm) between migrasome `m`'s edge (its equivalent circle) and the nearest
/// pixel of its frame's body mask (the outline and its band), looked for up to `reach` µm;
/// ∞ when there is none.
fn body_gap_um(
    f: &FrameResult,
    m: &crate::pipeline::migrasome::Migrasome,
    um: f64,
    reach: f64,
) -> f64 {
    let (cx, cy) = (m.stats.centroid_x, m.stats.centroid_y);
    let r = 0.5 * m.stats.equivalent_diameter();
    let w = r + reach / um + 1.0;
    let (x0, x1) = ((cx - w).floor().max(0.0) as usize, (cx + w).ceil() as usize);
    let (y0, y1) = ((cy - w).floor().max(0.0) as usize, (cy + w).ceil() as usize);
    // the mask the detection used: the outline and its band (the gate was measured on it)
    let (bodies, band) = (&f.labels.bodies, &f.labels.body_band);
    let in_body = |i: usize| bodies[i] != 0 || band.binary_search(&(i as u32)).is_ok();
    let mut best = f64::INFINITY;
    for y in y0..y1.min(f.height) {
        for x in x0..x1.min(f.width) {
            if in_body(y * f.width + x) {
                // pixel indices, as the centroid
                let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
                best = best.min(d);
            }
        }
    }
    let gap = (best - r).max(0.0) * um;
    if gap <= reach { gap } else { f64::INFINITY }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

impl ImageTracking {
    /// Starts the tracking of image `image` (`nt` time points, `nz` planes each) in the
    /// staging folder `dir`. `xml`: write `<image>.xml` (single-plane movies).
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        dir: &Path,
        image: &str,
        p: &TrackingParams,
        pixel_um: f64,
        dt_s: Option<f64>,
        (nt, nz): (usize, usize),
        membrane: usize,
        cargo: &[String],
        sample: (&[String], &[String]),
        xml: Option<XmlImage>,
    ) -> Result<ImageTracking> {
        let mut th: Vec<String> = [
            "image",
            "z",
            "track_id",
            "origin_cell_id",
            "last_cell_id",
            "first_frame",
            "last_frame",
            "n_spots",
            "formation_frame",
            "release_frame",
            "disappearance_frame",
            "uptake_frame",
            "split_from_track_id",
            "merged_into_track_id",
            "path_length_um",
            "mean_speed_um_per_min",
            "mean_diameter_um",
        ]
        .map(String::from)
        .to_vec();
        th.extend(cargo.iter().map(|c| format!("{c}_positive_fraction")));
        th.extend(sample.0.iter().cloned());
        let eh: Vec<String> = [
            "image", "frame", "event", "track_id", "cell_id", "x_um", "y_um",
        ]
        .map(String::from)
        .to_vec();
        let dt_s = dt_s.filter(|d| d.is_finite() && *d > 0.0);
        let xml = match (p.enabled, xml) {
            (true, Some(x)) => Some(Xml::create(dir, image, x, pixel_um, dt_s)?),
            _ => None,
        };
        Ok(ImageTracking {
            image: image.to_string(),
            enabled: p.enabled,
            p: p.clone(),
            pixel_um,
            dt_s,
            nt,
            membrane,
            n_cargo: cargo.len(),
            sample: sample.1.to_vec(),
            planes: (0..nz.max(1))
                .map(|_| PlaneState {
                    cells: Tracker::new(&p.cells),
                    migrasomes: Tracker::new(&p.migrasomes),
                    tracks: HashMap::new(),
                    ends: Vec::new(),
                    written: 0,
                })
                .collect(),
            pending: VecDeque::new(),
            size_um: (0.0, 0.0),
            tracks: Table::create(dir.join(TRACK_TABLES[0]), &th)?,
            events: Table::create(dir.join(TRACK_TABLES[1]), &eh)?,
            xml,
            cells: HashMap::new(),
            window_frames: 0,
        })
    }

    /// The release fit also reads the windowed fiber contact of `k` frames
    /// (`fibers.contact_frames`; under 2: none), see [`ReleaseFit::release`].
    pub fn with_contact_frames(mut self, k: u32) -> ImageTracking {
        self.window_frames = k as usize;
        self
    }

    /// What a release must show.
    fn rule(&self) -> ReleaseRule {
        ReleaseRule {
            window_frames: self.window_frames,
            ..self.p.release_rule()
        }
    }

    /// Adds frame (t, z); hands the frames whose tracks are now final to `early`, in order
    /// (see [`Early`]), and returns the frames whose rows can be written now, in order.
    pub fn push<E>(
        &mut self,
        t: usize,
        z: usize,
        f: FrameResult,
        planes: Option<Vec<Plane>>,
        early: &mut E,
    ) -> Result<Vec<Ready>>
    where
        E: FnMut(Early<'_>) -> Result<Option<QcBase>>,
    {
        if !self.enabled {
            let mut f = f;
            let ids = FrameIds::own(&f);
            let qc = early(Early {
                t,
                z,
                f: &mut f,
                planes,
                ids: &ids,
            })?;
            return Ok(vec![Ready { t, z, f, qc, ids }]);
        }
        self.size_um = (
            f.width as f64 * self.pixel_um,
            f.height as f64 * self.pixel_um,
        );
        let um = self.pixel_um;
        let cells: Vec<Point> = f
            .cells
            .iter()
            .map(|c| Point {
                x: c.x * um,
                y: c.y * um,
                features: [0.0, 0.0],
                id: c.id,
            })
            .collect();
        let membrane = self.membrane;
        let migr: Vec<Point> = f
            .migrasomes
            .iter()
            .map(|m| {
                let (x, y) = centre_um(m, um);
                Point {
                    x,
                    y,
                    features: [
                        m.stats.channels.get(membrane).map_or(0.0, |c| c.mean),
                        m.stats.equivalent_diameter() * um,
                    ],
                    id: m.id,
                }
            })
            .collect();
        self.pending.push_back(Pending {
            t,
            z,
            cells: vec![None; f.cells.len()],
            migrasomes: vec![None; f.migrasomes.len()],
            f,
            planes,
            early: None,
        });
        let ps = &mut self.planes[z];
        let oc = ps.cells.push(&cells);
        let om = ps.migrasomes.push(&migr);
        self.take(z, oc.spots, om.spots);
        self.planes[z].ends.extend(om.ends);
        self.flush(false, early)
    }

    /// The movie ended: hands the frames still waiting to `early` (those not handed yet) and
    /// returns them.
    pub fn finish_frames<E>(&mut self, early: &mut E) -> Result<Vec<Ready>>
    where
        E: FnMut(Early<'_>) -> Result<Option<QcBase>>,
    {
        if !self.enabled {
            return Ok(vec![]);
        }
        for z in 0..self.planes.len() {
            let oc = self.planes[z].cells.finish();
            let om = self.planes[z].migrasomes.finish();
            self.take(z, oc.spots, om.spots);
            self.planes[z].ends.extend(om.ends);
        }
        self.flush(true, early)
    }

    /// Files the finals of plane `z` with their frames.
    fn take(&mut self, z: usize, cells: Vec<Final>, migr: Vec<Final>) {
        for (is_cell, list) in [(true, cells), (false, migr)] {
            for s in list {
                let p = self
                    .pending
                    .iter_mut()
                    .find(|p| p.z == z && p.t == s.frame)
                    .expect("a final spot of a frame waiting");
                let v = if is_cell {
                    &mut p.cells
                } else {
                    &mut p.migrasomes
                };
                let i = s.index;
                v[i] = Some(s);
            }
        }
    }

    fn flush<E>(&mut self, all: bool, early: &mut E) -> Result<Vec<Ready>>
    where
        E: FnMut(Early<'_>) -> Result<Option<QcBase>>,
    {
        // the frames whose tracks are final, in order: handed out early
        let (um, gap_max) = (self.pixel_um, self.p.uptake_max_gap_um);
        for p in self.pending.iter_mut() {
            if !p.complete() {
                break;
            }
            if p.early.is_some() {
                continue;
            }
            let gaps =
                p.f.migrasomes
                    .iter()
                    .map(|m| body_gap_um(&p.f, m, um, gap_max))
                    .collect();
            let ids = FrameIds {
                cell: p
                    .cells
                    .iter()
                    .map(|c| c.as_ref().expect("final").track)
                    .collect(),
                track: (p.migrasomes.iter())
                    .map(|s| Some(s.as_ref().expect("final").track))
                    .collect(),
                ..Default::default()
            };
            let qc = early(Early {
                t: p.t,
                z: p.z,
                f: &mut p.f,
                planes: p.planes.take(),
                ids: &ids,
            })?;
            p.early = Some(Handed { gaps, ids, qc });
        }
        let mut out = Vec::new();
        while self
            .pending
            .front()
            .is_some_and(|p| p.early.is_some() && (all || self.seen_ahead(p)))
        {
            let p = self.pending.pop_front().expect("front");
            out.push(self.write_frame(p)?);
        }
        for z in 0..self.planes.len() {
            let written = self.planes[z].written;
            let ends = std::mem::take(&mut self.planes[z].ends);
            let (now, later): (Vec<TrackEnd>, Vec<TrackEnd>) = ends
                .into_iter()
                .partition(|e| all || e.last_frame + 1 < written);
            self.planes[z].ends = later;
            for e in now {
                self.end_track(z, &e)?;
            }
        }
        Ok(out)
    }

    /// Whether the frames `released_lookahead` after `p` (same plane) are all here and final.
    fn seen_ahead(&self, p: &Pending) -> bool {
        let ahead = self.p.released_lookahead as usize;
        let window = || {
            self.pending
                .iter()
                .filter(move |q| q.z == p.z && q.t > p.t && q.t <= p.t + ahead)
        };
        ahead == 0 || (window().any(|q| q.t == p.t + ahead) && window().all(Pending::complete))
    }

    /// The detections of frames `t` + 1 ..= `t` + `released_lookahead` of plane `z` by track:
    /// their calls, contacts, frames and centres (µm).
    fn ahead(&self, z: usize, t: usize) -> HashMap<u32, Vec<Ahead>> {
        let mut out: HashMap<u32, Vec<_>> = HashMap::new();
        let last = t + self.p.released_lookahead as usize;
        for q in self
            .pending
            .iter()
            .filter(|q| q.z == z && q.t > t && q.t <= last)
        {
            for (m, s) in q.f.migrasomes.iter().zip(&q.migrasomes) {
                if let Some(s) = s {
                    let pos = centre_um(m, self.pixel_um);
                    out.entry(s.track).or_default().push((
                        m.released,
                        m.fiber_contact,
                        m.fiber_contact_window,
                        q.t,
                        pos,
                        (),
                    ));
                }
            }
        }
        out
    }

    fn near_border(&self, (x, y): (f64, f64)) -> bool {
        let m = self.p.border_margin_um;
        x < m || y < m || x > self.size_um.0 - m || y > self.size_um.1 - m
    }

    fn event(
        &mut self,
        frame: usize,
        kind: &str,
        track: u32,
        cell: u32,
        pos: (f64, f64),
    ) -> Result<()> {
        let r = vec![
            self.image.clone(),
            frame.to_string(),
            kind.to_string(),
            track.to_string(),
            cell.to_string(),
            format!("{:.4}", pos.0),
            format!("{:.4}", pos.1),
        ];
        self.events.row(&r)
    }

    /// A frame whose tracks are all final: tracks, events and the TrackMate spots advanced,
    /// its ids given out.
    fn write_frame(&mut self, mut p: Pending) -> Result<Ready> {
        let (t, z) = (p.t, p.z);
        let lookahead = self.p.released_lookahead > 0;
        let ahead = if lookahead {
            self.ahead(z, t)
        } else {
            HashMap::new()
        };
        let rule = self.rule();
        let Handed { gaps, mut ids, qc } = p.early.take().expect("handed out early");
        let map: HashMap<u32, u32> =
            p.f.cells
                .iter()
                .zip(&ids.cell)
                .map(|(c, &id)| (c.id, id))
                .collect();
        for &id in &ids.cell {
            let c = self.cells.entry((z, id)).or_insert(CellAcc {
                first: t,
                last: t,
                ..Default::default()
            });
            c.last = t;
        }
        let um = self.pixel_um;
        // per migrasome: its position, diameter, cell and state (for the TrackMate spots)
        let mut spots = Vec::with_capacity(p.migrasomes.len());
        for (k, (m, s)) in p.f.migrasomes.iter().zip(&p.migrasomes).enumerate() {
            let s = s.as_ref().expect("final");
            let cell = *map.get(&m.cell_id).unwrap_or(&0);
            let pos = centre_um(m, um);
            let diameter = m.stats.equivalent_diameter() * um;
            let tid = s.track;
            if let Some(parent) = s.starts {
                // a formation needs the track's first state attached too (below)
                let formed = t > 0 && parent.is_none() && !self.near_border(pos);
                self.planes[z].tracks.insert(
                    tid,
                    TrackAcc {
                        first_frame: t,
                        last_frame: t,
                        origin_cell: cell,
                        last_cell: cell,
                        n: 0,
                        path_um: 0.0,
                        last_pos: pos,
                        sum_diameter: 0.0,
                        cargo_positive: vec![0; self.n_cargo],
                        formation: formed.then_some(t),
                        first_pos: pos,
                        release: None,
                        split_from: parent,
                        body_gap_um: f64::INFINITY,
                        release_fit: ReleaseFit::default(),
                        state: Released::Attached,
                    },
                );
            }
            let a = self.planes[z].tracks.get_mut(&tid).expect("a track begun");
            if a.n > 0 {
                a.path_um +=
                    ((pos.0 - a.last_pos.0).powi(2) + (pos.1 - a.last_pos.1).powi(2)).sqrt();
            }
            a.n += 1;
            a.last_pos = pos;
            a.last_frame = t;
            a.last_cell = cell;
            a.body_gap_um = gaps[k];
            a.sum_diameter += diameter;
            for (k, c) in m.cargo.iter().enumerate() {
                a.cargo_positive[k] += c.positive as usize;
            }
            let origin = a.origin_cell;
            a.release_fit.push((
                m.released,
                m.fiber_contact,
                m.fiber_contact_window,
                t,
                pos,
                (pos, cell),
            ));
            // its state: the track's as seen `released_lookahead` frames on (see `state_at`)
            let released = if !lookahead {
                m.released
            } else {
                if a.state != Released::Step {
                    let more = (ahead.get(&tid).into_iter().flatten()).map(
                        |&(call, contact, window, f, at, ())| {
                            (call, contact, window, f, at, (pos, cell))
                        },
                    );
                    a.state = a.release_fit.with_more(more, |fit| fit.state_at(t, &rule));
                }
                a.state.released()
            };
            // a track that begins released formed elsewhere (or before the movie): its first
            // state, as the `released` column gives it (the frame's own call with
            // `released_lookahead` 0)
            if a.n == 1 && released {
                a.formation = None;
            }
            // a formation is called once the track has been seen enough
            let formed = (a.n == MIN_EVENT_SPOTS)
                .then_some(a.formation)
                .flatten()
                .map(|f| (f, a.first_pos, a.origin_cell));
            if let Some((frame, at, c)) = formed {
                self.event(frame, "formation", tid, c, at)?;
                if c != 0 {
                    self.cells.entry((z, c)).or_default().formations += 1;
                }
            }
            spots.push((pos, diameter, cell, released));
            ids.cell_of_migrasome.push(cell);
            ids.origin_cell.push(Some(origin));
        }
        for (m, sp) in p.f.migrasomes.iter_mut().zip(&spots) {
            m.released = sp.3;
        }
        // the cells' released counts of the states
        count_released(&mut p.f.cells, &p.f.migrasomes);
        if let Some(x) = &mut self.xml {
            x.begin_frame(t)?;
            for ((m, s), &(pos, diameter, cell, _)) in
                p.f.migrasomes.iter().zip(&p.migrasomes).zip(&spots)
            {
                x.spot(t, s.as_ref().expect("final"), m, pos, diameter, cell)?;
            }
            x.end_frame()?;
        }
        self.planes[z].written = t + 1;
        Ok(Ready {
            t,
            z,
            f: p.f,
            qc,
            ids,
        })
    }

    fn end_track(&mut self, z: usize, e: &TrackEnd) -> Result<()> {
        let Some(mut a) = self.planes[z].tracks.remove(&e.track) else {
            return Err(Error::invalid(format!(
                "tracking: track {} ended before it began",
                e.track
            )));
        };
        // the release is known once the track has ended (see `ReleaseFit`)
        let rule = self.rule();
        let fit = if self.nt > 0 {
            a.release_fit.release_ending_at(&rule, self.nt - 1)
        } else {
            a.release_fit.release(&rule)
        };
        if let Some((frame, (at, c))) = fit {
            a.release = Some(frame);
            self.event(frame, "release", e.track, c, at)?;
            if c != 0 {
                self.cells.entry((z, c)).or_default().releases += 1;
            }
        }
        let ended = a.last_frame + 1 < self.nt
            && e.merged_into.is_none()
            && !self.near_border(a.last_pos)
            && a.n >= MIN_EVENT_SPOTS;
        // an uptake need not have been seen released: a freed migrasome beside a faint fiber
        // is often called attached, and it is the end at a body that tells
        let uptake = ended && a.body_gap_um <= self.p.uptake_max_gap_um;
        let disappeared = ended && !uptake;
        if ended {
            self.event(
                a.last_frame,
                if uptake { "uptake" } else { "disappearance" },
                e.track,
                a.last_cell,
                a.last_pos,
            )?;
        }
        let minutes = self
            .dt_s
            .map(|d| (a.last_frame - a.first_frame) as f64 * d / 60.0)
            .filter(|m| *m > 0.0);
        let mut r = vec![
            self.image.clone(),
            z.to_string(),
            e.track.to_string(),
            a.origin_cell.to_string(),
            a.last_cell.to_string(),
            a.first_frame.to_string(),
            a.last_frame.to_string(),
            a.n.to_string(),
            opt(a.formation.filter(|_| a.n >= MIN_EVENT_SPOTS)),
            opt(a.release),
            opt(disappeared.then_some(a.last_frame)),
            opt(uptake.then_some(a.last_frame)),
            opt(a.split_from),
            opt(e.merged_into),
            format!("{:.4}", a.path_um),
            opt(minutes.map(|m| format!("{:.4}", a.path_um / m))),
            format!("{:.4}", a.sum_diameter / a.n as f64),
        ];
        r.extend(
            a.cargo_positive
                .iter()
                .map(|&k| format!("{:.4}", k as f64 / a.n as f64)),
        );
        r.extend(self.sample.iter().cloned());
        self.tracks.row(&r)?;
        if let Some(x) = &mut self.xml {
            x.track_ended(e)?;
        }
        Ok(())
    }

    /// Closes the tables and the TrackMate file; returns each cell's formation and release
    /// rates per hour (by plane and cell id; `None` where no rate can be given: one frame, no
    /// frame interval, tracking off).
    pub fn finish(self) -> Result<CellRates> {
        self.tracks.finish()?;
        self.events.finish()?;
        if let Some(x) = self.xml {
            x.finish()?;
        }
        let mut rates = HashMap::new();
        if let (Some(dt), true) = (self.dt_s, self.nt > 1) {
            for (k, c) in &self.cells {
                let hours = (c.last - c.first + 1) as f64 * dt / 3600.0;
                rates.insert(
                    *k,
                    (
                        Some(c.formations as f64 / hours),
                        Some(c.releases as f64 / hours),
                    ),
                );
            }
        }
        Ok(rates)
    }
}

/// A connected part of the track graph (tracks joined by splits and merges): one TrackMate
/// track.
#[derive(Default)]
struct Component {
    edges: Vec<Edge>,
    /// Tracks of it not ended.
    live: usize,
    first: usize,
    last: usize,
    spots: usize,
}

/// `<image>.xml` being written: the spots to a part file as frames come, each track when
/// its whole component has ended, joined at the end.
struct Xml {
    path: PathBuf,
    spots_path: PathBuf,
    tracks_path: PathBuf,
    spots: Writer<BufWriter<File>>,
    tracks: Writer<BufWriter<File>>,
    image: XmlImage,
    pixel_um: f64,
    /// Time units per frame, and their name.
    dt: f64,
    unit: &'static str,
    nspots: u64,
    /// Track → its parent in the union-find of components (tracks not ended, and the
    /// components they are in).
    parent: HashMap<u32, u32>,
    comps: HashMap<u32, Component>,
    filtered: Vec<u32>,
    index: usize,
}

fn xml_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::output(path, std::io::Error::other(e.to_string()))
}

impl Xml {
    fn create(
        dir: &Path,
        image: &str,
        x: XmlImage,
        pixel_um: f64,
        dt_s: Option<f64>,
    ) -> Result<Xml> {
        let path = dir.join(format!("{image}.xml"));
        let spots_path = dir.join(".trackmate-spots.part");
        let tracks_path = dir.join(".trackmate-tracks.part");
        let open = |p: &Path| -> Result<Writer<BufWriter<File>>> {
            let f = File::create(p).map_err(|e| Error::output(p, e))?;
            Ok(Writer::new_with_indent(BufWriter::new(f), b' ', 2))
        };
        let (dt, unit) = match dt_s {
            Some(d) => (d / 60.0, "min"),
            None => (1.0, "frame"),
        };
        Ok(Xml {
            spots: open(&spots_path)?,
            tracks: open(&tracks_path)?,
            path,
            spots_path,
            tracks_path,
            image: x,
            pixel_um,
            dt,
            unit,
            nspots: 0,
            parent: HashMap::new(),
            comps: HashMap::new(),
            filtered: Vec::new(),
            index: 0,
        })
    }

    fn find(&mut self, mut t: u32) -> u32 {
        while let Some(&p) = self.parent.get(&t) {
            if p == t {
                break;
            }
            t = p;
        }
        t
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (keep, gone) = (ra.min(rb), ra.max(rb));
        self.parent.insert(gone, keep);
        let g = self.comps.remove(&gone).unwrap_or_default();
        let k = self.comps.entry(keep).or_default();
        k.edges.extend(g.edges);
        k.live += g.live;
        k.first = k.first.min(g.first);
        k.last = k.last.max(g.last);
        k.spots += g.spots;
    }

    fn begin_frame(&mut self, t: usize) -> Result<()> {
        self.spots
            .write_event(Event::Start(
                BytesStart::new("SpotsInFrame")
                    .with_attributes([("frame", t.to_string().as_str())]),
            ))
            .map_err(|e| xml_err(&self.spots_path, e))
    }

    fn end_frame(&mut self) -> Result<()> {
        self.spots
            .write_event(Event::End(BytesEnd::new("SpotsInFrame")))
            .map_err(|e| xml_err(&self.spots_path, e))
    }

    fn spot(
        &mut self,
        t: usize,
        s: &Final,
        m: &crate::pipeline::migrasome::Migrasome,
        pos: (f64, f64),
        diameter: f64,
        cell: u32,
    ) -> Result<()> {
        let tid = s.track;
        if s.starts.is_some() {
            self.parent.insert(tid, tid);
            self.comps.insert(
                tid,
                Component {
                    live: 1,
                    first: t,
                    last: t,
                    ..Default::default()
                },
            );
            if let Some(Some(parent)) = s.starts {
                self.union(tid, parent);
            }
        }
        for e in &s.incoming {
            if e.source_track != tid {
                self.union(tid, e.source_track);
            }
        }
        let root = self.find(tid);
        let c = self.comps.entry(root).or_insert_with(|| Component {
            live: 1,
            first: t,
            last: t,
            ..Default::default()
        });
        c.edges.extend(s.incoming.iter().copied());
        c.last = c.last.max(t);
        c.first = c.first.min(t);
        c.spots += 1;
        self.nspots += 1;
        let mean = |k: usize| m.stats.channels.get(k).map_or(0.0, |c| c.mean);
        let id = s.spot.to_string();
        let mut attrs: Vec<(&str, String)> = vec![
            ("ID", id.clone()),
            ("name", format!("ID{id}")),
            (
                "QUALITY",
                format!("{:.4}", mean(self.image.membrane).max(0.0)),
            ),
            ("POSITION_X", format!("{:.4}", pos.0)),
            ("POSITION_Y", format!("{:.4}", pos.1)),
            ("POSITION_Z", "0.0".into()),
            ("POSITION_T", format!("{:.4}", t as f64 * self.dt)),
            ("FRAME", t.to_string()),
            ("RADIUS", format!("{:.4}", diameter / 2.0)),
            ("VISIBILITY", "1".into()),
            ("ESTIMATED_DIAMETER", format!("{:.4}", diameter)),
            (
                "AREA",
                format!("{:.4}", m.stats.area as f64 * self.pixel_um * self.pixel_um),
            ),
            ("MIGRASOME_ID", m.id.to_string()),
            ("CELL_ID", cell.to_string()),
            ("RELEASED", (m.released as u8).to_string()),
        ];
        for (k, c) in m.stats.channels.iter().enumerate().take(8) {
            attrs.push((channel_feature(k), format!("{:.4}", c.mean)));
        }
        let e =
            BytesStart::new("Spot").with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str())));
        self.spots
            .write_event(Event::Empty(e))
            .map_err(|e| xml_err(&self.spots_path, e))
    }

    fn track_ended(&mut self, e: &TrackEnd) -> Result<()> {
        let root = self.find(e.track);
        let done = match self.comps.get_mut(&root) {
            Some(c) => {
                c.live = c.live.saturating_sub(1);
                c.live == 0
            }
            None => false,
        };
        if done {
            let c = self.comps.remove(&root).expect("live");
            if !c.edges.is_empty() {
                self.write_track(root, &c)?;
            }
        }
        Ok(())
    }

    fn write_track(&mut self, id: u32, c: &Component) -> Result<()> {
        let p = self.tracks_path.clone();
        let err = |e: std::io::Error| xml_err(&p, e);
        let attrs = [
            ("name", format!("Track_{id}")),
            ("TRACK_INDEX", self.index.to_string()),
            ("TRACK_ID", id.to_string()),
            ("NUMBER_SPOTS", c.spots.to_string()),
            ("TRACK_START", format!("{:.4}", c.first as f64 * self.dt)),
            ("TRACK_STOP", format!("{:.4}", c.last as f64 * self.dt)),
            (
                "TRACK_DURATION",
                format!("{:.4}", (c.last - c.first) as f64 * self.dt),
            ),
        ];
        self.index += 1;
        self.filtered.push(id);
        self.tracks
            .write_event(Event::Start(
                BytesStart::new("Track")
                    .with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str()))),
            ))
            .map_err(err)?;
        for e in &c.edges {
            let t_src = e.source_frame as f64 * self.dt;
            let attrs = [
                ("SPOT_SOURCE_ID", e.source.to_string()),
                ("SPOT_TARGET_ID", e.target.to_string()),
                ("LINK_COST", format!("{:.6}", e.cost)),
                ("EDGE_TIME", format!("{:.4}", t_src)),
            ];
            self.tracks
                .write_event(Event::Empty(
                    BytesStart::new("Edge")
                        .with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str()))),
                ))
                .map_err(err)?;
        }
        self.tracks
            .write_event(Event::End(BytesEnd::new("Track")))
            .map_err(err)
    }

    /// Joins the parts into `<image>.xml` and removes them.
    fn finish(self) -> Result<()> {
        let Xml {
            path,
            spots_path,
            tracks_path,
            spots,
            tracks,
            image,
            pixel_um,
            dt,
            unit,
            nspots,
            filtered,
            ..
        } = self;
        for (w, p) in [(spots, &spots_path), (tracks, &tracks_path)] {
            let mut inner = w.into_inner();
            inner.flush().map_err(|e| Error::output(p, e))?;
        }
        let f = File::create(&path).map_err(|e| Error::output(&path, e))?;
        let mut w = Writer::new_with_indent(BufWriter::new(f), b' ', 2);
        let err = |e: std::io::Error| xml_err(&path, e);
        let start = |w: &mut Writer<BufWriter<File>>, name: &str, attrs: &[(&str, String)]| {
            w.write_event(Event::Start(
                BytesStart::new(name).with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str()))),
            ))
        };
        let empty = |w: &mut Writer<BufWriter<File>>, name: &str, attrs: &[(&str, String)]| {
            w.write_event(Event::Empty(
                BytesStart::new(name).with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str()))),
            ))
        };
        let end = |w: &mut Writer<BufWriter<File>>, name: &str| {
            w.write_event(Event::End(BytesEnd::new(name)))
        };
        let copy = |w: &mut Writer<BufWriter<File>>, part: &Path| -> Result<()> {
            let inner = w.get_mut();
            inner
                .write_all(b"\n")
                .map_err(|e| Error::output(&path, e))?;
            let mut r = File::open(part).map_err(|e| Error::output(part, e))?;
            std::io::copy(&mut r, inner).map_err(|e| Error::output(&path, e))?;
            inner
                .write_all(b"\n")
                .map_err(|e| Error::output(&path, e))?;
            std::fs::remove_file(part).map_err(|e| Error::output(part, e))
        };
        (|| -> std::io::Result<()> {
            w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
            start(
                &mut w,
                "TrackMate",
                &[("version", TRACKMATE_VERSION.into())],
            )?;
            start(&mut w, "Log", &[])?;
            w.write_event(Event::Text(quick_xml::events::BytesText::new(
                "Written by migrascope (LAP tracking of migrasomes)",
            )))?;
            end(&mut w, "Log")?;
            start(
                &mut w,
                "Model",
                &[("spatialunits", "µm".into()), ("timeunits", unit.into())],
            )?;
            start(&mut w, "FeatureDeclarations", &[])?;
            let mut spot_features: Vec<(String, &str, &str, bool)> = vec![
                ("QUALITY".into(), "Quality", "QUALITY", false),
                ("POSITION_X".into(), "X", "POSITION", false),
                ("POSITION_Y".into(), "Y", "POSITION", false),
                ("POSITION_Z".into(), "Z", "POSITION", false),
                ("POSITION_T".into(), "T", "TIME", false),
                ("FRAME".into(), "Frame", "NONE", true),
                ("RADIUS".into(), "Radius", "LENGTH", false),
                ("VISIBILITY".into(), "Visibility", "NONE", true),
                ("ESTIMATED_DIAMETER".into(), "Diameter", "LENGTH", false),
                ("AREA".into(), "Area", "AREA", false),
                ("MIGRASOME_ID".into(), "Migrasome id", "NONE", true),
                ("CELL_ID".into(), "Cell id", "NONE", true),
                ("RELEASED".into(), "Released", "NONE", true),
            ];
            for k in 0..image.channels.min(8) {
                spot_features.push((
                    channel_feature(k).into(),
                    "Mean intensity",
                    "INTENSITY",
                    false,
                ));
            }
            // one <Feature> per (feature, name, dimension, is integer), in its section
            let declare = |w: &mut Writer<BufWriter<File>>,
                           section: &str,
                           features: &[(String, &str, &str, bool)]|
             -> std::io::Result<()> {
                start(w, section, &[])?;
                for (f, name, dim, isint) in features {
                    empty(
                        w,
                        "Feature",
                        &[
                            ("feature", f.clone()),
                            ("name", (*name).into()),
                            ("shortname", (*name).into()),
                            ("dimension", (*dim).into()),
                            ("isint", isint.to_string()),
                        ],
                    )?;
                }
                end(w, section)
            };
            let owned = |v: &[(&str, &'static str, &'static str, bool)]| -> Vec<(String, &'static str, &'static str, bool)> {
                v.iter().map(|&(f, n, d, i)| (f.to_string(), n, d, i)).collect()
            };
            declare(&mut w, "SpotFeatures", &spot_features)?;
            declare(
                &mut w,
                "EdgeFeatures",
                &owned(&[
                    ("SPOT_SOURCE_ID", "Source spot ID", "NONE", true),
                    ("SPOT_TARGET_ID", "Target spot ID", "NONE", true),
                    ("LINK_COST", "Edge cost", "COST", false),
                    ("EDGE_TIME", "Edge time", "TIME", false),
                ]),
            )?;
            declare(
                &mut w,
                "TrackFeatures",
                &owned(&[
                    ("TRACK_INDEX", "Track index", "NONE", true),
                    ("TRACK_ID", "Track ID", "NONE", true),
                    ("NUMBER_SPOTS", "Number of spots in track", "NONE", true),
                    ("TRACK_START", "Track start", "TIME", false),
                    ("TRACK_STOP", "Track stop", "TIME", false),
                    ("TRACK_DURATION", "Track duration", "TIME", false),
                ]),
            )?;
            end(&mut w, "FeatureDeclarations")?;
            start(&mut w, "AllSpots", &[("nspots", nspots.to_string())])?;
            Ok(())
        })()
        .map_err(err)?;
        copy(&mut w, &spots_path)?;
        (|| -> std::io::Result<()> {
            end(&mut w, "AllSpots")?;
            start(&mut w, "AllTracks", &[])
        })()
        .map_err(err)?;
        copy(&mut w, &tracks_path)?;
        (|| -> std::io::Result<()> {
            end(&mut w, "AllTracks")?;
            start(&mut w, "FilteredTracks", &[])?;
            for id in &filtered {
                empty(&mut w, "TrackID", &[("TRACK_ID", id.to_string())])?;
            }
            end(&mut w, "FilteredTracks")?;
            end(&mut w, "Model")?;
            start(&mut w, "Settings", &[])?;
            let input = &image.input;
            empty(
                &mut w,
                "ImageData",
                &[
                    (
                        "filename",
                        input
                            .file_name()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    ),
                    (
                        "folder",
                        input
                            .parent()
                            .map(|p| {
                                let s = p.to_string_lossy().into_owned();
                                if s.is_empty() { ".".into() } else { s + "/" }
                            })
                            .unwrap_or_default(),
                    ),
                    ("width", image.width.to_string()),
                    ("height", image.height.to_string()),
                    ("nslices", "1".into()),
                    ("nframes", image.nframes.to_string()),
                    ("pixelwidth", pixel_um.to_string()),
                    ("pixelheight", pixel_um.to_string()),
                    ("voxeldepth", "1.0".into()),
                    ("timeinterval", dt.to_string()),
                ],
            )?;
            empty(
                &mut w,
                "BasicSettings",
                &[
                    ("xstart", "0".into()),
                    ("xend", (image.width.max(1) - 1).to_string()),
                    ("ystart", "0".into()),
                    ("yend", (image.height.max(1) - 1).to_string()),
                    ("zstart", "0".into()),
                    ("zend", "0".into()),
                    ("tstart", "0".into()),
                    ("tend", (image.nframes.max(1) - 1).to_string()),
                ],
            )?;
            empty(
                &mut w,
                "DetectorSettings",
                &[
                    ("DETECTOR_NAME", "MANUAL_DETECTOR".into()),
                    ("RADIUS", "0.5".into()),
                ],
            )?;
            empty(
                &mut w,
                "InitialSpotFilter",
                &[
                    ("feature", "QUALITY".into()),
                    ("value", "-1.0".into()),
                    ("isabove", "true".into()),
                ],
            )?;
            empty(&mut w, "SpotFilterCollection", &[])?;
            empty(
                &mut w,
                "TrackerSettings",
                &[("TRACKER_NAME", "MANUAL_TRACKER".into())],
            )?;
            empty(&mut w, "TrackFilterCollection", &[])?;
            end(&mut w, "Settings")?;
            empty(&mut w, "GUIState", &[("state", "ConfigureViews".into())])?;
            end(&mut w, "TrackMate")?;
            Ok(())
        })()
        .map_err(err)?;
        let mut inner = w.into_inner();
        inner
            .write_all(b"\n")
            .map_err(|e| Error::output(&path, e))?;
        inner.flush().map_err(|e| Error::output(&path, e))
    }
}

/// TrackMate's name of the mean intensity of channel `k` (0-based): `MEAN_INTENSITY_CH1`...
fn channel_feature(k: usize) -> &'static str {
    const NAMES: [&str; 8] = [
        "MEAN_INTENSITY_CH1",
        "MEAN_INTENSITY_CH2",
        "MEAN_INTENSITY_CH3",
        "MEAN_INTENSITY_CH4",
        "MEAN_INTENSITY_CH5",
        "MEAN_INTENSITY_CH6",
        "MEAN_INTENSITY_CH7",
        "MEAN_INTENSITY_CH8",
    ];
    NAMES[k.min(7)]
}

#[cfg(test)]
mod tests {
    use super::{ReleaseFit, ReleaseRule, Released, fiber_kept, ramp_fit, ramp_weight};

    /// Where the tracks of the contact tests sit (they do not move).
    const STILL: (f64, f64) = (0.0, 0.0);

    /// The release of a track with these contacts and centres (µm; frame = index), its calls
    /// attached but where `released` says.
    fn moving(
        contacts: &[f64],
        path: &[(f64, f64)],
        released: &[usize],
        rule: &ReleaseRule,
    ) -> Option<usize> {
        let mut f = ReleaseFit::default();
        for (t, (&c, &p)) in contacts.iter().zip(path).enumerate() {
            f.push((released.contains(&t), Some(c), None, t, p, ()));
        }
        f.release(rule).map(|(t, ())| t)
    }

    /// A track that sits at (10, 10) (wandering 0.03 µm) for `still` frames, then moves
    /// `speed` µm a frame, `n` frames in all.
    fn sit_then_move(still: usize, speed: f64, n: usize) -> Vec<(f64, f64)> {
        (0..n)
            .map(|t| {
                let w = 0.03 * if t % 2 == 0 { 1.0 } else { -1.0 };
                let moved = t.saturating_sub(still - 1) as f64 * speed;
                (10.0 + moved + w, 10.0 - w)
            })
            .collect()
    }

    #[test]
    fn a_still_track_that_starts_to_move_was_released() {
        let rule = faint();
        // sits for frames 0-11, moves from 12 on at 0.8 µm a frame (over the rest of its
        // fiber: the contact is a fiber's again), its contact dips in frames 10-11
        let path = sit_then_move(12, 0.8, 20);
        let mut dip = [2.5; 20];
        dip[10] = 0.9;
        dip[11] = 0.9;
        // the contact alone shows no release (the dip is two frames of twenty) ...
        let mut f = ReleaseFit::default();
        for (t, &c) in dip.iter().enumerate() {
            f.push((false, Some(c), None, t, (10.0, 10.0), ()));
        }
        assert_eq!(f.release(&rule).map(|(t, ())| t), None);
        // ... the motion does: the dip before it is the release
        assert_eq!(moving(&dip, &path, &[], &rule), Some(10));
        // without the dip: the last frame it sat still
        assert_eq!(moving(&[2.5; 20], &path, &[], &rule), Some(11));
        // a dip more than 4 frames before the motion is not its release
        let mut early = [2.5; 20];
        early[6] = 0.9;
        assert_eq!(moving(&early, &path, &[], &rule), Some(11));
        // a step in the contact before the motion is the release (the fiber broke first)
        let mut step = [2.5; 20];
        step[5..].fill(0.8);
        assert_eq!(moving(&step, &path, &[], &rule), Some(5));
        // a step after the motion began is not: a migrasome moves once freed
        let mut late = [2.5; 20];
        late[16..].fill(0.6);
        assert_eq!(moving(&late, &path, &[], &rule), Some(11));
        // 0.6 µm a frame: past 0.5 µm at once
        assert_eq!(
            moving(&[2.5; 20], &sit_then_move(12, 0.6, 20), &[], &rule),
            Some(11)
        );
        // a first step between 0.3 and 0.5 µm is neither still nor moved: not judged
        assert_eq!(
            moving(&[2.5; 20], &sit_then_move(12, 0.4, 20), &[], &rule),
            None
        );
        // off
        let off = ReleaseRule {
            motion_um: 0.0,
            ..rule
        };
        assert_eq!(moving(&dip, &path, &[], &off), None);
        assert_eq!(moving(&late, &path, &[], &off), Some(16));
    }

    /// The motion seen through the frames ahead, as `ImageTracking::write_frame` judges the
    /// state with `released_lookahead` 8: sits for frames 0-11, moves from 12 on, its contact
    /// a fiber's throughout (no step), some detections without a ring.
    #[test]
    fn the_state_follows_the_motion_seen_ahead() {
        let rule = faint();
        let path = sit_then_move(12, 0.8, 20);
        let contact = |t: usize| (t % 5 != 3).then_some(2.5);
        let mut f = ReleaseFit::default();
        let mut states = Vec::new();
        for t in 0..20 {
            f.push((false, contact(t), None, t, path[t], ()));
            let more = (t + 1..=(t + 8).min(19)).map(|k| (false, contact(k), None, k, path[k], ()));
            states.push(f.with_more(more, |f| f.state_at(t, &rule)));
        }
        // released from its last still frame (11) on; attached before (from frame 5 on the
        // motion at 12 and 13 is in view, and places the release after the frame)
        let first = states.iter().position(|s| *s == Released::Step);
        assert_eq!(first, Some(11), "{states:?}");
        assert!(states[..11].iter().all(|s| *s == Released::Attached));
        assert!(states[11..].iter().all(|s| *s == Released::Step));
        // seen only up to the first frame that moved (no lookahead past it): not yet
        let mut g = ReleaseFit::default();
        for (t, &p) in path.iter().enumerate().take(13) {
            g.push((false, contact(t), None, t, p, ()));
        }
        assert_eq!(g.state_at(12, &rule), Released::Attached);
        // a ring-less detection is the last still one: the release is it
        let at = |k: usize| (k != 11).then_some(2.5);
        let mut h = ReleaseFit::default();
        for (t, &p) in path.iter().enumerate() {
            h.push((false, at(t), None, t, p, ()));
        }
        assert_eq!(h.release(&rule).map(|(t, ())| t), Some(11));
    }

    #[test]
    fn a_step_after_one_ring_is_judged_again() {
        let rule = faint();
        let track = |contacts: &[f64]| {
            let mut f = ReleaseFit::default();
            for (t, &c) in contacts.iter().enumerate() {
                f.push((false, Some(c), None, t, STILL, ()));
            }
            f
        };
        // movie 61's attached migrasome on a faint fiber (SNR 4), its first 26 detections:
        // seen up to 8 frames on, its first frames show a step after the bright first ring
        // (so do its first 25)
        let contacts = [
            1.769, 0.860, 0.819, 1.295, 0.740, 1.360, 0.894, 1.246, 1.259, 1.098, 1.088, 1.271,
            1.697, 1.272, 1.608, 0.917, 1.302, 1.239, 1.379, 1.361, 0.959, 1.380, 1.131, 1.097,
            1.631, 1.422,
        ];
        let first = track(&contacts[..10]);
        assert_eq!(first.release(&rule).map(|(t, ())| t), Some(1));
        assert_eq!(first.state_at(1, &rule), Released::Again);
        assert_eq!(track(&contacts[..25]).state_at(16, &rule), Released::Again);
        // the longer track has none: attached again (the state was not final)
        let longer = track(&contacts);
        assert_eq!(longer.release(&rule).map(|(t, ())| t), None);
        assert_eq!(longer.state_at(1, &rule), Released::Attached);
        // two bright rings before the step: released for good from the step on
        let g = track(&[2.0, 2.0, 1.2, 1.2, 1.2, 1.2]);
        assert_eq!(g.state_at(1, &rule), Released::Attached);
        assert_eq!(g.state_at(2, &rule), Released::Step);
    }

    #[test]
    fn what_moves_but_was_not_held_makes_no_release() {
        let rule = faint();
        let path = sit_then_move(12, 0.8, 20);
        // the motion needs the detection after the first one that moved
        assert_eq!(moving(&[2.5; 13], &path[..13], &[], &rule), None);
        assert_eq!(moving(&[2.5; 14], &path[..14], &[], &rule), Some(11));
        // a jump that then stays (a neighbour taken for it, the whole field shifted)
        let jump: Vec<(f64, f64)> = (0..20)
            .map(|t| (if t < 12 { 10.0 } else { 11.0 }, 10.0))
            .collect();
        assert_eq!(moving(&[2.5; 20], &jump, &[], &rule), None);
        // moving from its second detection on: it never sat still
        assert_eq!(
            moving(&[2.5; 20], &sit_then_move(1, 0.8, 20), &[], &rule),
            None
        );
        // four still detections are too few (one seen released at its birth, called
        // attached in its first two frames, that its cell then takes up)
        assert_eq!(
            moving(&[2.5; 20], &sit_then_move(4, 0.8, 20), &[], &rule),
            None
        );
        assert_eq!(
            moving(&[2.5; 20], &sit_then_move(5, 0.8, 20), &[], &rule),
            Some(4)
        );
        // a wander of 0.4 µm before it: not still, nothing is judged
        let mut wander = path.clone();
        wander[6].1 += 0.4;
        assert_eq!(moving(&[2.5; 20], &wander, &[], &rule), None);
        // called released while it sat (released before it was seen)
        let calls: Vec<usize> = (0..12).collect();
        assert_eq!(moving(&[2.5; 20], &path, &calls, &rule), None);
        // no fiber's contact while it sat
        assert_eq!(moving(&[0.8; 20], &path, &[], &rule), None);
    }

    /// The rule before stop 28: a drop of 1.5, no faint path.
    fn plain(min_after: u32) -> ReleaseRule {
        ReleaseRule {
            min_after,
            drop: 1.5,
            faint_drop: 1.5,
            faint_after_max: 0.0,
            faint_min_t: 0.0,
            end_drop: f64::INFINITY,
            motion_um: 0.5,
            window_frames: 0,
        }
    }

    /// The rule of stop 28 on (the defaults): with the faint path.
    fn faint() -> ReleaseRule {
        ReleaseRule {
            min_after: 2,
            drop: 1.5,
            faint_drop: 1.2,
            faint_after_max: 1.15,
            faint_min_t: 2.5,
            end_drop: 2.0,
            motion_um: 0.5,
            window_frames: 0,
        }
    }

    /// The release of a track with these contacts, all its calls attached (frame = index).
    fn fit_with(contacts: &[f64], rule: &ReleaseRule) -> Option<usize> {
        let mut f = ReleaseFit::default();
        for (t, &c) in contacts.iter().enumerate() {
            f.push((false, Some(c), None, t, STILL, ()));
        }
        f.release(rule).map(|(t, ())| t)
    }

    fn fit(contacts: &[f64], min_after: u32) -> Option<usize> {
        fit_with(contacts, &plain(min_after))
    }

    /// The same by brute force: every step's two means and the SD about them recomputed
    /// from the contacts.
    fn brute(contacts: &[f64], calls: &[bool], rule: &ReleaseRule) -> Option<usize> {
        let logs: Vec<f64> = contacts.iter().map(|c| c.max(0.1).ln()).collect();
        let n = logs.len();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let mut best: Option<(f64, usize)> = None;
        for k in 1..n {
            if n - k < rule.min_after as usize {
                continue;
            }
            let attached = calls[..k].iter().filter(|r| !**r).count();
            let (high, low) = (mean(&logs[..k]), mean(&logs[k..]));
            let explained = (k * (n - k)) as f64 / n as f64 * (high - low).powi(2);
            let ss: f64 = logs[..k].iter().map(|l| (l - high).powi(2)).sum::<f64>()
                + logs[k..].iter().map(|l| (l - low).powi(2)).sum::<f64>();
            let deep = if n > 2 {
                let se = (ss / (n - 2) as f64 * (1.0 / k as f64 + 1.0 / (n - k) as f64)).sqrt();
                high - low >= rule.faint_min_t * se
            } else {
                rule.faint_min_t == 0.0
            };
            let mid = 0.5 * (high + low);
            let m = (rule.min_after as usize).max(1);
            let faint =
                high - low >= rule.faint_drop.ln() && low <= rule.faint_after_max.ln() && deep;
            if 2 * attached > k
                && high >= 0.0
                && (high - low >= rule.drop.ln() || faint)
                && logs[k..k + m].iter().all(|&l| l < mid)
                && best.is_none_or(|b| explained > b.0)
            {
                best = Some((explained, k));
            }
        }
        best.map(|b| b.1)
    }

    #[test]
    fn release_at_low_snr_is_a_small_drop_that_stands_out_of_the_scatter() {
        let rule = faint();
        // SNR 4 (movie 44, truth release at 23): a fiber's 1.3-2.3 to 0.8-1.35, a drop of
        // 1.45, which the plain rule's 1.5 misses
        let snr4 = [
            2.00, 1.64, 1.69, 1.53, 1.28, 1.52, 1.38, 1.59, 1.45, 1.45, 1.62, 1.33, 1.48, 1.60,
            1.66, 2.25, 1.58, 1.56, 1.75, 1.41, 1.39, 1.48, 1.46, 1.08, 0.96, 0.78, 1.02, 0.96,
            1.02, 0.90, 1.35, 1.27, 1.26, 1.01, 1.10, 0.97, 1.04, 1.07, 1.06,
        ];
        assert_eq!(fit_with(&snr4, &rule), Some(23));
        assert_eq!(fit(&snr4, 2), None);
        // an attached migrasome whose fiber dims from 2.6 to 2: a small drop to a fiber's level
        let dims = [2.6, 2.8, 2.5, 2.7, 2.6, 2.5, 2.1, 2.2, 1.9, 2.2, 2.0, 2.1];
        assert_eq!(fit_with(&dims, &rule), None);
        let mut faint_only = rule;
        faint_only.faint_after_max = f64::INFINITY;
        assert_eq!(fit_with(&dims, &faint_only), Some(6));
        // a noisy attached track at SNR 4 wanders by 1.2x: no step stands out
        let wander = [
            1.3, 0.9, 1.5, 1.1, 1.4, 1.0, 1.2, 0.9, 1.3, 1.0, 1.1, 1.4, 0.95, 1.05,
        ];
        assert_eq!(fit_with(&wander, &rule), None);
        // two detections (with `release_persistence` 1) leave no scatter: no faint release
        let two = ReleaseRule {
            min_after: 1,
            ..rule
        };
        assert_eq!(fit_with(&[1.3, 0.95], &two), None);
        let no_test = ReleaseRule {
            faint_min_t: 0.0,
            ..two
        };
        assert_eq!(fit_with(&[1.3, 0.95], &no_test), Some(1));
        // the plain rule's releases at SNR 8 stay
        assert_eq!(
            fit_with(&[2.0, 2.0, 2.0, 2.0, 0.8, 0.8, 0.8], &rule),
            Some(4)
        );
        let noisy = [2.5, 0.5, 1.8, 2.2, 2.0, 2.4, 0.9, 0.7, 1.6, 0.8, 1.0, 0.9];
        assert_eq!(fit_with(&noisy, &rule), Some(6));
    }

    #[test]
    fn a_release_in_the_movies_last_frame_needs_a_deeper_drop() {
        let rule = faint();
        let ending = |contacts: &[f64], calls: &[bool], last: usize| {
            let mut f = ReleaseFit::default();
            for (t, (&c, &r)) in contacts.iter().zip(calls).enumerate() {
                f.push((r, Some(c), None, t, STILL, ()));
            }
            f.release_ending_at(&rule, last).map(|(t, ())| t)
        };
        let attached = [false; 6];
        // a fiber's 2.6 to 1.1 in the last frame (2.4x): released there, which the plain
        // fit cannot call with one detection after the step
        let deep = [2.5, 2.8, 2.4, 2.7, 2.6, 1.1];
        assert_eq!(fit_with(&deep, &rule), None);
        assert_eq!(ending(&deep, &attached, 5), Some(5));
        // not the movie's last frame (the track ended before): none
        assert_eq!(ending(&deep, &attached, 9), None);
        // a drop of 1.7x: none (1.5 called 3 false on 22 movies)
        assert_eq!(ending(&[2.5, 2.8, 2.4, 2.7, 2.6, 1.5], &attached, 5), None);
        // no fiber before (0.9), or the calls before mostly released: none
        assert_eq!(ending(&[0.9, 0.9, 0.9, 0.3], &attached[..4], 3), None);
        assert_eq!(
            ending(&deep, &[true, true, true, false, true, true], 5),
            None
        );
        // two detections: too few
        assert_eq!(ending(&[2.6, 1.0], &attached[..2], 1), None);
        // a step found as usual stays that one
        let step = [2.5, 2.5, 2.5, 0.8, 0.8, 0.3];
        assert_eq!(ending(&step, &attached, 5), Some(3));
        // off: an infinite drop
        let off = ReleaseRule {
            end_drop: f64::INFINITY,
            ..rule
        };
        let mut f = ReleaseFit::default();
        for (t, &c) in deep.iter().enumerate() {
            f.push((false, Some(c), None, t, STILL, ()));
        }
        assert_eq!(f.release_ending_at(&off, 5), None);
    }

    #[test]
    fn release_is_the_step_down_in_the_contact() {
        assert_eq!(fit(&[2.0, 2.0, 2.0, 2.0, 0.8, 0.8, 0.8], 2), Some(4));
        // one dip before the release, one high contact after it: the step stays
        let noisy = [2.5, 0.5, 1.8, 2.2, 2.0, 2.4, 0.9, 0.7, 1.6, 0.8, 1.0, 0.9];
        assert_eq!(fit(&noisy, 2), Some(6));
        // no drop, a drop too small (1.33x), rising contact: none
        assert_eq!(fit(&[2.0; 8], 2), None);
        assert_eq!(fit(&[2.0, 2.0, 2.0, 1.5, 1.5, 1.5], 2), None);
        assert_eq!(fit(&[0.8, 0.8, 0.8, 2.0, 2.0, 2.0], 2), None);
        // too few detections after the step
        let late = [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0];
        assert_eq!(fit(&late, 2), None);
        assert_eq!(fit(&late, 1), Some(6));
        // a ring without a ridge (0) counts as the floor, not as an endless drop; before the
        // step the contact must be a fiber's (at least the threshold)
        assert_eq!(fit(&[1.2, 1.2, 1.2, 0.0, 0.0, 0.0], 2), Some(3));
        assert_eq!(fit(&[0.9, 0.9, 0.9, 0.5, 0.5, 0.5], 2), None);
        // one low frame at the end, one dip among high ones: none; a dip of 3 frames is one
        let back = [2.0, 2.0, 2.0, 2.0, 2.0, 0.7, 0.7, 0.7, 2.0, 2.0, 2.0];
        assert_eq!(fit(&back, 2), Some(5));
        assert_eq!(fit(&[2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 0.0], 2), None);
        let dip = [2.0, 2.0, 2.0, 2.0, 2.0, 0.0, 2.0, 2.0, 2.0, 2.0, 2.0];
        assert_eq!(fit(&dip, 2), None);
        let dip = [2.5, 1.8, 2.2, 3.0, 2.0, 0.0, 2.4, 1.9, 2.6, 2.1];
        assert_eq!(fit(&dip, 2), None);
        // an outlier after the step does not pull it early
        assert_eq!(fit(&[3.0, 3.0, 2.0, 2.0, 2.0, 0.5, 0.6, 0.5], 2), Some(5));
        assert_eq!(fit(&[], 1), None);
        // calls mostly released before the step: released before it was seen
        let mut f = ReleaseFit::default();
        for (t, c) in [2.0, 2.0, 2.0, 0.8, 0.8, 0.8].into_iter().enumerate() {
            f.push((t != 1, Some(c), None, t, STILL, ()));
        }
        assert_eq!(f.release(&plain(2)), None);
    }

    #[test]
    fn release_fit_matches_brute_force_on_random_tracks() {
        use rand::rngs::ChaCha8Rng;
        use rand::{RngExt, SeedableRng};
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        for _ in 0..3000 {
            let n = rng.random_range(0..25usize);
            let step = rng.random_range(0..=n);
            let contacts: Vec<f64> = (0..n)
                .map(|i| {
                    let level = if i < step { 2.0 } else { 0.8 };
                    level * rng.random_range(0.4..1.6) * (rng.random::<f64>() > 0.05) as u8 as f64
                })
                .collect();
            let calls: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < 0.3).collect();
            let drop = rng.random_range(1.1..2.5);
            let rule = ReleaseRule {
                min_after: rng.random_range(1..4u32),
                drop,
                faint_drop: rng.random_range(1.05..drop),
                faint_after_max: if rng.random::<f64>() < 0.3 {
                    f64::INFINITY
                } else {
                    rng.random_range(0.6..1.5)
                },
                faint_min_t: if rng.random::<f64>() < 0.3 {
                    0.0
                } else {
                    rng.random_range(0.5..5.0)
                },
                // `release` alone: the movie's end plays no part; the tracks sit still
                end_drop: 2.0,
                motion_um: 0.5,
                window_frames: 0,
            };
            let mut f = ReleaseFit::default();
            for (t, (&c, &r)) in contacts.iter().zip(&calls).enumerate() {
                f.push((r, Some(c), None, t, STILL, ()));
            }
            assert_eq!(
                f.release(&rule).map(|(t, ())| t),
                brute(&contacts, &calls, &rule),
                "{contacts:?} {calls:?} {rule:?}"
            );
        }
    }

    /// [`ramp_fit`] by plain least squares on every onset: the fitted levels and the residual
    /// sum of squares of each onset, solved from scratch.
    fn ramp_brute(
        points: &[(usize, f64)],
        k: usize,
        onsets: std::ops::RangeInclusive<usize>,
    ) -> Vec<(usize, f64, f64, f64)> {
        let mut out = Vec::new();
        for r in onsets {
            let w: Vec<f64> = points.iter().map(|p| ramp_weight(p.0, r, k)).collect();
            let zero = w.iter().filter(|&&w| w == 0.0).count();
            let half = w.iter().filter(|&&w| w >= 0.5).count();
            if zero < 2 || half < 2 {
                continue;
            }
            let (mut s00, mut s01, mut s11, mut b0, mut b1) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (p, &w) in points.iter().zip(&w) {
                s00 += (1.0 - w) * (1.0 - w);
                s01 += w * (1.0 - w);
                s11 += w * w;
                b0 += (1.0 - w) * p.1;
                b1 += w * p.1;
            }
            let det = s00 * s11 - s01 * s01;
            let a = (s11 * b0 - s01 * b1) / det;
            let b = (s00 * b1 - s01 * b0) / det;
            if a <= b {
                continue;
            }
            let sse: f64 = points
                .iter()
                .zip(&w)
                .map(|(p, &w)| (p.1 - a * (1.0 - w) - b * w).powi(2))
                .sum();
            out.push((r, a, b, sse));
        }
        out
    }

    #[test]
    fn ramp_fit_matches_brute_force_on_random_points() {
        use rand::rngs::ChaCha8Rng;
        use rand::{RngExt, SeedableRng};
        let mut rng = ChaCha8Rng::seed_from_u64(32);
        let mut fitted = 0;
        for _ in 0..3000 {
            let k = rng.random_range(1..7usize);
            let n = rng.random_range(0..30usize);
            let onset = rng.random_range(0..=n + 2);
            // frames with gaps, a ramp of k frames down from a level to another, noise
            let mut t = 0;
            let points: Vec<(usize, f64)> = (0..n)
                .map(|_| {
                    t += if rng.random::<f64>() < 0.2 { 2 } else { 1 };
                    let w = ramp_weight(t, onset, k);
                    let v = 0.9 * (1.0 - w) - 0.1 * w + rng.random_range(-0.3..0.3);
                    (t, v)
                })
                .collect();
            let lo = rng.random_range(0..5usize);
            let onsets = lo..=lo + rng.random_range(0..40usize);
            let all = ramp_brute(&points, k, onsets.clone());
            let got = ramp_fit(&points, k, onsets);
            let Some(best) = all.iter().map(|a| a.3).min_by(f64::total_cmp) else {
                assert_eq!(got, None, "{points:?} k {k}");
                continue;
            };
            let got = got.expect("a fit where brute force has one");
            let (_, a, b, sse) = *all
                .iter()
                .find(|a| a.0 == got.onset)
                .expect("an onset tried");
            // the onset with the least residual (equal to 1e-9: ties of rounding), its levels
            assert!(sse <= best + 1e-9, "{sse} > {best} {points:?} k {k}");
            assert!((got.before - a).abs() < 1e-9 && (got.after - b).abs() < 1e-9);
            fitted += 1;
        }
        assert!(fitted > 1000, "{fitted}");
    }

    /// A track sitting still: its contacts and windowed contacts of 4 frames (frame = index),
    /// all calls attached; its release.
    fn windowed(contacts: &[f64], windows: &[Option<f64>], path: &[(f64, f64)]) -> Option<usize> {
        let rule = ReleaseRule {
            window_frames: 4,
            ..faint()
        };
        let mut f = ReleaseFit::default();
        for (t, (&c, &w)) in contacts.iter().zip(windows).enumerate() {
            f.push((false, Some(c), w, t, path[t], ()));
        }
        f.release(&rule).map(|(t, ())| t)
    }

    /// The mean of 4 frames of a fiber that breaks at frame `at`: a contact of `high` before,
    /// ramping down to `low` over the 4 frames from it (in logs), none in the first 3 frames.
    fn window_ramp(n: usize, at: usize, high: f64, low: f64) -> Vec<Option<f64>> {
        (0..n)
            .map(|t| {
                let w = ramp_weight(t, at, 4);
                (t >= 3).then(|| (high.ln() * (1.0 - w) + low.ln() * w).exp())
            })
            .collect()
    }

    #[test]
    fn the_windowed_contact_places_the_release() {
        // the fiber breaks at 20; the single frames' noise keeps the contact high for two
        // frames more, so their step is at 22
        let contacts: Vec<f64> = (0..30)
            .map(|t| match t {
                0..20 => 2.0,
                20 | 21 => 1.9,
                _ => 0.8,
            })
            .collect();
        let still = vec![STILL; 30];
        assert_eq!(fit_with(&contacts, &faint()), Some(22));
        assert_eq!(windowed(&contacts, &vec![None; 30], &still), Some(22));
        let ramp = window_ramp(30, 20, 2.5, 0.9);
        assert_eq!(windowed(&contacts, &ramp, &still), Some(20));
        // a ramp farther off moves it 3 frames at most
        let far = window_ramp(30, 17, 2.5, 0.9);
        assert_eq!(windowed(&contacts, &far, &still), Some(19));
        // one up does not move it: the fiber is there after it, so it is none (see
        // `no_release_where_the_windowed_contact_keeps_the_fiber`)
        let up = window_ramp(30, 20, 0.9, 2.5);
        assert_eq!(windowed(&contacts, &up, &still), None);
    }

    #[test]
    fn no_release_where_the_windowed_contact_keeps_the_fiber() {
        // a single-frame step at 20 (the noise), the windowed contact steady at 2.5 ...
        let contacts: Vec<f64> = (0..30).map(|t| if t < 20 { 2.0 } else { 0.8 }).collect();
        let still = vec![STILL; 30];
        let steady = window_ramp(30, 20, 2.5, 2.5);
        assert_eq!(windowed(&contacts, &steady, &still), None);
        // ... or down to 0.7 of it, the fiber is still there; to 0.6 it broke
        assert_eq!(
            windowed(&contacts, &window_ramp(30, 20, 2.5, 1.8), &still),
            None
        );
        assert_eq!(
            windowed(&contacts, &window_ramp(30, 20, 2.5, 1.5), &still),
            Some(20)
        );
        // moving from the frame after it on (no still window half after it), the step stands
        let moving: Vec<(f64, f64)> = (0..30)
            .map(|t: usize| (10.0 + 0.4 * t.saturating_sub(20) as f64, 10.0))
            .collect();
        assert_eq!(windowed(&contacts, &steady, &moving), Some(20));
        // near the movie's end the windows half after the release are all there is: a
        // single-frame step 3 frames before the end where the windowed contact stays at
        // 2.5 is none, one where it ramps down is the release
        let late: Vec<f64> = (0..30).map(|t| if t < 27 { 2.0 } else { 0.8 }).collect();
        assert_eq!(windowed(&late, &steady, &still), None);
        assert_eq!(
            windowed(&late, &window_ramp(30, 27, 2.5, 1.0), &still),
            Some(27)
        );
        // fiber_kept on its own: 2 frames at least before
        let pts = |v: &[(usize, f64)]| v.iter().map(|&(t, c)| (t, f64::ln(c))).collect::<Vec<_>>();
        assert!(fiber_kept(
            &pts(&[(5, 2.0), (6, 2.0), (12, 1.5), (13, 1.5)]),
            10,
            3
        ));
        assert!(!fiber_kept(
            &pts(&[(5, 2.0), (6, 2.0), (12, 1.3), (13, 1.3)]),
            10,
            3
        ));
        assert!(!fiber_kept(&pts(&[(6, 2.0), (12, 2.0), (13, 2.0)]), 10, 3));
        // a window under half after the release says nothing (10: w = 1/3)
        assert!(!fiber_kept(&pts(&[(5, 2.0), (6, 2.0), (10, 2.0)]), 10, 3));
        // frame 11 (w = 2/3) alone: 2^(1/3) 1.4^(2/3) = 1.58 is 0.7 of 2 kept after it
        assert!(fiber_kept(&pts(&[(5, 2.0), (6, 2.0), (11, 1.6)]), 10, 3));
        assert!(!fiber_kept(&pts(&[(5, 2.0), (6, 2.0), (11, 1.55)]), 10, 3));
        // 2 windows wholly after it judge alone (12 and 13: 0.75 of 2, kept; the window half
        // after it, 11, would read 1.05 after it)
        assert!(fiber_kept(
            &pts(&[(5, 2.0), (6, 2.0), (11, 1.3), (12, 1.5), (13, 1.5)]),
            10,
            3
        ));
        // 1 wholly after: the half ones too (ln(after) the mean of ln 1.5 and that of
        // 2^(-1/2) 1.6^(3/2) = 1.43: 0.73 of 2)
        assert!(fiber_kept(
            &pts(&[(5, 2.0), (6, 2.0), (11, 1.6), (12, 1.5)]),
            10,
            3
        ));
        assert!(!fiber_kept(
            &pts(&[(5, 2.0), (6, 2.0), (11, 1.3), (12, 1.5)]),
            10,
            3
        ));
    }

    #[test]
    fn a_release_only_the_windowed_contact_shows() {
        // single frames without a step (a faint fiber in the noise) ...
        let contacts: Vec<f64> = (0..30).map(|t| [1.2, 0.9, 1.1][t % 3]).collect();
        let still = vec![STILL; 30];
        let noisy = |w: Vec<Option<f64>>| -> Vec<Option<f64>> {
            let jitter = [1.0, 1.08, 0.93, 1.03, 0.96];
            (w.iter().enumerate())
                .map(|(t, w)| w.map(|w| w * jitter[t % 5]))
                .collect()
        };
        assert_eq!(windowed(&contacts, &vec![None; 30], &still), None);
        // ... whose mean of 4 frames drops from a fiber's 2.5 to 0.9 from frame 15
        let ramp = noisy(window_ramp(30, 15, 2.5, 0.9));
        assert_eq!(windowed(&contacts, &ramp, &still), Some(15));
        // a shallow ramp (2.5 to 2.0) is no release, nor one from under a fiber's level
        assert_eq!(
            windowed(&contacts, &noisy(window_ramp(30, 15, 2.5, 2.0)), &still),
            None
        );
        assert_eq!(
            windowed(&contacts, &noisy(window_ramp(30, 15, 1.3, 0.6)), &still),
            None
        );
        // a migrasome moving all along (a trail in the mean) is not judged on it
        let moving: Vec<(f64, f64)> = (0..30).map(|t| (10.0 + 0.4 * t as f64, 10.0)).collect();
        assert_eq!(windowed(&contacts, &ramp, &moving), None);
        // nor one whose calls before were mostly released
        let rule = ReleaseRule {
            window_frames: 4,
            ..faint()
        };
        let mut f = ReleaseFit::default();
        for (t, (&c, &w)) in contacts.iter().zip(&ramp).enumerate() {
            f.push((t < 15, Some(c), w, t, STILL, ()));
        }
        assert_eq!(f.release(&rule).map(|(t, ())| t), None);
    }

    /// The state in each frame as `ImageTracking::write_frame` judges it with
    /// `released_lookahead` = `lookahead` ≥ 1: the track pushed up to `lookahead` frames after
    /// the frame, released for good from its step on. (`lookahead` 0 here is the fit on the
    /// frames up to the frame's own, which `ImageTracking` does not do: 0 gives it the frame
    /// calls.)
    fn states(contacts: &[Option<f64>], calls: &[bool], lookahead: usize) -> Vec<bool> {
        let rule = faint();
        let mut state = Released::Attached;
        (0..contacts.len())
            .map(|t| {
                if state != Released::Step {
                    let mut f = ReleaseFit::default();
                    for k in 0..=t {
                        f.push((calls[k], contacts[k], None, k, STILL, ()));
                    }
                    let last = (t + lookahead).min(contacts.len() - 1);
                    let more = (t + 1..=last).map(|k| (calls[k], contacts[k], None, k, STILL, ()));
                    state = f.with_more(more, |f| f.state_at(t, &rule));
                    // the frames ahead went again
                    assert_eq!(
                        f.seen.len(),
                        (0..=t).filter(|&k| contacts[k].is_some()).count()
                    );
                    assert_eq!(f.calls.1, t + 1);
                    assert_eq!(f.path.len(), t + 1);
                }
                state.released()
            })
            .collect()
    }

    #[test]
    fn the_released_state_follows_the_step_seen_ahead() {
        // attached (2.5) for 10 frames, then freed (0.6); a ring-less detection in frame 4;
        // noise calls 3 attached frames released and 3 freed ones attached
        let contacts: Vec<Option<f64>> = (0..20)
            .map(|t| match t {
                4 => None,
                t if t < 10 => Some(if t % 2 == 0 { 2.3 } else { 2.7 }),
                t => Some(if t % 2 == 0 { 0.55 } else { 0.65 }),
            })
            .collect();
        let calls: Vec<bool> = (0..20)
            .map(|t| matches!(t, 2 | 5 | 7 | 10..=19) && !matches!(t, 12 | 15 | 18))
            .collect();
        let truth: Vec<bool> = (0..20).map(|t| t >= 10).collect();
        // seen 8 frames on, the state is the step's from the first frame to the last
        assert_eq!(states(&contacts, &calls, 8), truth);
        // seen 1 frame on, too (the step needs 2 detections from it on: 10 and 11)
        assert_eq!(states(&contacts, &calls, 1), truth);
        // judged on the frames up to its own alone, the step is known a frame late
        let mut late = truth.clone();
        late[10] = false;
        assert_eq!(states(&contacts, &calls, 0), late);
        // no step: the calls' majority, released once released. Mostly released from its
        // first frame (released before it was seen):
        let flat = vec![Some(0.8); 12];
        let freed: Vec<bool> = (0..12).map(|t| t != 3 && t != 6).collect();
        assert_eq!(states(&flat, &freed, 8), vec![true; 12]);
        // attached all along, 4 of 12 frames called released: attached
        let fiber = vec![Some(2.0); 12];
        let noisy: Vec<bool> = (0..12).map(|t| t % 3 == 1).collect();
        assert_eq!(states(&fiber, &noisy, 8), vec![false; 12]);
        // its first 3 frames called released: attached seen 8 frames on; seen 1 frame on,
        // released while most calls so far are, then attached again (no step: not final)
        let early: Vec<bool> = (0..12).map(|t| t < 3).collect();
        assert_eq!(states(&fiber, &early, 8), vec![false; 12]);
        let mut flip = vec![false; 12];
        flip[..4].fill(true);
        assert_eq!(states(&fiber, &early, 1), flip);
    }

    /// A 64² frame with one migrasome at (20, 20) px, its frame's call and fiber contact, no
    /// cells, an empty body mask.
    fn frame(released: bool, contact: f64) -> crate::pipeline::migrasome::FrameResult {
        use crate::ops::measure::ObjectStats;
        use crate::pipeline::migrasome::{FrameLabels, FrameResult, Migrasome, Thresholds};
        FrameResult {
            width: 64,
            height: 64,
            thresholds: Thresholds::default(),
            spot_contrast: None,
            smooth_sigma_px: 1.0,
            cells: vec![],
            migrasomes: vec![Migrasome {
                id: 1,
                cell_id: 0,
                stats: ObjectStats {
                    label: 1,
                    area: 20,
                    bbox: [18, 18, 22, 22],
                    centroid_x: 20.0,
                    centroid_y: 20.0,
                    channels: vec![],
                },
                shape: Default::default(),
                released,
                fiber_contact: Some(contact),
                fiber_contact_window: None,
                persisted: false,
                cargo: vec![],
            }],
            rejected: vec![],
            labels: FrameLabels {
                bodies: vec![0; 64 * 64],
                ..Default::default()
            },
            uptake: None,
        }
    }

    /// `ImageTracking` on two planes: every frame is handed out early once and then ready
    /// once, both in the order pushed; a frame is ready only once the 8 frames after it in its
    /// plane are in (or the movie ended); its migrasome's state is the track's step (attached
    /// in frames 0-7, then freed), whatever the frame calls that noise got wrong.
    #[test]
    fn image_tracking_hands_out_each_frame_twice_and_the_states_wait_for_the_frames_ahead() {
        use super::{Early, ImageTracking};
        use crate::pipeline::migrasome::config::TrackingParams;
        let dir = tempfile::tempdir().unwrap();
        let p = TrackingParams::default();
        let (nt, nz) = (16, 2);
        let mut tr = ImageTracking::create(
            dir.path(),
            "movie",
            &p,
            0.1,
            Some(300.0),
            (nt, nz),
            0,
            &[],
            (&[], &[]),
            None,
        )
        .unwrap();
        let mut early_order = Vec::new();
        let mut early = |e: Early| {
            early_order.push((e.t, e.z));
            assert!(e.planes.is_none());
            Ok(None)
        };
        let mut ready = Vec::new();
        let mut pushed = Vec::new();
        for t in 0..nt {
            for z in 0..nz {
                let freed = t >= 8;
                // noise: frame 3 called released, frames 10 and 11 attached
                let call = if matches!(t, 3 | 10 | 11) {
                    !freed
                } else {
                    freed
                };
                let f = frame(call, if freed { 0.5 } else { 2.5 });
                pushed.push((t, z));
                for r in tr.push(t, z, f, None, &mut early).unwrap() {
                    // the 8 frames after it in its plane are in
                    assert!(r.t + 8 <= t, "frame {} ready at {t}", r.t);
                    ready.push((r.t, r.z, r.f.migrasomes[0].released, r.ids.track[0]));
                }
            }
        }
        for r in tr.finish_frames(&mut early).unwrap() {
            ready.push((r.t, r.z, r.f.migrasomes[0].released, r.ids.track[0]));
        }
        tr.finish().unwrap();
        assert_eq!(early_order, pushed);
        let order: Vec<(usize, usize)> = ready.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(order, pushed);
        for &(t, z, released, track) in &ready {
            assert_eq!(released, t >= 8, "frame {t} plane {z}");
            // one track per plane
            assert_eq!(track, ready[z].3, "frame {t} plane {z}");
        }
        // the release event at the step, once per plane
        let events = std::fs::read_to_string(dir.path().join("events.csv")).unwrap();
        let releases: Vec<&str> = events.lines().filter(|l| l.contains(",release,")).collect();
        assert_eq!(releases.len(), 2, "{events}");
        assert!(
            releases.iter().all(|l| l.starts_with("movie,8,")),
            "{events}"
        );
    }

    /// A formation is judged on the track's state in its first frame (seen
    /// `released_lookahead` frames on), not on that frame's own call: a new migrasome on a
    /// faint fiber that its first frame calls released formed there (stop 33); with
    /// `released_lookahead` 0 the state is the frame's own call, and it did not.
    #[test]
    fn a_formation_takes_the_tracks_first_state() {
        use super::{Early, ImageTracking};
        use crate::pipeline::migrasome::config::TrackingParams;
        for (lookahead, formed) in [(8, true), (0, false)] {
            let dir = tempfile::tempdir().unwrap();
            let p = TrackingParams {
                released_lookahead: lookahead,
                ..TrackingParams::default()
            };
            let nt = 12;
            let mut tr = ImageTracking::create(
                dir.path(),
                "movie",
                &p,
                0.5,
                Some(300.0),
                (nt, 1),
                0,
                &[],
                (&[], &[]),
                None,
            )
            .unwrap();
            let mut early = |_: Early| Ok(None);
            for t in 0..nt {
                // none in frames 0-1; from frame 2 on attached (a fiber's contact), but
                // called released in its first frame
                let mut f = frame(t == 2, 2.5);
                if t < 2 {
                    f.migrasomes.clear();
                }
                tr.push(t, 0, f, None, &mut early).unwrap();
            }
            tr.finish_frames(&mut early).unwrap();
            tr.finish().unwrap();
            let events = std::fs::read_to_string(dir.path().join("events.csv")).unwrap();
            let formations: Vec<&str> = events
                .lines()
                .filter(|l| l.contains(",formation,"))
                .collect();
            assert_eq!(
                formations.len(),
                usize::from(formed),
                "lookahead {lookahead}: {events}"
            );
            assert!(
                formations.iter().all(|l| l.starts_with("movie,2,")),
                "{events}"
            );
        }
    }
}
