#!/usr/bin/env python3
"""The `migrascope bench` pipeline with scikit-image and SciPy (one thread), per frame:

    read     channel 0 (membrane) and channel 1 (cargo) of the frame, tifffile
    blur     skimage.filters.gaussian(ch0, 1.5, preserve_range=True)      float64, edge 'nearest'
    bg       skimage.filters.gaussian(ch0, 20, preserve_range=True)
    sub      dog = blur - bg
    otsu     skimage.filters.threshold_otsu(dog)                           256 bins over [min, max]
    binar    dog > threshold
    label    skimage.measure.label(binary, connectivity=2)                8-connected
    measure  regionprops_table(labels, ch1): area, centroid, sum of ch1

Usage: skimage_pipeline.py MOVIE.tif [--frames N]. Prints one JSON line (see common.py).
"""
import time

import numpy as np
import scipy
import skimage
from skimage import filters, measure

from common import Movie, Timer, parse_args, report

STEPS = ['blur', 'bg', 'sub', 'otsu', 'binar', 'label', 'measure']


def main():
    a = parse_args('scikit-image')
    movie = Movie(a.movie)
    n = movie.frames if a.frames <= 0 else min(a.frames, movie.frames)
    timer, counts, thresholds = Timer(), [], []
    t0 = time.perf_counter()
    for i in range(n):
        timer.start()
        ch0, ch1 = movie.frame(i)
        timer.lap('read')
        blur = filters.gaussian(ch0, sigma=1.5, preserve_range=True)
        timer.lap('blur')
        bg = filters.gaussian(ch0, sigma=20, preserve_range=True)
        timer.lap('bg')
        dog = blur - bg
        timer.lap('sub')
        thr = filters.threshold_otsu(dog)
        timer.lap('otsu')
        binary = dog > thr
        timer.lap('binar')
        labels = measure.label(binary, connectivity=2)
        timer.lap('label')
        props = measure.regionprops_table(labels, intensity_image=ch1,
                                          properties=('label', 'area', 'centroid',
                                                      'intensity_mean'))
        sums = props['area'] * props['intensity_mean']
        timer.lap('measure')
        counts.append(int(len(props['label'])))
        thresholds.append(thr)
        del sums
    wall = time.perf_counter() - t0
    movie.close()
    report('skimage', movie, timer, STEPS, counts, thresholds,
           dict(scipy=scipy.__version__, skimage=skimage.__version__), wall,
           threads=1, work_dtype='float64')


if __name__ == '__main__':
    main()
