#!/usr/bin/env python3
"""Results folders made from a `synth --dynamics` truth, for trying `evaluate`'s tracking scores:
the visible truth rows with their track ids (migrasomes.csv), the truth cells (cells.csv) and
events (events.csv). With --broken: 10 % of detections dropped (seed 1), tracks 2 and 3 swap
ids from frame 10, every id changes at frame 20, release events 2 frames late, no uptake events.

    /usr/bin/python3 tests/tracking/truth_as_results.py TRUTH_DIR OUT_DIR [--broken]
"""
import csv
import os
import random
import shutil
import sys


def main():
    truth, out = sys.argv[1], sys.argv[2]
    broken = "--broken" in sys.argv[3:]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(truth, "truth_migrasomes.csv")) as fh:
        rd = csv.DictReader(fh)
        head = [h for h in rd.fieldnames if h != "visible"]
        rows = [r for r in rd if r["visible"] == "1"]
    random.seed(1)
    if broken:
        kept = []
        for r in rows:
            f, t = int(r["frame"]), int(r["track_id"])
            if random.random() < 0.1:
                continue
            if t in (2, 3) and f >= 10:
                t = 5 - t
            if f >= 20:
                t += 1000
            kept.append(dict(r, track_id=str(t)))
        rows = kept
    with open(os.path.join(out, "migrasomes.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, head, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    shutil.copy(os.path.join(truth, "truth_cells.csv"), os.path.join(out, "cells.csv"))
    with open(os.path.join(truth, "truth_events.csv")) as fh:
        rd = csv.DictReader(fh)
        ehead, events = rd.fieldnames, list(rd)
    if broken:
        events = [e for e in events if e["event"] != "uptake"]
        for e in events:
            if e["event"] == "release":
                e["frame"] = str(int(e["frame"]) + 2)
    with open(os.path.join(out, "events.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, ehead, lineterminator="\n")
        w.writeheader()
        w.writerows(events)


if __name__ == "__main__":
    main()
