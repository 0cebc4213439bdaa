#!/usr/bin/env python3
"""Independent reference for `evaluate`'s tracking scores (src/evaluate/tracking.rs).

Makes a few track sets with a fixed seed: random truth tracks with blinks (visible 0, a gap
in the track) and predictions with identity swaps, breaks, joins of two tracks, missed and
false detections (one of them on a blinking truth spot); writes each as truth/pred CSVs in
tests/tracking/ and scores them with laptrack.scores.calc_scores (every frame included).
The Rust test `tracking_scores_match_laptrack` (tests/it/synth/tracking.rs) reads the files
and asserts agreement to 1e-6; no Python at test time.

Matching is made unambiguous on purpose: visible truth centres are >= 5 um apart in a frame,
a predicted detection is either within 0.1 um of one visible truth centre or >= 3 um from every
visible one, so any one-to-one matching within 1 um gives the same pairs. Predicted detections
are mapped onto the matched truth node (frame, track_id); unmatched ones get their own node.

Besides laptrack's Jaccard_index, true_positive_rate, precision, track_purity and
target_effectiveness, the file holds detection TP/FP/FN, ID switches and whole tracks counted
here by plain Python (definitions in src/evaluate/tracking.rs).

Run: /usr/bin/python3 tests/tracking/make_reference.py   (needs laptrack; 0.17.x used)
"""
import csv
import importlib.metadata
import json
import os
import sys

import numpy as np
import laptrack
from laptrack.scores import calc_scores

OUT = os.path.dirname(os.path.abspath(__file__))
FRAMES = 16
IMAGE = "movie"


def make_truth(rng, ntracks):
    """Tracks as dict id -> list of [frame, x, y, visible]; centres >= 5 um apart per frame."""
    tracks = {}
    diam = {}
    for tid in range(1, ntracks + 1):
        for _attempt in range(200):
            start = int(rng.integers(0, FRAMES - 3))
            end = int(rng.integers(start + 2, FRAMES))
            p = rng.uniform(10, 190, size=2)
            v = rng.normal(0, 0.6, size=2)
            rows = []
            for f in range(start, end + 1):
                rows.append([f, float(p[0]), float(p[1]), 1])
                p = p + v + rng.normal(0, 0.3, size=2)
            ok = all(
                np.hypot(r[1] - q[1], r[2] - q[2]) >= 5.0
                for rows2 in tracks.values()
                for r in rows
                for q in rows2
                if q[0] == r[0]
            )
            if ok:
                # blinks strictly inside the track, never two in a row
                prev = False
                for r in rows[1:-1]:
                    hide = (not prev) and rng.random() < 0.12
                    r[3] = 0 if hide else 1
                    prev = hide
                tracks[tid] = rows
                diam[tid] = float(rng.uniform(0.5, 2.0))
                break
    return tracks, diam


def perfect_pred(rng, truth):
    """One predicted track per truth track (ids shuffled), visible rows only, 0.05 um jitter."""
    ids = rng.permutation(len(truth)) + 101
    pred = {}
    for pid, (tid, rows) in zip(ids, sorted(truth.items())):
        pred[int(pid)] = [
            [r[0], r[1] + rng.uniform(-0.05, 0.05), r[2] + rng.uniform(-0.05, 0.05)]
            for r in rows
            if r[3]
        ]
    return pred


