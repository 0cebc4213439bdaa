//! Parameters of the migrasome analysis, every size in µm (converted to pixels with the
//! file's pixel size), with the documented defaults, the `wga` and `tspan4-gfp` presets, and
//! TOML loading. Flags override the TOML; the TOML overrides the preset.

use serde::{Deserialize, Serialize};

use super::shape::ShapeRules;
use crate::error::{Error, Result};
use crate::ops::threshold::Method;
pub use crate::track::LinkParams;

/// Finding cells: nuclei, cell bodies, territories.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CellParams {
    /// Gaussian sigma before thresholding the nuclei channel.
    pub nucleus_sigma_um: f64,
    /// Threshold method for nuclei (otsu, isodata, li, yen, triangle, mean, or a number),
    /// on the blurred nuclei channel less its own background surface when
    /// `nucleus_flatten` is on (a number is then a height above that background).
    pub nucleus_threshold: Rule,
    /// Fit a background surface under the nuclei (as under the bodies: `background_degree`,
    /// blocks of `body_sigma_um`, see `illumination`) and threshold the channel above it.
    /// Nuclei cover a few per cent of a field, so under uneven illumination a histogram
    /// threshold of the raw channel splits the bright centre of the field from its dim
    /// corners instead of nuclei from background (`synth --realism`, SNR 4, senescent seed
    /// 103: Otsu 158 between a background of 143-168 and nuclei of 183-220, three of six
    /// nuclei lost in one region spanning the centre).
    pub nucleus_flatten: bool,
    /// Smallest nucleus kept.
    pub nucleus_min_area_um2: f64,
    /// Gaussian sigma of the membrane channel before finding cell bodies.
    pub body_sigma_um: f64,
    /// Cell bodies: the blurred membrane, less the background surface fitted under the
    /// cells (see `illumination`), must exceed this floor (`noise:K`: K robust SDs of the
    /// background blocks, or a number)...
    pub body_threshold: Rule,
    /// ...and this fraction of the local body level (the local maximum within
    /// `body_local_radius_um`): a half-maximum edge for bright and dim bodies alike, above
    /// out-of-focus haze. 0 = the floor alone. The radius was 4 µm until stop 20: a dimmer
    /// lobe of a body (below half the brightest part within 4 µm) was left out, and the
    /// puncta in it were counted (independent seeds 11-50: 21 false -> 13 with 3 µm, none
    /// more missed; fresh seeds 51-60: false near bodies 0.026 -> 0 per cell).
    pub body_edge_fraction: f64,
    pub body_local_radius_um: f64,
    /// The outline reported (`<image>_bodies.tif`, body areas, QC): within about
    /// `body_sigma_um` of the mask's edge, a pixel stays in the body only where the membrane
    /// smoothed as for the spots (`migrasomes.smooth_sigma_um`, 0.1 µm; less the same
    /// background surface) is above `body_edge_fraction` of the same local level. The mask
    /// blurred at the cell scale lies up to 1 µm outside the visible edge (a bright rim and
    /// out-of-focus haze spread out with the blur); the detection keeps that mask for its
    /// zones, the spot background, the assignment along the network, the uptake and the
    /// tracker's gap to a body, so a body's blurred skirt is still no migrasome and no count
    /// or event changes. Only takes pixels away. With the spot smoothing adapted to a noisy
    /// frame (`migrasomes.adapt_below`) the outline uses that smoothing too. false = the
    /// mask at the cell scale is the outline.
    pub body_outline: bool,
    /// With a nuclei channel, a region cut by the image border without a nucleus is kept as
    /// a body (of a cell whose nucleus lies outside the field) only when it stands above the
    /// ring around it (`body_local_radius_um` wide, from twice `body_sigma_um` beyond it:
    /// past its own blurred edge) by at least this fraction of its own level: a body has an
    /// edge, a plateau of uneven illumination or haze that reaches the border does not.
    /// 0 = every such region is kept. 0.5 until stop 26: the degree-5 background surface
    /// leaves a rise of the background toward the image border above the floor on our
    /// generator's young seed 201 (all knobs), a region with a contrast between 0.6 and 0.7
    /// (body Dice 0.945 -> 0.961 over seeds 201-203); at 0.7 no other field measured changed
    /// (independent seeds 11-80 and SNR 4 11-40, `validate` seeds 101-105 with all knobs or
    /// the border, illumination and haze knobs, SNR 4-12).
    pub body_min_contrast: f64,
    /// With a nuclei channel, a nucleus that no body region holds (a dim body below the
    /// floor) gets its body from the same rules at this fraction of the floor, within its
    /// share (the pixels nearer it than any region at the floor), kept when it has an edge
    /// (`body_min_contrast`, the ring's mean clipped at ± 2 SD: a bright neighbour's haze
    /// skirt does not count against it). 0 = off.
    pub body_orphan_floor: f64,
    /// With a nuclei channel, a piece of a body region holding a nucleus that a seeded
    /// watershed on the body image's gradient gives to the clear background (below half the
    /// floor) rather than to the nuclei, at least as wide as the body disk, is cut off when
    /// the background's flood enters it below half the nuclei's level: a plateau of haze,
    /// uneven illumination or dense migrasomes joined to a dim body at the floor fades into
    /// the background, a body or a lobe of one has an edge all round (see `plateau`).
    pub body_plateau_cut: bool,
    /// Degree of the polynomial background surface fitted under the cells (1 to 7; 5 = 21
    /// terms). 3 until stop 25: a cubic cannot follow the plane waves of uneven
    /// illumination, and its misfit (block residuals of SD 6 counts on our generator's
    /// all-knobs fields, the same at every SNR) set the floor over dim bodies at SNR 4.
    pub background_degree: u32,
    /// Holes in a body up to this area (dim nucleus region, Golgi halo) are filled.
    pub body_max_hole_um2: f64,
    /// The body mask is opened with a disk of this radius: anything narrower (fibers,
    /// filopodia, migrasomes and clusters of them beside a cell) is cut off. At least the
    /// largest migrasome's radius (with `size_tolerance`).
    pub body_opening_um: f64,
    /// Smallest cell body (much larger than any migrasome).
    pub body_min_area_um2: f64,
    /// Migrasomes closer than this to a cell body are part of the cell, not counted: a spot
    /// component that reaches the zone is dropped whole, and fibers, protrusion pieces and
    /// cargo rings start beyond it. About one pixel: a migrasome's DoG skirt reaches past its
    /// visible edge, so 0.5 um dropped migrasomes sitting beside a body (independent fields
    /// 11-60: 0.5 um missed 73, 0.25 um 64, 0.1 um 55, with 17, 20 and 21 false positives).
    /// A spot zone of 0.1 um with the rest at 0.5 um was worse (11-70: 35 false, not 23: a
    /// candidate beside a body then has no shaft to be judged a protrusion tip by); so was
    /// 0.1 um with protrusion pieces still beyond 0.5 um (28 false, and filopodia young on
    /// seeds 101-102 0.991 -> 0.974), though it kept seeds 201-203 all young at 0.909
    /// (0.888 here, 0.928 at 0.5 um everywhere).
    pub body_margin_um: f64,
    /// Territories: nuclei (or bodies) grown to the nearest-cell partition up to this far.
    pub max_distance_um: f64,
}

