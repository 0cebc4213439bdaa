#!/usr/bin/env python3
"""The `migrascope bench` pipeline with OpenCV (all its threads), per frame:

    read     channel 0 (membrane) and channel 1 (cargo) of the frame, tifffile
    conv     ch0 -> float32
    blur     cv2.GaussianBlur(f, (0, 0), 1.5, BORDER_REPLICATE)
    bg       cv2.GaussianBlur(f, (0, 0), 20, BORDER_REPLICATE)
    sub      dog = blur - bg
    otsu     OpenCV's Otsu needs 8- or 16-bit input: dog scaled to 0..255 over [min, max]
             (256 bins, as scikit-image), cv2.threshold(THRESH_OTSU); the level is mapped
             back to DoG units for the report
    label    cv2.connectedComponentsWithStats(connectivity=8): area and centroid
    measure  sum of ch1 per label (np.bincount over the foreground; OpenCV has no label sum)

OpenCV places the Otsu bins slightly differently from scikit-image, so its counts may differ
from migrascope's by an object or two on some frames.
Usage: cv2_pipeline.py MOVIE.tif [--frames N] [--threads K]. Prints one JSON line.
"""
import time

import cv2
import numpy as np

from common import Movie, Timer, parse_args, report

STEPS = ['conv', 'blur', 'bg', 'sub', 'otsu', 'label', 'measure']


def main():
    a = parse_args('OpenCV', lambda ap: ap.add_argument(
        '--threads', type=int, default=-1, help='cv2.setNumThreads (-1: OpenCV default)'))
    if a.threads >= 0:
        cv2.setNumThreads(a.threads)
    movie = Movie(a.movie)
    n = movie.frames if a.frames <= 0 else min(a.frames, movie.frames)
    timer, counts, thresholds = Timer(), [], []
    border = cv2.BORDER_REPLICATE
    t0 = time.perf_counter()
    for i in range(n):
        timer.start()
        ch0, ch1 = movie.frame(i)
        timer.lap('read')
        f = ch0.astype(np.float32)
        timer.lap('conv')
        blur = cv2.GaussianBlur(f, (0, 0), 1.5, borderType=border)
        timer.lap('blur')
        bg = cv2.GaussianBlur(f, (0, 0), 20, borderType=border)
        timer.lap('bg')
        dog = cv2.subtract(blur, bg)
        timer.lap('sub')
        lo, hi, _, _ = cv2.minMaxLoc(dog)
        q = cv2.normalize(dog, None, 0, 255, cv2.NORM_MINMAX, cv2.CV_8U)
        level, binary = cv2.threshold(q, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        timer.lap('otsu')
        n_lab, labels, stats, centroids = cv2.connectedComponentsWithStats(
            binary, connectivity=8, ltype=cv2.CV_32S)
        timer.lap('label')
        fg = binary.ravel().astype(bool)
        sums = np.bincount(labels.ravel()[fg], weights=ch1.ravel()[fg], minlength=n_lab)[1:]
        timer.lap('measure')
        counts.append(int(n_lab - 1))
        thresholds.append(lo + (level + 0.5) * (hi - lo) / 255.0)
        del sums, stats, centroids
    wall = time.perf_counter() - t0
    movie.close()
    report('cv2', movie, timer, STEPS, counts, thresholds, dict(opencv=cv2.__version__), wall,
           threads=cv2.getNumThreads(), work_dtype='float32')


if __name__ == '__main__':
    main()