def swap(rng, pred):
    """Two predicted tracks that share a frame range exchange their tails."""
    keys = sorted(pred)
    for _ in range(100):
        a, b = rng.choice(keys, size=2, replace=False)
        fa = {r[0] for r in pred[a]}
        fb = {r[0] for r in pred[b]}
        common = sorted(fa & fb)
        if len(common) >= 3:
            t = common[len(common) // 2]
            ta = [r for r in pred[a] if r[0] >= t]
            tb = [r for r in pred[b] if r[0] >= t]
            pred[a] = [r for r in pred[a] if r[0] < t] + tb
            pred[b] = [r for r in pred[b] if r[0] < t] + ta
            return


def brk(rng, pred):
    """A predicted track splits into two ids."""
    keys = [k for k in sorted(pred) if len(pred[k]) >= 4]
    if not keys:
        return
    k = keys[int(rng.integers(len(keys)))]
    cut = int(rng.integers(1, len(pred[k]) - 1))
    new = max(pred) + 1
    pred[new] = pred[k][cut:]
    pred[k] = pred[k][:cut]


def join(rng, pred):
    """A predicted track that ends is continued by one that starts later (one id)."""
    keys = sorted(pred)
    for _ in range(100):
        a, b = rng.choice(keys, size=2, replace=False)
        if max(r[0] for r in pred[a]) < min(r[0] for r in pred[b]):
            pred[a] = pred[a] + pred[b]
            del pred[b]
            return


def miss(rng, pred, n):
    """Drops n detections from inside predicted tracks."""
    for _ in range(n):
        keys = [k for k in sorted(pred) if len(pred[k]) >= 3]
        if not keys:
            return
        k = keys[int(rng.integers(len(keys)))]
        del pred[k][int(rng.integers(1, len(pred[k]) - 1))]


def false_dets(rng, pred, truth, n):
    """n false detections >= 3 um from every truth centre: some as own short tracks, some
    appended to a real track; plus one on a blinking truth spot (not visible: unmatched)."""
    def far(f, x, y):
        return all(
            np.hypot(x - r[1], y - r[2]) >= 3.0
            for rows in truth.values()
            for r in rows
            if r[0] == f
        )

    made = 0
    while made < n:
        f = int(rng.integers(0, FRAMES - 1))
        x, y = rng.uniform(5, 195, size=2)
        if not (far(f, x, y) and far(f + 1, x + 0.5, y)):
            continue
        if rng.random() < 0.5:
            pred[max(pred) + 1] = [[f, float(x), float(y)], [f + 1, float(x) + 0.5, float(y)]]
        else:
            k = int(rng.choice(sorted(pred)))
            frames = {r[0] for r in pred[k]}
            if f in frames:
                continue
            pred[k] = sorted(pred[k] + [[f, float(x), float(y)]])
        made += 1
    for tid, rows in sorted(truth.items()):
        hidden = [r for r in rows if not r[3]]
        if hidden:
            r = hidden[0]
            pred[max(pred) + 1] = [[r[0], r[1] + 0.02, r[2]]]
            break


def write_case(name, truth, diam, pred):
    tpath = os.path.join(OUT, f"{name}_truth.csv")
    ppath = os.path.join(OUT, f"{name}_pred.csv")
    with open(tpath, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["image", "frame", "migrasome_id", "cell_id", "x_um", "y_um",
                    "diameter_um", "released", "track_id", "visible"])
        for tid, rows in sorted(truth.items()):
            for r in rows:
                w.writerow([IMAGE, r[0], tid, 1, f"{r[1]:.4f}", f"{r[2]:.4f}",
                            f"{diam[tid]:.4f}", 0, tid, r[3]])
    with open(ppath, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["image", "frame", "migrasome_id", "track_id", "cell_id", "x_um", "y_um",
                    "released"])
        k = 0
        for pid, rows in sorted(pred.items()):
            for r in sorted(rows):
                k += 1
                w.writerow([IMAGE, r[0], k, pid, 1, f"{r[1]:.4f}", f"{r[2]:.4f}", 0])
    return os.path.basename(tpath), os.path.basename(ppath)


def read_back(name):
    """Reads the CSVs as written (rounded to 0.1 nm) so both sides score the same numbers."""
    truth, pred = [], []
    with open(os.path.join(OUT, f"{name}_truth.csv")) as fh:
        for r in csv.DictReader(fh):
            truth.append((int(r["frame"]), int(r["track_id"]), float(r["x_um"]),
                          float(r["y_um"]), 0.5 * float(r["diameter_um"]), r["visible"] == "1"))
    with open(os.path.join(OUT, f"{name}_pred.csv")) as fh:
        for r in csv.DictReader(fh):
            pred.append((int(r["frame"]), int(r["track_id"]), float(r["x_um"]), float(r["y_um"])))
    return truth, pred


def score(name):
    truth, pred = read_back(name)
    vis = [t for t in truth if t[5]]
    # matching: the unique visible truth centre within max(1 um, radius)
    node_of = []
    used = set()
    for k, (f, pid, x, y) in enumerate(pred):
        hits = [t for t in vis if t[0] == f and np.hypot(t[2] - x, t[3] - y) <= max(1.0, t[4])]
        assert len(hits) <= 1, "ambiguous by construction?"
        if hits and (f, hits[0][1]) not in used:
            node_of.append((f, hits[0][1]))
            used.add((f, hits[0][1]))
        else:
            node_of.append((f, 1_000_000 + k))
    tp = len(used)
    # truth edges between consecutive visible detections of a track
    true_edges = []
    tracks = {}
    for t in vis:
        tracks.setdefault(t[1], []).append(t[0])
    for tid, fr in tracks.items():
        fr.sort()
        true_edges += [((a, tid), (b, tid)) for a, b in zip(fr[:-1], fr[1:])]
    ptracks = {}
    for k, p in enumerate(pred):
        ptracks.setdefault(p[1], []).append((p[0], k))
    pred_edges = []
    for pid, lst in ptracks.items():
        lst.sort()
        pred_edges += [(node_of[a[1]], node_of[b[1]]) for a, b in zip(lst[:-1], lst[1:])]
    s = calc_scores(true_edges, pred_edges, include_frames=list(range(FRAMES)))
    # plain-Python counts: ID switches and whole tracks
    ptrack_of_node = {}
    for pid, lst in ptracks.items():
        for _, k in lst:
            ptrack_of_node[node_of[k]] = pid
    switches, whole = 0, 0
    for tid, fr in tracks.items():
        ids = [ptrack_of_node.get((f, tid)) for f in fr]
        m = [i for i in ids if i is not None]
        switches += sum(1 for a, b in zip(m[:-1], m[1:]) if a != b)
        if len(m) == len(fr) and len(set(m)) == 1 and len(ptracks[m[0]]) == len(fr):
            whole += 1
    return {
        "laptrack": {k: float(s[k]) for k in
                     ["Jaccard_index", "true_positive_rate", "precision", "track_purity",
                      "target_effectiveness"]},
        "counts": {
            "detection_tp": tp,
            "detection_fp": len(pred) - tp,
            "detection_fn": len(vis) - tp,
            "truth_links": len(true_edges),
            "predicted_links": len(pred_edges),
            "correct_links": len(set(true_edges) & set(pred_edges)),
            "id_switches": switches,
            "tracks_whole": whole,
            "truth_tracks": len(tracks),
        },
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261129)
    recipes = {
        "perfect": [],
        "swaps": [swap, swap],
        "breaks": [brk, brk, brk],
        "joins": [join, join],
        "missed_false": [lambda r, p: miss(r, p, 5), "false"],
        "mixed": [swap, brk, join, lambda r, p: miss(r, p, 3), "false", swap],
    }
    cases = []
    for name, steps in recipes.items():
        truth, diam = make_truth(rng, 14)
        pred = perfect_pred(rng, truth)
        for st in steps:
            if st == "false":
                false_dets(rng, pred, truth, 6)
            else:
                st(rng, pred)
        tfile, pfile = write_case(name, truth, diam, pred)
        cases.append({"name": name, "truth": tfile, "pred": pfile, **score(name)})
    doc = {
        "generator": "tests/tracking/make_reference.py",
        "laptrack_version": importlib.metadata.version("laptrack"),
        "laptrack_module_version": laptrack.__version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "seed": 20261129,
        "frames": FRAMES,
        "note": "laptrack.scores.calc_scores(true_edges, predicted_edges, include_frames=all "
                "frames); predicted detections mapped to the matched truth node (frame, track_id)",
        "cases": cases,
    }
    with open(os.path.join(OUT, "reference.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    for c in cases:
        print(c["name"], c["laptrack"], c["counts"])


if __name__ == "__main__":
    main()
