#!/usr/bin/env python3
"""Scores migrasome and cell tracks of `migrascope analyze` on a `migrascope synth` movie.

    python3 tests/py/track_quality.py TRUTH_DIR RESULTS_DIR

Per frame, detections are matched one to one to the true migrasomes within 1 µm (cells by
nucleus within 5 µm), nearest first. Over consecutive frames where the same true object is
matched in both, a link is correct when the two detections carry the same track id (cells:
the same cell_id); an ID switch is a true object whose track id changes from one matched frame
to the next. Also: tracks per true object (1 = never fragmented) and true objects per track
(1 = never merged two objects). Prints one JSON line.
"""
import csv
import json
import sys
from collections import defaultdict


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def match(truth, found, tol):
    """Greedy nearest one-to-one matching: {truth key: found index}."""
    pairs = []
    for i, t in enumerate(truth):
        for j, d in enumerate(found):
            dist = ((t[0] - d[0]) ** 2 + (t[1] - d[1]) ** 2) ** 0.5
            if dist <= tol:
                pairs.append((dist, i, j))
    pairs.sort()
    ti, fj, out = set(), set(), {}
    for _, i, j in pairs:
        if i not in ti and j not in fj:
            ti.add(i)
            fj.add(j)
            out[i] = j
    return out


def score(truth_rows, found_rows, tid_col, fid_col, tol):
    tf, ff = defaultdict(list), defaultdict(list)
    for r in truth_rows:
        tf[int(r["frame"])].append((float(r["x_um"]), float(r["y_um"]), r[tid_col]))
    for r in found_rows:
        ff[int(r["frame"])].append((float(r["x_um"]), float(r["y_um"]), r[fid_col]))
    seq = defaultdict(dict)  # truth id -> frame -> track id
    matched = total = 0
    for f in sorted(tf):
        m = match(tf[f], ff.get(f, []), tol)
        total += len(tf[f])
        matched += len(m)
        for i, j in m.items():
            seq[tf[f][i][2]][f] = ff[f][j][2]
    correct = links = switches = 0
    per_truth, per_track = {}, defaultdict(set)
    for tid, by_frame in seq.items():
        frames = sorted(by_frame)
        for a, b in zip(frames, frames[1:]):
            if b == a + 1:
                links += 1
                correct += by_frame[a] == by_frame[b]
            if by_frame[a] != by_frame[b]:
                switches += 1
        per_truth[tid] = len(set(by_frame.values()))
        for v in by_frame.values():
            per_track[v].add(tid)
    n = max(len(per_truth), 1)
    return {
        "truth_detections": total,
        "matched": matched,
        "links": links,
        "correct_links": correct,
        "id_switches": switches,
        "truth_objects": len(per_truth),
        "tracks_per_object": round(sum(per_truth.values()) / n, 3),
        "tracks_with_two_objects": sum(len(s) > 1 for s in per_track.values()),
    }


def main():
    truth, res = sys.argv[1], sys.argv[2]
    out = {
        "migrasomes": score(
            rows(f"{truth}/truth_migrasomes.csv"),
            rows(f"{res}/migrasomes.csv"),
            "migrasome_id",
            "track_id",
            1.0,
        ),
        "cells": score(
            rows(f"{truth}/truth_cells.csv"), rows(f"{res}/cells.csv"), "cell_id", "cell_id", 5.0
        ),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
