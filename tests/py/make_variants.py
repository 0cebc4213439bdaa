#!/usr/bin/env python3
"""Write TIFF variants with tifffile and print, per file, what tifffile reads back.

Usage: make_variants.py OUTDIR

One JSON line per file: {"file", "series": [{"axes", "shape", "dtype", "sha256"}, ...]} with
the sha256 of each series' pixels as little-endian C-order bytes. The Rust test in
tests/it/io/variants.rs reads every file with migrascope and compares. Only encoders that
tifffile has without imagecodecs are used (Debian bookworm's python3-tifffile has none), so
the set is the same on every machine: uncompressed, zlib (+ horizontal predictor), tiles,
strips, planar/chunky RGB, both byte orders, BigTIFF, ImageJ (hyperstack, RGB, truncated),
OME (two images), tifffile "shaped" with axes, palette and WhiteIsZero pages.
"""
import hashlib
import json
import os
import sys

import numpy as np
import tifffile


def rng_array(shape, dtype, seed):
    r = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == 'f':
        return (r.standard_normal(shape) * 1000).astype(dt)
    info = np.iinfo(dt)
    return r.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)


def variants(out):
    p = lambda n: os.path.join(out, n)
    w = tifffile.imwrite
    w(p('rgb_chunky_u8.tif'), rng_array((32, 40, 3), 'u1', 1), photometric='rgb')
    w(p('rgb_planar_u16.tif'), rng_array((3, 32, 40), 'u2', 2), photometric='rgb', planarconfig='separate')
    w(p('rgb_planar_tiled_zlib.tif'), rng_array((3, 37, 53), 'u2', 3), photometric='rgb',
      planarconfig='separate', tile=(16, 16), compression='zlib')
    w(p('tiled_zlib_predictor_u16.tif'), rng_array((3, 50, 70), 'u2', 4) // 64, tile=(16, 16),
      compression='zlib', predictor=True)
    w(p('strips_zlib_predictor_i16.tif'), rng_array((2, 45, 33), 'i2', 5) // 64, rowsperstrip=7,
      compression='zlib', predictor=True)
    w(p('bigendian_i32.tif'), rng_array((4, 20, 30), 'i4', 6), byteorder='>')
    w(p('bigendian_f32_zlib.tif'), rng_array((2, 20, 30), 'f4', 7), byteorder='>', compression='zlib')
    w(p('bigtiff_f64.tif'), rng_array((2, 20, 30), 'f8', 8), bigtiff=True)
    w(p('bigtiff_tiled_u32.tif'), rng_array((2, 40, 40), 'u4', 9), bigtiff=True, tile=(32, 32))
    w(p('int8_minisblack.tif'), rng_array((3, 11, 13), 'i1', 10))
    w(p('imagej_tzcyx.tif'), rng_array((3, 2, 2, 24, 20), 'u2', 11), imagej=True,
      resolution=(1 / 0.25, 1 / 0.25),
      metadata={'axes': 'TZCYX', 'spacing': 1.5, 'unit': 'um', 'finterval': 0.5,
                'Labels': ['a', 'b'] * 6})
    w(p('imagej_rgb.tif'), rng_array((2, 24, 20, 3), 'u1', 12), imagej=True, photometric='rgb',
      metadata={'axes': 'ZYXS'})
    w(p('imagej_truncated.tif'), rng_array((5, 24, 20), 'u2', 13), imagej=True, truncate=True,
      metadata={'axes': 'TYX'})
    w(p('imagej_f32_zlib.tif'), rng_array((4, 16, 16), 'f4', 14), imagej=True, compression='zlib',
      metadata={'axes': 'ZYX'})
    w(p('shaped_tcyx.tif'), rng_array((2, 3, 20, 30), 'u2', 15), metadata={'axes': 'TCYX'})
    # Pages the tiff crate does not expand (our raw path): palette, WhiteIsZero.
    cmap = np.stack([np.arange(256, dtype='u2') * 257] * 3)
    w(p('palette_zlib_predictor.tif'), rng_array((3, 33, 47), 'u1', 18), photometric='palette',
      colormap=cmap, compression='zlib', predictor=True, rowsperstrip=5, metadata=None)
    w(p('palette_tiled.tif'), rng_array((40, 36), 'u1', 19), photometric='palette', colormap=cmap,
      tile=(16, 16))
    w(p('miniswhite_u16.tif'), rng_array((2, 20, 30), 'u2', 20), photometric='miniswhite')
    with tifffile.TiffWriter(p('ome_two_images.ome.tif')) as tw:
        tw.write(rng_array((2, 3, 20, 30), 'u2', 16), metadata={'axes': 'CZYX', 'PhysicalSizeX': 0.5})
        tw.write(rng_array((4, 25, 15), 'u1', 17), metadata={'axes': 'TYX'})


def describe(path):
    with tifffile.TiffFile(path) as tf:
        out = []
        for s in tf.series:
            a = s.asarray()
            digest = hashlib.sha256(np.ascontiguousarray(a, a.dtype.newbyteorder('<')).tobytes())
            out.append({'axes': s.axes, 'shape': list(s.shape), 'dtype': str(a.dtype),
                        'sha256': digest.hexdigest()})
        return {'file': path, 'series': out}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    os.makedirs(sys.argv[1], exist_ok=True)
    variants(sys.argv[1])
    for name in sorted(os.listdir(sys.argv[1])):
        print(json.dumps(describe(os.path.join(sys.argv[1], name))))


if __name__ == '__main__':
    main()