/// Finding migrasomes in the membrane channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MigrasomeParams {
    /// Smallest and largest migrasome diameter (the paper: 0.5–3 µm).
    pub diameter_min_um: f64,
    pub diameter_max_um: f64,
    /// Spot enhancement: difference of Gaussians, small sigma (noise) minus large sigma
    /// (background); the large one defaults to the largest diameter.
    pub smooth_sigma_um: f64,
    pub background_sigma_um: Option<f64>,
    /// Threshold on the enhanced image: `noise:K` (mean + K robust SDs of the frame) or a
    /// histogram method.
    pub threshold: Rule,
    /// Split clusters (objects larger than the largest migrasome) at local maxima at least
    /// the smallest diameter apart.
    pub split: bool,
    /// Objects are kept when their equivalent diameter is within
    /// [diameter_min * (1 - tolerance), diameter_max * (1 + tolerance)]: a thresholded
    /// region is smaller or larger than the vesicle depending on its brightness.
    pub size_tolerance: f64,
    /// Candidates longer than this many times their width (major / minor axis of the
    /// ellipse with the same second moments) are fiber segments or filopodia, not vesicles.
    pub max_elongation: f64,
    /// Candidates at the end of a ridge brighter than this fraction of their own peak are
    /// protrusion tips (filopodia), not migrasomes on retraction fibers (see
    /// `shape::Shape::tip_ratio`; both on the membrane smoothed at `smooth_sigma_um`).
    pub max_tip_ratio: f64,
    /// Candidates whose peak above their local background is below this fraction of the
    /// frame's median counted candidate are faint blobs (debris, haze, the top of a dim
    /// smear that just crossed the threshold), not vesicles. 0 = off.
    pub min_relative_peak: f64,
    /// Time-lapse: a candidate rejected as a protrusion's tip, or as too small and by no
    /// other rule, within this distance of a
    /// migrasome counted in the previous frame of the same plane, where no counted candidate
    /// of this frame lies that near, is that migrasome still (a freed one moving along the
    /// rest of its fiber, a small one on a dim fiber whose tip ratio wavers, one whose mask
    /// the noise cuts under the smallest area); it must be at least 0.4 of that migrasome's
    /// size (`frame::spots::PERSIST_MIN_SIZE_RATIO`) and not faint, and at most 12 frames in
    /// a row are counted so (see `frame::spots::persist`). The same runs one frame backward:
    /// a candidate so rejected within this distance of a migrasome counted by the rules in
    /// the next frame, that nothing of its own frame accounts for, is counted too, with the
    /// same size and faint checks (images of one plane; see `frame::back_prevs`). 0 = off.
    pub persist_um: f64,
    /// Noisy frames are analysed again with more spot smoothing. Where the frame's typical
    /// migrasome (`FrameResult::spot_contrast`: the median peak of the counted candidates at
    /// least `diameter_min_um` across, over the spot threshold) stands less than
    /// `adapt_below` thresholds high, the frame is analysed once more with `smooth_sigma_um`
    /// times `(adapt_below / contrast)^ADAPT_POWER` (at most `ADAPT_MAX_FACTOR` times): at
    /// low SNR the noise breaks large migrasomes at the
    /// threshold into fragments too small to keep or taken for protrusion tips, and more
    /// smoothing keeps them whole, while at higher SNR it joins dim debris and filopodium tips
    /// into blobs that pass. The steep ramp leaves frames just under `adapt_below` nearly
    /// as they are (x1.03 at 0.99 of it, x1.5 at 0.87, x2 at 0.79). The smoothing stays
    /// under half the background scale; the uptake channel keeps `smooth_sigma_um`. 0 = off.
    pub adapt_below: f64,
    /// The spot detector's background (the difference of Gaussians' large term) is the
    /// membrane blurred over the pixels outside the cell bodies only (grown by
    /// `SPOT_BACKGROUND_MARGIN_UM`; a normalised convolution), not over every pixel: a bright
    /// body raised the background around it by up to a migrasome's peak and sank the
    /// migrasomes 1-4 um from its edge under the threshold (independent fields 11-80: 42 of
    /// the 89 missed were never candidates, most of them there). Inside the grown bodies the
    /// plain difference stays; the threshold is the plain difference's. false = every pixel.
    pub background_outside_bodies: bool,
    /// A candidate whose local background (the membrane's clipped mean on its annulus) stands
    /// higher above the frame's background surface (the degree-`cells.background_degree`
    /// fit under the cells) than this many times its own peak above that local background
    /// lies on a plateau: inside a dim part of a body that the body mask missed (a punctum
    /// there) or a bump on a piece of debris, not on the glass, where a migrasome's
    /// surroundings are the background. Independent fields 11-80 (SNR 8): counted migrasomes
    /// reach 0.37 (0.34 at SNR 4), the two false positives it removes 1.4. 0 = off.
    pub max_plateau_ratio: f64,
}

/// How far beyond the body masks the spot background leaves pixels out (µm; see
/// `MigrasomeParams::background_outside_bodies`): the membrane's own edge beyond the
/// half-maximum mask.
pub const SPOT_BACKGROUND_MARGIN_UM: f64 = 0.5;

/// The largest factor by which `MigrasomeParams::adapt_below` scales the spot smoothing,
/// and the power of the contrast's shortfall that gives it.
pub const ADAPT_MAX_FACTOR: f64 = 2.0;
pub const ADAPT_POWER: i32 = 3;

/// Scoring cargo: mean inside versus a robust local background.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CargoParams {
    /// Positive when mean inside > background mean + k * background SD (the SD of single
    /// background pixels; the mean of a migrasome's 16 or more pixels varies about a quarter
    /// as much, so k = 1 is 4 standard errors above a negative's mean at the smallest size).
    /// Measured (stop 22): the mean of Tom20-negative migrasomes lies at most 0.57 SD above
    /// the background on independent fields 11-70 (2717 matched), positives at 1.55 SD and
    /// up (1880); on `synth --realism` at SNR 4, positives 1.72 and up, negatives 0.55 at
    /// most. k = 3 (the default until stop 22) missed 160 of those 1880 (cargo accuracy
    /// 0.957-0.979 per set) and 49 of 82 at SNR 4 (0.65-0.70); k = 1 misses none.
    pub k: f64,
    /// The background annulus starts this far from the migrasome...
    pub annulus_gap_um: f64,
    /// ...and is this wide (outside other migrasomes and cell bodies).
    pub annulus_width_um: f64,
    /// Background SD is the SD after one clipping at mean ± clip * SD (robust to specks).
    pub clip: f64,
}

/// The ridge filter's smallest scale in pixels: at 1 px and below a Hessian sees mostly
/// pixel noise, and fibers one pixel wide (coarse pixels, 0.15 µm and up) go undetected.
/// Measured with `validate --pixel-size 0.1,0.15,0.2`: 2 px is best at every pixel size.
pub const RIDGE_MIN_SIGMA_PX: f64 = 2.0;
/// How far beyond a blob's edge (in ridge scales) the ridge filter still answers its rim as
/// strongly as a fiber (measured on `synth --dynamics` movies: 3-4 px at a 2 px scale).
pub const RIDGE_HALO_SIGMAS: f64 = 2.0;

/// The attachment distance's floor in pixels: fiber and spot masks are quantised to whole
/// pixels, so a link shorter than this cannot be told from a gap. Binds above 0.25 µm pixels
/// with the default 0.5 µm (above 0.15 µm with the 0.3 µm default until stop 22). At 2.5 px
/// it joined freed migrasomes to the ends of their broken fibers (1.5 µm away as drawn) on
/// `synth --dynamics` movies at 0.15 µm: released accuracy 0.857 -> 0.866 and release F1
/// 0.368 -> 0.462 on movies 33-36 with 2 px; the 0.5 µm default (3.3 px there) does so again
/// (frame-by-frame released 0.864 -> 0.828, the track's release unchanged), for more
/// attached migrasomes found on independent fields (see `FiberParams::distance_um`).
pub const FIBER_MIN_DISTANCE_PX: f64 = 2.0;

/// A candidate's shaft (for the protrusion-tip rule) is looked for this far (µm) beyond its
/// halo.
pub const SHAFT_WIDTH_UM: f64 = 0.15;

