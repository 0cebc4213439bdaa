#!/usr/bin/env python3
"""Cross-checks `migrascope evaluate`'s tracking scores against laptrack.scores.calc_scores.

    python tests/py/laptrack_scores.py TRUTH_DIR RESULTS_DIR EVALUATE_JSON

TRUTH_DIR holds `truth_migrasomes.csv` (a `synth --dynamics` movie), RESULTS_DIR the
`analyze` results' `migrasomes.csv`, and EVALUATE_JSON the line printed by
`migrascope evaluate --truth TRUTH_DIR --results RESULTS_DIR --json` (a file, or - for stdin).

Nothing here comes from the Rust scorer. From the two CSVs this script:
- matches, in each (image, frame), the visible truth detections (`visible` 1) to the
  predicted detections one to one within max(1 um, truth diameter / 2), closest pairs first
  (ties: lower truth row, then lower predicted row, both in file order within the frame);
- builds laptrack nodes (frame, index): a truth detection is (frame, its truth row number), a
  matched prediction takes its truth detection's node, an unmatched one gets a node of its own
  (frame, number of truth rows + its predicted row number). Row numbers are unique over the
  whole file, so several images never share a node (`evaluate` pools images the same way);
- truth edges: consecutive visible detections (by frame) of each (image, track_id);
  predicted edges: consecutive detections (by frame) of each (image, track_id), an empty
  track_id being a detection in no track;
- calls laptrack's calc_scores with include_frames = every frame of either file (its default
  stops at the last truth edge's source frame).

Then it prints, per score, evaluate's value, laptrack's and the difference, and exits 1 when
one differs by more than 1e-6 or is missing on either side (also when either side has no
links: laptrack then returns 0 for everything or fails, and nothing would be checked).
Exits 2 with one line on bad input (missing file or column, a value that is not a number).
Needs laptrack (0.17.1 used; see .ci/run for the venv).
"""
import csv
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

TOL = 1e-6
MIN_MATCH_UM = 1.0
# evaluate's JSON key -> laptrack's key
SCORES = [
    ("edge_jaccard", "Jaccard_index"),
    ("link_recall", "true_positive_rate"),
    ("link_precision", "precision"),
    ("track_purity", "track_purity"),
    ("target_effectiveness", "target_effectiveness"),
]


def die(msg):
    """Bad input: one line, exit 2."""
    print(f"laptrack_scores: {msg}", file=sys.stderr)
    sys.exit(2)


def image_key(name):
    """The image name without folders and TIFF suffix (as evaluate compares images)."""
    base = name.strip().replace("\\", "/").rsplit("/", 1)[-1]
    for suf in (".ome.tiff", ".ome.tif", ".tiff", ".tif"):
        if base.lower().endswith(suf):
            return base[: -len(suf)]
    return base


def read_table(path, columns):
    """Rows of a CSV as dicts; dies when the file or one of `columns` is missing."""
    if not path.is_file():
        die(f"{path}: no such file")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        for c in columns:
            if c not in header:
                die(f"{path}: no column '{c}'")
        reader.fieldnames = header
        return [r for r in reader if any((v or "").strip() for v in r.values())]


def number(path, line, row, col):
    s = (row[col] or "").strip()
    try:
        v = float(s)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        die(f"{path}: line {line}, column '{col}': '{s}' is not a number")
    return v


def integer(path, line, row, col):
    v = number(path, line, row, col)
    if v < 0 or v != int(v):
        die(f"{path}: line {line}, column '{col}': '{row[col]}' is not a non-negative integer")
    return int(v)


def read_dets(path, truth):
    """Detections as dicts: image, frame, track (None: no track), x, y (+ radius, visible)."""
    cols = ["image", "frame", "track_id", "x_um", "y_um"]
    if truth:
        cols += ["diameter_um", "visible"]
    dets = []
    for n, r in enumerate(read_table(path, cols)):
        line = n + 2  # 1-based, after the header (no quoted newlines in these files)
        d = {
            "image": image_key(r["image"]),
            "frame": integer(path, line, r, "frame"),
            "track": None if not (r["track_id"] or "").strip() else integer(path, line, r, "track_id"),
            "x": number(path, line, r, "x_um"),
            "y": number(path, line, r, "y_um"),
        }
        if truth:
            d["radius"] = 0.5 * number(path, line, r, "diameter_um")
            vis = (r["visible"] or "").strip().lower()
            if vis not in ("0", "1", "true", "false"):
                die(f"{path}: line {line}, column 'visible': '{vis}' is not 0 or 1")
            d["visible"] = vis in ("1", "true")
        dets.append(d)
    return dets


