#!/usr/bin/env python3
"""Checks the TrackMate files of an `analyze` results folder against its tables.

    python3 tests/py/check_trackmate.py RESULTS_DIR

For every `images/<image>/<image>.xml`, read with pytrackmate (`trackmate_peak_import`, the
reader other tools use) and with ElementTree for the attributes pytrackmate leaves out:
- the spots are the rows of the image's `migrasomes.csv`: same count, and per (frame,
  migrasome_id) the same position (to 1e-3 µm);
- every edge joins two spots of the same `track_id` (tracks that neither split nor merge),
  forward in time by 1 to max_frame_gap frames, and every pair of consecutive detections of
  a track is an edge;
- pytrackmate's track labels partition the spots as `track_id` does;
- `tracks.csv` gives each track its number of spots, first and last frame.
Exits 1 with a line per mismatch; prints a summary line per image otherwise.
"""
import csv
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from pytrackmate import trackmate_peak_import


def fail(msg):
    print(f"check_trackmate: {msg}", file=sys.stderr)
    fail.count += 1


fail.count = 0


def check(folder: Path):
    image = folder.name
    xml = folder / f"{image}.xml"
    rows = list(csv.DictReader(open(folder / "migrasomes.csv", newline="")))
    tracks = list(csv.DictReader(open(folder / "tracks.csv", newline="")))
    split_merge = {
        t["track_id"]
        for t in tracks
        if t["split_from_track_id"] or t["merged_into_track_id"]
    }
    df = trackmate_peak_import(str(xml), get_tracks=True)
    if len(df) != len(rows):
        fail(f"{xml}: {len(df)} spots, migrasomes.csv has {len(rows)} rows")
    root = ET.parse(xml).getroot()
    spots = {}
    for s in root.iter("Spot"):
        spots[s.get("ID")] = s
    by_key = {(r["frame"], r["migrasome_id"]): r for r in rows}
    spot_track = {}
    for sid, s in spots.items():
        key = (s.get("FRAME"), s.get("MIGRASOME_ID"))
        r = by_key.get(key)
        if r is None:
            fail(f"{xml}: spot {sid} (frame {key[0]}, migrasome {key[1]}) not in migrasomes.csv")
            continue
        for a, c in (("POSITION_X", "x_um"), ("POSITION_Y", "y_um")):
            if abs(float(s.get(a)) - float(r[c])) > 1e-3:
                fail(f"{xml}: spot {sid} {a} {s.get(a)} != {c} {r[c]}")
        spot_track[sid] = r["track_id"]
    # pytrackmate's positions, by spot id
    for _, p in df.iterrows():
        s = spots.get(str(int(p["spot_id"])))
        if s is None or abs(p["x"] - float(s.get("POSITION_X"))) > 1e-6 or int(p["t_stamp"]) != int(s.get("FRAME")):
            fail(f"{xml}: pytrackmate spot {p['spot_id']} differs from the file")
    gap = max(
        int(e)
        for e in [1]
        + [
            int(float(spots[x.get("SPOT_TARGET_ID")].get("FRAME")) - float(spots[x.get("SPOT_SOURCE_ID")].get("FRAME")))
            for x in root.iter("Edge")
        ]
    )
    edges = set()
    for e in root.iter("Edge"):
        a, b = e.get("SPOT_SOURCE_ID"), e.get("SPOT_TARGET_ID")
        if a not in spot_track or b not in spot_track:
            fail(f"{xml}: edge {a}->{b} names a spot not in the file")
            continue
        ta, tb = spot_track[a], spot_track[b]
        fa, fb = int(spots[a].get("FRAME")), int(spots[b].get("FRAME"))
        if fb <= fa:
            fail(f"{xml}: edge {a}->{b} goes back in time ({fa} -> {fb})")
        if ta != tb and not (ta in split_merge or tb in split_merge):
            fail(f"{xml}: edge {a}->{b} joins tracks {ta} and {tb}")
        edges.add((a, b))
    # consecutive detections of a track are edges
    by_track = defaultdict(list)
    for sid, t in spot_track.items():
        by_track[t].append((int(spots[sid].get("FRAME")), sid))
    for t, lst in by_track.items():
        lst.sort()
        for (fa, a), (fb, b) in zip(lst, lst[1:]):
            if (a, b) not in edges:
                fail(f"{xml}: track {t}: spots {a} (frame {fa}) and {b} (frame {fb}) not linked")
    # pytrackmate's labels partition the spots as track_id does
    label_of = {str(int(p["spot_id"])): p["label"] for _, p in df.iterrows()}
    groups = defaultdict(set)
    for sid, t in spot_track.items():
        groups[t].add(label_of.get(sid))
    for t, labels in groups.items():
        if len(labels) != 1 and t not in split_merge:
            fail(f"{xml}: track {t} has {len(labels)} pytrackmate labels")
    n_labels = len(set(label_of.values()))
    # tracks.csv
    for t in tracks:
        lst = sorted(by_track.get(t["track_id"], []))
        if len(lst) != int(t["n_spots"]):
            fail(f"{folder}/tracks.csv: track {t['track_id']}: n_spots {t['n_spots']}, {len(lst)} spots")
        elif lst and (lst[0][0], lst[-1][0]) != (int(t["first_frame"]), int(t["last_frame"])):
            fail(f"{folder}/tracks.csv: track {t['track_id']}: frames differ")
    if len(tracks) != len(by_track):
        fail(f"{folder}: tracks.csv has {len(tracks)} tracks, migrasomes.csv {len(by_track)}")
    print(
        f"check_trackmate: {xml.name}: {len(df)} spots, {len(edges)} edges, "
        f"{len(tracks)} tracks ({n_labels} pytrackmate labels), largest gap {gap} frames: ok"
        if fail.count == 0
        else f"check_trackmate: {xml.name}: {fail.count} mismatch(es)"
    )


def main():
    res = Path(sys.argv[1])
    xmls = sorted(res.glob("images/*/*.xml"))
    if not xmls:
        fail(f"{res}: no images/<image>/<image>.xml")
    for x in xmls:
        if x.stem == x.parent.name:
            check(x.parent)
    sys.exit(1 if fail.count else 0)


if __name__ == "__main__":
    main()