/// Retraction fibers, for released versus attached migrasomes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FiberParams {
    /// Scale of the ridge (Hessian) filter, about the fiber's half width.
    pub sigma_um: f64,
    /// Threshold on the ridge strength (`noise:K` or a histogram method): seeds of the fibers
    /// beside a candidate (shaft, protrusions), and, with `line_um` > 0, the ridge strength
    /// that counts as fully on a fiber in the line support (its cap).
    pub threshold: Rule,
    /// Lower threshold: ridge pixels above it join the shaft fibers when connected to a seed
    /// (hysteresis, so faint stretches do not break a fiber); the attachment fibers use it
    /// too when `line_um` is 0.
    pub threshold_low: Rule,
    /// Length (µm) of the straight segments along which the ridge strength is averaged (line
    /// support): a fiber pixel is one through which some segment lies mostly on a ridge, so
    /// short noise streaks and the rims of round blobs are no fiber while faint, long fibers
    /// hold together. The segments leave out the candidates (grown by the ridge filter's halo,
    /// `RIDGE_HALO_SIGMAS` ridge scales) and the bodies. 0: off (fibers straight from the
    /// ridge thresholds, halo not left out).
    pub line_um: f64,
    /// Line support (0-1: the mean over a segment of the ridge strength capped at
    /// `threshold`, over `threshold`) of fiber seeds, and of the pixels that join them.
    pub line_threshold: f64,
    pub line_threshold_low: f64,
    /// A migrasome within this distance of a fiber connected to its cell is attached (the
    /// network of fibers, bodies and candidates is grown by it). Measured on independent
    /// fields 11-30 (stop 22; attached called released + released called attached): 0.3 µm
    /// 73 + 13, 0.4 µm 57 + 15, 0.5 µm 45 + 20, 0.6 µm 36 + 32, 0.7 µm 23 + 71. Faint fibers
    /// stop short of the candidate's halo, and chains of migrasomes along a fiber leave
    /// only short stretches of it between the halos.
    pub distance_um: f64,
    /// A migrasome with a fiber piece at least this large (µm²) just beside it is attached
    /// even when the piece's link to a cell is not seen (faint fibers break up); 0: off.
    pub min_piece_um2: f64,
    /// A fiber piece that starts at a cell body and ends within this distance of it is a
    /// protrusion (filopodium, microspike: 1-10 µm), not a retraction fiber (10-50 µm): a
    /// candidate on it (the spots are part of the pieces) no larger than
    /// `protrusion_tip_max_um` (equivalent diameter) is its tip, not a migrasome (a larger
    /// one is a migrasome on a short fiber). 0: off.
    pub protrusion_max_um: f64,
    /// 0.9 µm since stop 24 (0.75 before): with the spot background taken outside the
    /// bodies (`MigrasomeParams::background_outside_bodies`) a filopodium's tip beside a
    /// bright body stands whole above the threshold and measures larger (0.67-0.88 µm on
    /// `synth --realism` seeds 101-102). Independent fields 11-80: 10 fewer false and 15
    /// more missed than at 0.75 (5434/50/30 -> 5419/40/45); `validate --knobs all`: young F1
    /// 0.904 / 0.919 / 0.884 -> 0.939 / 0.972 / 0.953 at SNR 4 / 8 / 12; 1.2 lost 43
    /// migrasomes of independent fields 11-80.
    pub protrusion_tip_max_um: f64,
    /// A protrusion has one tip: two round candidates (passing the shape rules) on faint
    /// shafts (tip ratio at most 0.3, `frame::spots::FIBER_SITE_MAX_TIP_RATIO`) at least
    /// this far apart (µm, centroids) on one such short piece make it a retraction fiber
    /// with migrasomes on it (a faint fiber breaks up within the protrusion length), not a
    /// protrusion, unless the piece also holds an elongated candidate (a bright shaft broken
    /// up at the spot threshold). 0: off.
    pub protrusion_sites_um: f64,
    /// Width (µm) of the ring beyond a candidate's halo (outside the body zone) whose
    /// brightest ridge pixel, over the frame's fiber threshold, is the candidate's fiber
    /// contact: a fiber running into the migrasome there, or none. Along a track, a release
    /// is where the contact drops (`tracking.release_drop`).
    pub contact_um: f64,
    /// Movies: the fiber contact measured a second time on the ridge image of the mean of
    /// this many membrane frames of the plane, this one and those before it
    /// (`Migrasome::fiber_contact_window`): retraction fibers stay where they are, so their
    /// pixels add up over the frames while the noise averages out (stop 31, offline on six
    /// SNR 4 movies: attached against released detections of a track 2.4 pooled SDs apart
    /// with 4 frames, 0.7 with one; in the pipeline, still migrasomes of 14 SNR 4-5 movies:
    /// AUC 0.984 against 0.887). The tracks' release fit reads it (stop 32: where the
    /// single frames' step found the release, the windowed contact's ramp places its frame;
    /// where neither that step nor the motion finds one, a deep ramp alone is a release; where
    /// it keeps 0.7 of its level after a release, the fiber is still there and there is none;
    /// see `report::tracking::ReleaseFit::release`). It costs 2-5 % of a movie's analysis time
    /// and `contact_frames` − 1 frames of GPU memory per z plane. 0 or 1: off (the releases
    /// of the single frames alone, as before stop 32).
    pub contact_frames: u32,
    /// A migrasome whose fiber contact is at least this is attached even when its network
    /// reaches no body: a fiber runs into it, too faint further on to be followed (most
    /// attached migrasomes called released sit at the tip of such a fiber). 0: off.
    pub contact_attached: f64,
    /// A candidate that a bright ridge runs into is a protrusion's tip: a fiber contact of at
    /// least `tip_contact` (over the frame's fiber threshold: surely a ridge, not noise) that
    /// is also at least `tip_contact_ratio` of the candidate's own peak above its local
    /// background (ridge strength over membrane units). A retraction fiber is 0.1-0.3 of a
    /// migrasome's brightness; a filopodium is as bright as the body and its tip no brighter
    /// than twice that. Independent fields 11-80 (SNR 8): the migrasomes' ratio is at most
    /// 0.25, 6 false positives are at 0.3-0.9 (5 of them within 2 µm of a body). 0: off.
    pub tip_contact: f64,
    /// See `tip_contact`: the fiber contact over the candidate's peak above its local
    /// background (ridge strength over membrane units) from which the ridge is bright.
    pub tip_contact_ratio: f64,
}

/// Uptake (`analyze --uptake CH`): labelled puncta inside the cell bodies in channel CH.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UptakeParams {
    /// Threshold on channel CH's difference of Gaussians (the spot detector's sigmas):
    /// `noise:K` (mean + K robust SDs of the frame, clipped as the spot threshold) or a
    /// histogram method.
    pub threshold: Rule,
    /// Smallest punctum kept (µm²); smaller components are noise.
    pub min_area_um2: f64,
    /// A punctum is inside a cell when its centroid is at least this far (µm) inside the
    /// body mask: a vesicle pressed against the outline, whose membrane signal the body mask
    /// takes in, stays outside.
    pub edge_margin_um: f64,
}

impl Default for UptakeParams {
    fn default() -> Self {
        UptakeParams {
            threshold: rule("noise:6"),
            min_area_um2: 0.1,
            edge_margin_um: 0.5,
        }
    }
}

/// Most frames a detection's `released` state may wait for (`tracking.released_lookahead`):
/// the frames held in memory grow with it.
pub const MAX_RELEASED_LOOKAHEAD: u32 = 100;

/// The most membrane frames `fibers.contact_frames` may average: each plane keeps this many
/// less one on the GPU.
pub const MAX_CONTACT_FRAMES: u32 = 16;

