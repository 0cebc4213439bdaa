#!/usr/bin/env python3
"""tifffile's single-thread decode throughput on the gen_movie.py files, for BENCHMARKS.md.

Usage: bench_tifffile.py MOVIE_DIR [--repeat 5]
Prints, per flavour, the best of N full reads (tifffile.imread, maxworkers=1) in MB/s of
decoded pixels (1 MB = 1e6 bytes), the unit `cargo bench --bench decode` reports.
"""
import argparse
import os
import time

import tifffile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('movie_dir')
    ap.add_argument('--repeat', type=int, default=5)
    a = ap.parse_args()
    print(f'tifffile {tifffile.__version__}')
    for flavour in ('raw', 'lzw', 'zlib'):
        path = os.path.join(a.movie_dir, f'movie_{flavour}.tif')
        best = float('inf')
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            data = tifffile.imread(path, maxworkers=1)
            best = min(best, time.perf_counter() - t0)
        print(f'{flavour:5s} {data.nbytes / best / 1e6:8.0f} MB/s  ({data.nbytes} bytes, best of {a.repeat}: {best:.3f} s)')


if __name__ == '__main__':
    main()
