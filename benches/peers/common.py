"""What the peer pipelines share: reading the movie frame by frame, timing, the JSON line.

A movie is a TIFF whose first series has its channels just before Y and X (TCYX, ZCYX, CYX,
...): every leading index is one frame, channel 0 is the membrane (thresholded), channel 1
the cargo (summed per object). Pages are read one frame at a time, as `migrascope bench`
streams them.
"""
import json
import os
import resource
import sys
import time

import numpy as np
import tifffile


def parse_args(tool, extra=None):
    import argparse
    ap = argparse.ArgumentParser(description=f'{tool} peer of `migrascope bench`')
    ap.add_argument('movie', help='TIFF movie, channels before Y and X (e.g. TCYX)')
    ap.add_argument('--frames', type=int, default=0, help='first N frames only (0 = all)')
    if extra:
        extra(ap)
    return ap.parse_args()


class Movie:
    """Frames of a multi-channel TIFF: `frame(i)` gives (membrane, cargo) as numpy arrays."""

    def __init__(self, path):
        self.path = path
        self.tf = tifffile.TiffFile(path)
        s = self.tf.series[0]
        axes, shape = s.axes, list(s.shape)
        if not axes.endswith('YX') or len(axes) < 3 or axes[-3] not in 'CS':
            sys.exit(f'{path}: expected channels before YX, got axes {axes} {shape}')
        self.channels = shape[-3]
        if self.channels < 2:
            sys.exit(f'{path}: needs two channels, has {self.channels}')
        self.frames = int(np.prod(shape[:-3], dtype=np.int64)) if len(shape) > 3 else 1
        self.height, self.width = shape[-2], shape[-1]
        self.pages = s.pages

    def frame(self, i):
        c = self.channels
        return self.pages[i * c].asarray(), self.pages[i * c + 1].asarray()

    def info(self):
        p = self.tf.pages.first
        return dict(path=os.path.abspath(self.path), bytes=os.path.getsize(self.path),
                    compression=p.compression.name, bigtiff=bool(self.tf.is_bigtiff),
                    imagej=bool(self.tf.is_imagej), axes=self.tf.series[0].axes,
                    shape=list(self.tf.series[0].shape))

    def close(self):
        self.tf.close()


class Timer:
    """Wall-clock milliseconds per named step, one list per step."""

    def __init__(self):
        self.ms = {}
        self.t = time.perf_counter()

    def start(self):
        self.t = time.perf_counter()

    def lap(self, step):
        now = time.perf_counter()
        self.ms.setdefault(step, []).append((now - self.t) * 1000.0)
        self.t = now

    def median(self, step):
        return float(np.median(self.ms[step]))

    def summary(self):
        return {k: dict(median=round(float(np.median(v)), 3), mean=round(float(np.mean(v)), 3),
                        min=round(float(np.min(v)), 3), first=round(float(v[0]), 3))
                for k, v in self.ms.items()}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def report(tool, movie, timer, steps, counts, thresholds, versions, wall_s, **extra):
    """Prints the one JSON line `migrascope bench --peers` reads (its last line starting with
    `{`): `tool`, `fps_e2e` (read + compute, median frame), `counts` per frame, and more."""
    compute = sum(timer.median(s) for s in steps)
    read = timer.median('read')
    n = len(counts)
    line = dict(
        tool=tool, file=movie.info(), frames=n, plane_px=movie.width * movie.height,
        versions=dict(python=sys.version.split()[0], numpy=np.__version__,
                      tifffile=tifffile.__version__, **versions),
        ms=timer.summary(),
        fps_compute=round(1000.0 / compute, 3),
        fps_e2e=round(1000.0 / (compute + read), 3),
        fps_wall=round(n / wall_s, 3),
        counts=counts, thresholds=[round(float(x), 6) for x in thresholds],
        peak_rss_mb=round(peak_rss_mb(), 1), wall_s=round(wall_s, 3), **extra)
    print(json.dumps(line))