/// Tracking migrasomes and cells over the frames of a movie (see [`crate::track`]) and the
/// events on the tracks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackingParams {
    /// Off: every frame keeps its own cell ids, no tracks, events or TrackMate file.
    pub enabled: bool,
    /// Formations and disappearances are not called within this distance of the field's
    /// border (a migrasome drifting in or out of view).
    pub border_margin_um: f64,
    /// A release (the step down in a track's fiber contact that fits it best, see
    /// `fibers.contact_um`) needs at least this many detections from the step on.
    pub release_persistence: u32,
    /// ... and the contact before the step this many times the contact from it on
    /// (geometric means; > 1),
    pub release_drop: f64,
    /// ... or, a faint fiber's, this many times (at SNR 4 a fiber's contact is 1.2-1.4
    /// against 0.8-1 with none; at least `release_drop`: no faint path) when the contact
    /// from the step on is no fiber's (geometric mean at most `release_faint_after_max`: an
    /// attached migrasome whose fiber dims from 2.6 to 2 is not released) and the step is
    /// at least `release_faint_min_t` standard errors deep (the SD of ln(contact) about the
    /// two levels, pooled), so that a noisy track's wander is none.
    pub release_faint_drop: f64,
    pub release_faint_after_max: f64,
    pub release_faint_min_t: f64,
    /// A release in the movie's last frame (one detection after it, against
    /// `release_persistence`): a drop of at least this many times from a fiber's contact
    /// (> 1; `inf`: none). Stop 29: 2.0 found 5 of the 17 releases in the last two frames
    /// of 22 movies, none false; 1.5 called 3 false.
    pub release_end_drop: f64,
    /// A migrasome that sat still and then moves more than this (µm, from where it sat, in
    /// two detections, each farther) was released, in the frame its contact dropped up to
    /// 4 frames before, else its last still one; the earlier of this and the contact's step
    /// is the release (its fiber holds an attached one; a freed one travelling over fibers
    /// on its way into a cell shows no lasting step). 0: off. Stop 30: 9 more releases
    /// found on 22 movies, none false.
    pub release_motion_um: f64,
    /// Each detection's `released` is its track's state, judged on the track up to this
    /// many frames after the detection: released for good when the release fit finds a
    /// step at or before the frame, attached when it finds a later one; with none, the
    /// majority of the frame calls up to this many frames on (judged again each frame). A
    /// frame's results wait this many frames more (with its QC overlay, not its planes).
    /// 0: each frame's own call (the fiber network
    /// reaching a body), which noise ridges across a broken fiber's gap often still call
    /// attached. At most `MAX_RELEASED_LOOKAHEAD`.
    pub released_lookahead: u32,
    /// A track that ends with its edge this close to a cell body (µm) was taken up by that
    /// cell (`uptake`), not lost (`disappearance`).
    pub uptake_max_gap_um: f64,
    pub migrasomes: LinkParams,
    pub cells: LinkParams,
}

impl TrackingParams {
    /// What a release must show along a track.
    pub fn release_rule(&self) -> crate::report::tracking::ReleaseRule {
        crate::report::tracking::ReleaseRule {
            min_after: self.release_persistence,
            drop: self.release_drop,
            faint_drop: self.release_faint_drop,
            faint_after_max: self.release_faint_after_max,
            faint_min_t: self.release_faint_min_t,
            end_drop: self.release_end_drop,
            motion_um: self.release_motion_um,
            // the windowed contact is the engine's (`fibers.contact_frames`): set where the
            // tracking knows it (`ImageTracking::with_contact_frames`)
            window_frames: 0,
        }
    }
}

impl Default for TrackingParams {
    fn default() -> Self {
        TrackingParams {
            enabled: true,
            border_margin_um: 2.0,
            release_persistence: 2,
            release_drop: 1.5,
            release_faint_drop: 1.2,
            release_faint_after_max: 1.15,
            release_faint_min_t: 2.5,
            release_end_drop: 2.0,
            release_motion_um: 0.5,
            released_lookahead: 8,
            uptake_max_gap_um: 1.5,
            migrasomes: LinkParams::migrasomes(),
            cells: LinkParams::cells(),
        }
    }
}

/// Every parameter of the analysis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyzeParams {
    pub cells: CellParams,
    pub migrasomes: MigrasomeParams,
    pub cargo: CargoParams,
    pub fibers: FiberParams,
    pub tracking: TrackingParams,
    pub uptake: UptakeParams,
}

impl Default for CellParams {
    fn default() -> Self {
        CellParams {
            nucleus_sigma_um: 0.5,
            nucleus_threshold: rule("otsu"),
            nucleus_flatten: true,
            nucleus_min_area_um2: 15.0,
            body_sigma_um: 1.0,
            body_threshold: rule("noise:5"),
            body_edge_fraction: 0.5,
            body_local_radius_um: 3.0,
            body_outline: true,
            body_min_contrast: 0.7,
            body_orphan_floor: 0.5,
            body_plateau_cut: true,
            background_degree: 5,
            body_max_hole_um2: 1000.0,
            body_opening_um: 5.0,
            body_min_area_um2: 50.0,
            body_margin_um: 0.1,
            max_distance_um: 50.0,
        }
    }
}

impl Default for MigrasomeParams {
    fn default() -> Self {
        MigrasomeParams {
            diameter_min_um: 0.5,
            diameter_max_um: 3.0,
            smooth_sigma_um: 0.1,
            background_sigma_um: None,
            threshold: rule("noise:6.8"),
            split: true,
            size_tolerance: 0.5,
            max_elongation: 3.0,
            max_tip_ratio: 0.5,
            min_relative_peak: 0.45,
            persist_um: 1.5,
            adapt_below: 2.4,
            background_outside_bodies: true,
            max_plateau_ratio: 1.0,
        }
    }
}

impl Default for CargoParams {
    fn default() -> Self {
        CargoParams {
            k: 1.0,
            annulus_gap_um: 0.3,
            annulus_width_um: 1.0,
            clip: 3.0,
        }
    }
}

impl Default for FiberParams {
    fn default() -> Self {
        FiberParams {
            sigma_um: 0.15,
            threshold: rule("noise:3"),
            threshold_low: rule("noise:1.5"),
            line_um: 1.5,
            line_threshold: 0.8,
            line_threshold_low: 0.7,
            distance_um: 0.5,
            min_piece_um2: 0.5,
            protrusion_max_um: 11.0,
            protrusion_tip_max_um: 0.9,
            protrusion_sites_um: 2.0,
            contact_um: 0.5,
            contact_frames: 4,
            contact_attached: 1.5,
            tip_contact: 3.0,
            tip_contact_ratio: 0.3,
        }
    }
}

impl Default for AnalyzeParams {
    fn default() -> Self {
        AnalyzeParams::preset(Preset::Wga)
    }
}

/// Starting points for the two stainings the paper uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Fixed cells stained with WGA: crisp membranes, fibers visible, high SNR.
    Wga,
    /// Live cells expressing TSPAN4-GFP: dimmer, noisier; more smoothing, lower spot threshold.
    #[value(name = "tspan4-gfp")]
    Tspan4Gfp,
}