def match(truth, pred):
    """Per (image, frame) greedy one-to-one matching, closest first: {pred row: truth row}."""
    groups = defaultdict(lambda: ([], []))
    for i, t in enumerate(truth):
        if t["visible"]:
            groups[(t["image"], t["frame"])][0].append(i)
    for j, p in enumerate(pred):
        groups[(p["image"], p["frame"])][1].append(j)
    out = {}
    for ti, pj in groups.values():
        pairs = []
        for a, i in enumerate(ti):
            gate = max(MIN_MATCH_UM, truth[i]["radius"])
            for b, j in enumerate(pj):
                d = math.hypot(truth[i]["x"] - pred[j]["x"], truth[i]["y"] - pred[j]["y"])
                if d <= gate:
                    pairs.append((d, a, b))
        pairs.sort()  # distance, then truth order, then predicted order
        used_t, used_p = set(), set()
        for _, a, b in pairs:
            if a not in used_t and b not in used_p:
                used_t.add(a)
                used_p.add(b)
                out[pj[b]] = ti[a]
    return out


def edges(dets, rows, node, what):
    """Consecutive detections (by frame) of each (image, track_id) among `rows` as node pairs."""
    by_track = defaultdict(list)
    for k in rows:
        if dets[k]["track"] is not None:
            by_track[(dets[k]["image"], dets[k]["track"])].append(k)
    out = []
    for (image, tid), ks in by_track.items():
        ks.sort(key=lambda k: dets[k]["frame"])
        for a, b in zip(ks, ks[1:]):
            if dets[a]["frame"] == dets[b]["frame"]:
                die(f"{what}: track {tid} of image '{image}' has two detections in frame {dets[a]['frame']}")
            out.append((node(a), node(b)))
    return out


def main():
    if len(sys.argv) != 4:
        die("usage: laptrack_scores.py TRUTH_DIR RESULTS_DIR EVALUATE_JSON (or - for stdin)")
    truth_dir, res_dir, json_arg = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    # evaluate's scores
    if json_arg == "-":
        text = sys.stdin.read()
    elif Path(json_arg).is_file():
        text = Path(json_arg).read_text()
    else:
        die(f"{json_arg}: no such file")
    try:
        ours = json.loads(text)
    except json.JSONDecodeError as e:
        die(f"{json_arg}: not JSON ({e})")
    tracking = ours.get("tracking") if isinstance(ours, dict) else None
    if not isinstance(tracking, dict):
        note = ours.get("tracking_note") if isinstance(ours, dict) else None
        die(f"{json_arg}: no 'tracking' scores" + (f" ({note})" if note else ""))

    truth = read_dets(truth_dir / "truth_migrasomes.csv", truth=True)
    pred = read_dets(res_dir / "migrasomes.csv", truth=False)

    # Nodes: truth row i -> (frame, i); predicted row j -> its truth node, or its own.
    pred_to_truth = match(truth, pred)

    def truth_node(i):
        return (truth[i]["frame"], i)

    def pred_node(j):
        i = pred_to_truth.get(j)
        return truth_node(i) if i is not None else (pred[j]["frame"], len(truth) + j)

    visible = [i for i, t in enumerate(truth) if t["visible"]]
    true_edges = edges(truth, visible, truth_node, "truth")
    pred_edges = edges(pred, range(len(pred)), pred_node, "results")
    frames = sorted({d["frame"] for d in truth} | {d["frame"] for d in pred})
    correct = len(set(true_edges) & set(pred_edges))
    print(
        f"links: truth {len(true_edges)}, predicted {len(pred_edges)}, correct {correct} "
        f"(evaluate: {tracking.get('truth_links')}, {tracking.get('predicted_links')}, "
        f"{tracking.get('correct_links')}); {len(pred_to_truth)} of {len(pred)} detections matched"
    )
    if not true_edges or not pred_edges:
        print("laptrack_scores: no truth or no predicted links; laptrack cannot score this movie")
        return 1

    from laptrack.scores import calc_scores  # imported late: bad input fails fast without it

    theirs = calc_scores(true_edges, pred_edges, include_frames=frames)

    bad = 0
    for key, lkey in SCORES:
        a, b = tracking.get(key), theirs.get(lkey)
        if a is None or b is None:
            print(f"{key:<21} ours {a}  laptrack {b}  MISSING")
            bad += 1
            continue
        diff = abs(float(a) - float(b))
        flag = "" if diff <= TOL else "  DIFFERS"
        bad += diff > TOL
        print(f"{key:<21} ours {float(a):.9f}  laptrack {float(b):.9f}  diff {diff:.1e}{flag}")
    print("laptrack_scores: " + (f"{bad} score(s) disagree" if bad else f"all 5 agree to {TOL:g}"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