impl AnalyzeParams {
    pub fn preset(p: Preset) -> Self {
        let base = AnalyzeParams {
            cells: CellParams::default(),
            migrasomes: MigrasomeParams::default(),
            cargo: CargoParams::default(),
            fibers: FiberParams::default(),
            tracking: TrackingParams::default(),
            uptake: UptakeParams::default(),
        };
        match p {
            Preset::Wga => base,
            Preset::Tspan4Gfp => AnalyzeParams {
                migrasomes: MigrasomeParams {
                    smooth_sigma_um: 0.15,
                    threshold: rule("noise:5.7"),
                    ..base.migrasomes
                },
                // (noisy fibers break up: this preset bridged 0.5 µm before the default did;
                // validate --snr 4,6: released accuracy 0.45-0.88 at 0.3 µm, 0.68-0.98 at 0.5)
                fibers: FiberParams {
                    sigma_um: 0.2,
                    ..base.fibers
                },
                cells: CellParams {
                    body_sigma_um: 1.5,
                    ..base.cells
                },
                ..base
            },
        }
    }

    /// Parameters from a TOML file laid over `base` (keys absent from the file keep their
    /// value from `base`).
    pub fn from_toml(text: &str, base: &AnalyzeParams, path: &std::path::Path) -> Result<Self> {
        let over: toml::Table = toml::from_str(text)
            .map_err(|e| Error::format(path, "TOML", e.to_string().replace('\n', " ")))?;
        Self::merge(base, over, path)
    }

    /// `base` with the sections of `over` laid on top (a `channels` section is skipped).
    pub fn merge(base: &AnalyzeParams, over: toml::Table, path: &std::path::Path) -> Result<Self> {
        let mut merged =
            toml::Table::try_from(base).map_err(|e| Error::format(path, "parameters", e))?;
        for (section, v) in over {
            if section == "channels" {
                continue;
            }
            match (merged.get_mut(&section), v) {
                (Some(toml::Value::Table(dst)), toml::Value::Table(src)) => deep_merge(dst, src),
                (_, _) => {
                    return Err(Error::format(
                        path,
                        format!("[{section}]"),
                        "unknown section (expected channels, cells, migrasomes, cargo, fibers, \
                         tracking, uptake)",
                    ));
                }
            }
        }
        merged.try_into().map_err(|e: toml::de::Error| {
            Error::format(path, "parameters", e.to_string().replace('\n', " "))
        })
    }

    /// Checks every value; the error names the parameter.
    pub fn validate(&self) -> Result<()> {
        let c = &self.cells;
        let m = &self.migrasomes;
        let pos = [
            ("cells.nucleus_sigma_um", c.nucleus_sigma_um, true),
            ("cells.nucleus_min_area_um2", c.nucleus_min_area_um2, true),
            ("cells.body_sigma_um", c.body_sigma_um, false),
            ("cells.body_edge_fraction", c.body_edge_fraction, true),
            ("cells.body_local_radius_um", c.body_local_radius_um, false),
            ("cells.body_min_contrast", c.body_min_contrast, true),
            ("cells.body_orphan_floor", c.body_orphan_floor, true),
            ("cells.body_max_hole_um2", c.body_max_hole_um2, true),
            ("cells.body_opening_um", c.body_opening_um, true),
            ("cells.body_min_area_um2", c.body_min_area_um2, true),
            ("cells.body_margin_um", c.body_margin_um, true),
            ("cells.max_distance_um", c.max_distance_um, true),
            ("migrasomes.diameter_min_um", m.diameter_min_um, false),
            ("migrasomes.diameter_max_um", m.diameter_max_um, false),
            ("migrasomes.smooth_sigma_um", m.smooth_sigma_um, true),
            ("migrasomes.size_tolerance", m.size_tolerance, true),
            ("migrasomes.max_elongation", m.max_elongation, false),
            ("migrasomes.max_tip_ratio", m.max_tip_ratio, false),
            ("migrasomes.min_relative_peak", m.min_relative_peak, true),
            ("migrasomes.max_plateau_ratio", m.max_plateau_ratio, true),
            ("migrasomes.persist_um", m.persist_um, true),
            ("migrasomes.adapt_below", m.adapt_below, true),
            ("cargo.k", self.cargo.k, true),
            ("cargo.annulus_gap_um", self.cargo.annulus_gap_um, true),
            ("cargo.annulus_width_um", self.cargo.annulus_width_um, false),
            ("cargo.clip", self.cargo.clip, false),
            ("fibers.sigma_um", self.fibers.sigma_um, false),
            ("fibers.distance_um", self.fibers.distance_um, true),
            ("fibers.min_piece_um2", self.fibers.min_piece_um2, true),
            ("fibers.line_um", self.fibers.line_um, true),
            ("fibers.line_threshold", self.fibers.line_threshold, false),
            (
                "fibers.line_threshold_low",
                self.fibers.line_threshold_low,
                false,
            ),
            (
                "fibers.protrusion_max_um",
                self.fibers.protrusion_max_um,
                true,
            ),
            (
                "fibers.protrusion_tip_max_um",
                self.fibers.protrusion_tip_max_um,
                true,
            ),
            (
                "fibers.protrusion_sites_um",
                self.fibers.protrusion_sites_um,
                true,
            ),
            ("fibers.contact_um", self.fibers.contact_um, false),
            (
                "fibers.contact_attached",
                self.fibers.contact_attached,
                true,
            ),
            ("fibers.tip_contact", self.fibers.tip_contact, true),
            (
                "fibers.tip_contact_ratio",
                self.fibers.tip_contact_ratio,
                true,
            ),
            ("uptake.min_area_um2", self.uptake.min_area_um2, true),
            ("uptake.edge_margin_um", self.uptake.edge_margin_um, true),
            (
                "tracking.border_margin_um",
                self.tracking.border_margin_um,
                true,
            ),
            (
                "tracking.uptake_max_gap_um",
                self.tracking.uptake_max_gap_um,
                true,
            ),
            (
                "tracking.release_faint_min_t",
                self.tracking.release_faint_min_t,
                true,
            ),
            (
                "tracking.release_motion_um",
                self.tracking.release_motion_um,
                true,
            ),
        ];
        for (name, v, zero_ok) in pos {
            if !v.is_finite() || v < 0.0 || (!zero_ok && v == 0.0) {
                return Err(Error::invalid(format!(
                    "{name} must be {} (got {v})",
                    if zero_ok { ">= 0" } else { "> 0" }
                )));
            }
        }
        for (name, v) in [
            ("fibers.line_threshold", self.fibers.line_threshold),
            ("fibers.line_threshold_low", self.fibers.line_threshold_low),
        ] {
            if v > 1.0 {
                return Err(Error::invalid(format!(
                    "{name} must be at most 1 (line support lies in 0-1; got {v})"
                )));
            }
        }
        if c.body_min_contrast > 1.0 {
            return Err(Error::invalid(format!(
                "cells.body_min_contrast must be at most 1 (got {})",
                c.body_min_contrast
            )));
        }
        if !(1..=super::illumination::MAX_DEGREE).contains(&c.background_degree) {
            return Err(Error::invalid(format!(
                "cells.background_degree must be 1 to {} (got {})",
                super::illumination::MAX_DEGREE,
                c.background_degree
            )));
        }
        if c.body_edge_fraction >= 1.0 {
            return Err(Error::invalid(format!(
                "cells.body_edge_fraction must be below 1 (got {})",
                c.body_edge_fraction
            )));
        }
        if m.min_relative_peak > 1.0 {
            return Err(Error::invalid(format!(
                "migrasomes.min_relative_peak must be at most 1 (got {})",
                m.min_relative_peak
            )));
        }
        let tr = &self.tracking;
        if !(tr.release_drop.is_finite() && tr.release_drop > 1.0) {
            return Err(Error::invalid(format!(
                "tracking.release_drop must be > 1 (got {})",
                tr.release_drop
            )));
        }
        if !(tr.release_faint_drop.is_finite() && tr.release_faint_drop > 1.0) {
            return Err(Error::invalid(format!(
                "tracking.release_faint_drop must be > 1 (got {})",
                tr.release_faint_drop
            )));
        }
        if tr.release_faint_after_max.is_nan() || tr.release_faint_after_max < 0.0 {
            return Err(Error::invalid(format!(
                "tracking.release_faint_after_max must be >= 0 (got {})",
                tr.release_faint_after_max
            )));
        }
        if tr.release_end_drop.is_nan() || tr.release_end_drop <= 1.0 {
            return Err(Error::invalid(format!(
                "tracking.release_end_drop must be > 1 (got {})",
                tr.release_end_drop
            )));
        }
        if self.fibers.contact_frames > MAX_CONTACT_FRAMES {
            return Err(Error::invalid(format!(
                "fibers.contact_frames must be at most {MAX_CONTACT_FRAMES} (got {})",
                self.fibers.contact_frames
            )));
        }
        if tr.released_lookahead > MAX_RELEASED_LOOKAHEAD {
            return Err(Error::invalid(format!(
                "tracking.released_lookahead must be at most {MAX_RELEASED_LOOKAHEAD} frames (got {})",
                tr.released_lookahead
            )));
        }
        if tr.release_persistence < 1 {
            return Err(Error::invalid(
                "tracking.release_persistence must be >= 1 (got 0)",
            ));
        }
        tr.migrasomes.validate("tracking.migrasomes")?;
        tr.cells.validate("tracking.cells")?;
        if m.diameter_min_um > m.diameter_max_um {
            return Err(Error::invalid(format!(
                "migrasomes.diameter_min_um {} is above diameter_max_um {}",
                m.diameter_min_um, m.diameter_max_um
            )));
        }
        if let Some(b) = m.background_sigma_um
            && !(b.is_finite() && b > m.smooth_sigma_um)
        {
            return Err(Error::invalid(format!(
                "migrasomes.background_sigma_um {b} must be above smooth_sigma_um {}",
                m.smooth_sigma_um
            )));
        }
        Ok(())
    }
}

/// `src` laid over `dst`, key by key, nested tables merged the same way.
fn deep_merge(dst: &mut toml::Table, src: toml::Table) {
    for (k, x) in src {
        match (dst.get_mut(&k), x) {
            (Some(toml::Value::Table(d)), toml::Value::Table(s)) => deep_merge(d, s),
            (_, x) => {
                dst.insert(k, x);
            }
        }
    }
}

/// How a threshold is chosen: from the histogram (`otsu`, `li`, ..., or a number), or
/// `noise:K` = background mean + K background SDs, both sigma-clipped (one round at 1 SD, three at 3 SD) over
/// the whole image: robust when the objects cover a tiny fraction of the frame.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Rule {
    Hist(Method),
    Noise(f64),
}

/// A rule written in the code (the defaults and presets), known to be valid.
fn rule(s: &str) -> Rule {
    Rule::parse(s).expect("valid built-in threshold rule")
}

impl TryFrom<String> for Rule {
    type Error = Error;
    fn try_from(s: String) -> Result<Rule> {
        Rule::parse(&s)
    }
}

impl From<Rule> for String {
    fn from(r: Rule) -> String {
        match r {
            Rule::Hist(m) => m.name(),
            Rule::Noise(k) => format!("noise:{k}"),
        }
    }
}

impl Rule {
    pub fn parse(s: &str) -> Result<Rule> {
        if let Some(k) = s.strip_prefix("noise:") {
            return match k.trim().parse::<f64>() {
                Ok(k) if k.is_finite() => Ok(Rule::Noise(k)),
                _ => Err(Error::invalid(format!(
                    "threshold '{s}': noise:K needs a number K"
                ))),
            };
        }
        if s.trim() == "noise" {
            return Err(Error::invalid(format!(
                "threshold '{s}': noise needs its K, e.g. noise:6"
            )));
        }
        Ok(Rule::Hist(Method::parse(s)?))
    }
}

/// The parameters in pixels for one pixel size (µm per px).
#[derive(Clone, Debug, Serialize)]
pub struct PxParams {
    pub pixel_size_um: f64,
    pub nucleus_sigma: f64,
    pub nucleus_threshold: Rule,
    pub nucleus_flatten: bool,
    pub nucleus_min_area: u32,
    pub body_sigma: f64,
    pub body_threshold: Rule,
    pub body_opening: f64,
    pub body_edge_fraction: f64,
    pub body_local_radius: f64,
    /// The reported outline from the spot detector's smoothed membrane (else the mask).
    pub body_outline: bool,
    pub body_min_contrast: f64,
    pub body_orphan_floor: f64,
    pub body_plateau_cut: bool,
    pub background_degree: u32,
    pub body_max_hole: u32,
    pub body_min_area: u32,
    pub body_margin: f64,
    pub max_distance: f64,
    pub smooth_sigma: f64,
    /// The uptake channel's spot smoothing (px): `smooth_sigma_um` always, also where a noisy
    /// membrane frame is analysed again with more (see `adapted`).
    pub uptake_smooth_sigma: f64,
    /// The smallest migrasome diameter (px).
    pub diameter_min: f64,
    pub background_sigma: f64,
    pub spot_threshold: Rule,
    pub split_distance: u32,
    pub split: bool,
    pub shape_rules: ShapeRules,
    /// A candidate's own blurred edge (px): the smallest halo (see `candidate_halo`).
    pub shaft_gap: f64,
    /// A fragment (too small, elongated) this close to a round candidate (box gap, px)
    /// makes it a protrusion's tip when nearly as bright.
    pub fragment_reach: u32,
    /// See `MigrasomeParams::min_relative_peak`.
    pub min_relative_peak: f64,
    /// See `MigrasomeParams::max_plateau_ratio`.
    pub max_plateau_ratio: f64,
    /// See `MigrasomeParams::persist_um` (px).
    pub persist: f64,
    /// See `MigrasomeParams::adapt_below`.
    pub adapt_below: f64,
    /// The bodies grown by this much (px) are left out of the spot background; `None`:
    /// the background is the plain blur (see `MigrasomeParams::background_outside_bodies`).
    pub spot_background_margin: Option<f64>,
    pub annulus_gap: f64,
    pub annulus_outer: f64,
    pub cargo_k: f64,
    pub cargo_clip: f64,
    pub fiber_sigma: f64,
    pub fiber_threshold: Rule,
    pub fiber_threshold_low: Rule,
    pub fiber_distance: f64,
    /// Line support's half length (px; 0: off) and thresholds.
    pub fiber_line_half: u32,
    pub fiber_line_threshold: f64,
    pub fiber_line_threshold_low: f64,
    /// Smallest fiber piece (px) that attaches a migrasome beside it; 0: off.
    pub fiber_min_piece: u32,
    /// Width of the fiber-contact ring beyond the candidate halo (px).
    pub contact_width: f64,
    /// Fiber contact (over the fiber threshold) that attaches a migrasome by itself; 0: off.
    pub contact_attached: f64,
    /// `fibers.contact_frames`.
    pub contact_frames: u32,
    /// A fiber contact at least `tip_contact` (over the fiber threshold) and at least
    /// `tip_contact_ratio` of the candidate's peak (ridge over membrane units) makes it a
    /// protrusion's tip; either 0: off.
    pub tip_contact: f64,
    /// See `tip_contact`.
    pub tip_contact_ratio: f64,
    /// Protrusions: fiber pieces that start within `protrusion_root` px of a body and end
    /// within `protrusion_max` px of it; `protrusion_max` 0: off.
    pub protrusion_root: f64,
    pub protrusion_max: f64,
    /// Largest protrusion tip (equivalent diameter, px).
    pub protrusion_tip_max: f64,
    /// Two round candidates this far apart (px) on a protrusion make it a fiber; 0: off.
    pub protrusion_sites: f64,
    /// Uptake puncta (`--uptake`): threshold on the channel's difference of Gaussians, and
    /// the smallest punctum (px, at least 1).
    pub uptake_threshold: Rule,
    pub uptake_min_area: u32,
    /// Puncta count inside a body when their centroid is this far (px) inside its mask.
    pub uptake_edge_margin: f64,
}

/// A protrusion's piece of ridge starts within this distance (µm) of the body zone (the
/// body's edge and its blurred rim break the ridge there).
pub const PROTRUSION_ROOT_UM: f64 = 0.7;

impl PxParams {
    /// The parameters to analyse a frame again with, when its `spot_contrast` is under
    /// `adapt_below` (see `MigrasomeParams::adapt_below`): the spot smoothing scaled by
    /// `(adapt_below / contrast)^ADAPT_POWER`, at most [`ADAPT_MAX_FACTOR`] times and at most
    /// half the background scale. `None`: the frame stands as it is (off, no candidate
    /// counted, contrast enough).
    pub fn adapted(&self, spot_contrast: Option<f64>) -> Option<PxParams> {
        let c = spot_contrast?;
        if !(self.adapt_below > 0.0 && c.is_finite() && c < self.adapt_below) {
            return None;
        }
        let factor = if c > 0.0 {
            (self.adapt_below / c)
                .powi(ADAPT_POWER)
                .min(ADAPT_MAX_FACTOR)
        } else {
            ADAPT_MAX_FACTOR
        };
        let sigma = (self.smooth_sigma * factor).min(0.5 * self.background_sigma);
        (sigma > self.smooth_sigma).then(|| PxParams {
            smooth_sigma: sigma,
            ..self.clone()
        })
    }

    /// The ridge filter answers a bright blob's rim out to about two of its scales beyond
    /// the blob's edge: the attachment fibers' line support leaves the candidates out this
    /// far (px), so that a rim does not reach a fiber that ends before the candidate.
    pub fn fiber_halo(&self) -> f64 {
        RIDGE_HALO_SIGMAS * self.fiber_sigma
    }

    /// Width (px) of the block means the spot detector's background blurs run on: a sixth of
    /// the background scale (the blur is smooth at that scale), at least 1.
    pub fn background_block(&self) -> u32 {
        (self.background_sigma / 6.0).floor().max(1.0) as u32
    }

    /// The candidates are grown by this much (px) before fibers are looked for beside them:
    /// the ridge filter's halo, at least their own blurred edge. Inside it the ridge image is
    /// the candidate's own rim and the membrane its own skirt, neither a fiber nor a shaft.
    pub fn candidate_halo(&self) -> f64 {
        self.shaft_gap.max(self.fiber_halo())
    }

    /// A candidate's shaft is looked for beyond its halo and up to this far from its edge
    /// (px): `SHAFT_WIDTH_UM` beyond the halo, and at least one whole pixel, or no shaft
    /// would ever be in reach.
    pub fn shaft_reach(&self) -> u32 {
        let halo = self.candidate_halo();
        (halo + SHAFT_WIDTH_UM / self.pixel_size_um)
            .round()
            .max(halo.floor() + 1.0) as u32
    }

    /// The fiber-contact ring: from the candidate halo out to this far from a candidate's
    /// edge (px).
    pub fn contact_outer(&self) -> f64 {
        // at least one whole pixel beyond the halo, or the ring could hold none
        let halo = self.candidate_halo();
        (halo + self.contact_width).max(halo.floor() + 1.0)
    }

    pub fn new(p: &AnalyzeParams, pixel_size_um: f64) -> Result<PxParams> {
        if !(pixel_size_um.is_finite() && pixel_size_um > 0.0) {
            return Err(Error::invalid(format!(
                "pixel size must be > 0 µm, got {pixel_size_um}"
            )));
        }
        let px = |um: f64| um / pixel_size_um;
        let area = |um2: f64| {
            (um2 / (pixel_size_um * pixel_size_um))
                .round()
                .min(u32::MAX as f64) as u32
        };
        let m = &p.migrasomes;
        let dmin = px(m.diameter_min_um) * (1.0 - m.size_tolerance).max(0.0);
        let dmax = px(m.diameter_max_um) * (1.0 + m.size_tolerance);
        let disk = |d: f64| std::f64::consts::PI * d * d / 4.0;
        Ok(PxParams {
            pixel_size_um,
            nucleus_sigma: px(p.cells.nucleus_sigma_um),
            nucleus_threshold: p.cells.nucleus_threshold,
            nucleus_flatten: p.cells.nucleus_flatten,
            nucleus_min_area: area(p.cells.nucleus_min_area_um2),
            body_sigma: px(p.cells.body_sigma_um),
            body_threshold: p.cells.body_threshold,
            body_opening: px(p
                .cells
                .body_opening_um
                .max(m.diameter_max_um * (1.0 + m.size_tolerance) / 2.0)),
            body_edge_fraction: p.cells.body_edge_fraction,
            body_local_radius: px(p.cells.body_local_radius_um),
            body_outline: p.cells.body_outline,
            body_min_contrast: p.cells.body_min_contrast,
            body_orphan_floor: p.cells.body_orphan_floor,
            body_plateau_cut: p.cells.body_plateau_cut,
            background_degree: p.cells.background_degree,
            body_max_hole: area(p.cells.body_max_hole_um2),
            body_min_area: area(p.cells.body_min_area_um2),
            body_margin: px(p.cells.body_margin_um),
            max_distance: px(p.cells.max_distance_um),
            smooth_sigma: px(m.smooth_sigma_um),
            uptake_smooth_sigma: px(m.smooth_sigma_um),
            diameter_min: px(m.diameter_min_um),
            background_sigma: px(m.background_sigma_um.unwrap_or(m.diameter_max_um)),
            spot_threshold: m.threshold,
            split_distance: px(m.diameter_min_um).floor().max(1.0) as u32,
            split: m.split,
            shape_rules: ShapeRules {
                min_area: disk(dmin).floor().max(4.0) as u32,
                max_area: disk(dmax).ceil().min(u32::MAX as f64) as u32,
                max_elongation: m.max_elongation,
                max_tip_ratio: m.max_tip_ratio,
            },
            min_relative_peak: m.min_relative_peak,
            max_plateau_ratio: m.max_plateau_ratio,
            persist: px(m.persist_um),
            adapt_below: m.adapt_below,
            spot_background_margin: m
                .background_outside_bodies
                .then(|| px(SPOT_BACKGROUND_MARGIN_UM)),
            shaft_gap: (0.25 / pixel_size_um).max(2.0),
            fragment_reach: ((0.25 + 0.3) / pixel_size_um).round().clamp(4.0, 12.0) as u32,
            annulus_gap: px(p.cargo.annulus_gap_um),
            annulus_outer: px(p.cargo.annulus_gap_um + p.cargo.annulus_width_um),
            cargo_k: p.cargo.k,
            cargo_clip: p.cargo.clip,
            fiber_sigma: px(p.fibers.sigma_um).max(RIDGE_MIN_SIGMA_PX),
            fiber_threshold: p.fibers.threshold,
            fiber_threshold_low: p.fibers.threshold_low,
            fiber_distance: px(p.fibers.distance_um).max(FIBER_MIN_DISTANCE_PX),
            fiber_line_half: if p.fibers.line_um > 0.0 {
                (px(p.fibers.line_um) / 2.0).round().max(1.0) as u32
            } else {
                0
            },
            fiber_line_threshold: p.fibers.line_threshold,
            fiber_line_threshold_low: p.fibers.line_threshold_low,
            fiber_min_piece: if p.fibers.min_piece_um2 > 0.0 {
                area(p.fibers.min_piece_um2).max(1)
            } else {
                0
            },
            contact_width: px(p.fibers.contact_um),
            contact_attached: p.fibers.contact_attached,
            contact_frames: p.fibers.contact_frames,
            tip_contact: p.fibers.tip_contact,
            tip_contact_ratio: p.fibers.tip_contact_ratio,
            protrusion_root: px(p.cells.body_margin_um + PROTRUSION_ROOT_UM),
            protrusion_max: px(p.fibers.protrusion_max_um),
            protrusion_tip_max: px(p.fibers.protrusion_tip_max_um),
            protrusion_sites: px(p.fibers.protrusion_sites_um),
            uptake_threshold: p.uptake.threshold,
            uptake_min_area: area(p.uptake.min_area_um2).max(1),
            uptake_edge_margin: px(p.uptake.edge_margin_um),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shaft_is_within_reach_beyond_the_halo_at_every_pixel_size() {
        for &ps in &[0.03, 0.05, 0.08, 0.11, 0.15, 0.2, 0.3, 0.4, 0.6] {
            for sigma in [0.1, 0.2, 0.5, 1.0] {
                let mut p = AnalyzeParams::default();
                p.fibers.sigma_um = sigma;
                let px = PxParams::new(&p, ps).unwrap();
                let halo = px.candidate_halo();
                assert!(
                    px.shaft_reach() as f64 >= halo.floor() + 1.0,
                    "pixel {ps} sigma {sigma}: reach {} halo {halo}",
                    px.shaft_reach()
                );
            }
        }
        // the defaults at 0.11 µm: halo 4 px (two 2 px ridge scales), reach 5
        let px = PxParams::new(&AnalyzeParams::default(), 0.11).unwrap();
        assert_eq!((px.candidate_halo(), px.shaft_reach()), (4.0, 5));
    }

    #[test]
    fn min_relative_peak_above_one_is_an_error() {
        let mut p = AnalyzeParams::default();
        p.migrasomes.min_relative_peak = 1.5;
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("migrasomes.min_relative_peak"), "{e}");
        p.migrasomes.min_relative_peak = -0.1;
        assert!(p.validate().is_err());
        p.migrasomes.min_relative_peak = 0.0;
        p.validate().unwrap();
    }

    #[test]
    fn release_faint_keys_out_of_range_are_errors() {
        type Set = fn(&mut TrackingParams);
        let cases: [(Set, &str); 6] = [
            (|t| t.release_faint_drop = 1.0, "release_faint_drop"),
            (|t| t.release_faint_drop = f64::NAN, "release_faint_drop"),
            (
                |t| t.release_faint_after_max = -1.0,
                "release_faint_after_max",
            ),
            (
                |t| t.release_faint_after_max = f64::NAN,
                "release_faint_after_max",
            ),
            (|t| t.release_faint_min_t = -0.5, "release_faint_min_t"),
            (
                |t| t.release_faint_min_t = f64::INFINITY,
                "release_faint_min_t",
            ),
        ];
        for (set, key) in cases {
            let mut p = AnalyzeParams::default();
            set(&mut p.tracking);
            let e = p.validate().unwrap_err().to_string();
            assert!(e.contains(&format!("tracking.{key}")), "{e}");
        }
        // no limit after the step, no scatter test, no faint path (drop at `release_drop`)
        let mut p = AnalyzeParams::default();
        p.tracking.release_faint_after_max = f64::INFINITY;
        p.tracking.release_faint_min_t = 0.0;
        p.tracking.release_faint_drop = p.tracking.release_drop;
        p.validate().unwrap();
        let r = p.tracking.release_rule();
        assert_eq!((r.min_after, r.drop, r.faint_drop), (2, 1.5, 1.5));
    }

    #[test]
    fn release_motion_um_must_be_a_finite_distance() {
        let mut p = AnalyzeParams::default();
        assert_eq!(p.tracking.release_rule().motion_um, 0.5);
        for bad in [-0.1, f64::INFINITY, f64::NAN] {
            p.tracking.release_motion_um = bad;
            let e = p.validate().unwrap_err().to_string();
            assert!(e.contains("tracking.release_motion_um"), "{e}");
        }
        for ok in [0.0, 2.0] {
            p.tracking.release_motion_um = ok;
            p.validate().unwrap();
        }
    }

    #[test]
    fn contact_frames_beyond_the_most_is_an_error() {
        let mut p = AnalyzeParams::default();
        assert_eq!(p.fibers.contact_frames, 4);
        p.fibers.contact_frames = MAX_CONTACT_FRAMES + 1;
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("fibers.contact_frames"), "{e}");
        for ok in [0, 1, MAX_CONTACT_FRAMES] {
            p.fibers.contact_frames = ok;
            p.validate().unwrap();
        }
    }

    #[test]
    fn released_lookahead_beyond_the_most_is_an_error() {
        let mut p = AnalyzeParams::default();
        assert_eq!(p.tracking.released_lookahead, 8);
        p.tracking.released_lookahead = MAX_RELEASED_LOOKAHEAD + 1;
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("tracking.released_lookahead"), "{e}");
        for ok in [0, MAX_RELEASED_LOOKAHEAD] {
            p.tracking.released_lookahead = ok;
            p.validate().unwrap();
        }
    }

    #[test]
    fn release_end_drop_at_most_one_is_an_error() {
        let mut p = AnalyzeParams::default();
        assert_eq!(p.tracking.release_rule().end_drop, 2.0);
        for bad in [1.0, 0.5, f64::NAN] {
            p.tracking.release_end_drop = bad;
            let e = p.validate().unwrap_err().to_string();
            assert!(e.contains("tracking.release_end_drop"), "{e}");
        }
        p.tracking.release_end_drop = f64::INFINITY;
        p.validate().unwrap();
    }

    #[test]
    fn a_noisy_frame_gets_more_smoothing_on_a_steep_ramp() {
        let px = PxParams::new(&AnalyzeParams::default(), 0.1).unwrap();
        let sigma = px.smooth_sigma;
        let factor = |c: Option<f64>| px.adapted(c).map(|a| a.smooth_sigma / sigma);
        // enough contrast, none measured, or not a number: the frame stands
        assert_eq!(factor(Some(2.4)), None);
        assert_eq!(factor(Some(3.5)), None);
        assert_eq!(factor(None), None);
        assert_eq!(factor(Some(f64::NAN)), None);
        // just under: barely changed; further under: the cube of the shortfall, capped at 2
        let f = factor(Some(0.99 * 2.4)).unwrap();
        assert!((f - 1.0 / 0.99f64.powi(3)).abs() < 1e-12, "{f}");
        let f = factor(Some(0.87 * 2.4)).unwrap();
        assert!((f - 1.0 / 0.87f64.powi(3)).abs() < 1e-12, "{f}");
        assert_eq!(factor(Some(1.5)), Some(ADAPT_MAX_FACTOR));
        assert_eq!(factor(Some(0.0)), Some(ADAPT_MAX_FACTOR));
        // everything else is the configured frame's, the uptake channel's smoothing included
        let a = px.adapted(Some(1.5)).unwrap();
        assert_eq!(a.uptake_smooth_sigma, px.smooth_sigma);
        assert_eq!(a.background_sigma, px.background_sigma);
        assert_eq!(a.fiber_sigma, px.fiber_sigma);
        // never more than half the background scale
        let mut p = AnalyzeParams::default();
        p.migrasomes.smooth_sigma_um = 0.9;
        let px = PxParams::new(&p, 0.1).unwrap();
        let a = px.adapted(Some(1.0)).unwrap();
        assert!((a.smooth_sigma - 0.5 * px.background_sigma).abs() < 1e-12);
        // off
        p.migrasomes.adapt_below = 0.0;
        let px = PxParams::new(&p, 0.1).unwrap();
        assert!(px.adapted(Some(0.5)).is_none());
    }
}
