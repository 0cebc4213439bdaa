#!/usr/bin/env python3
"""Read TIFF files with tifffile and print what it sees, one JSON object per file.

Usage: roundtrip.py FILE [FILE ...]

For each file: tifffile's first series (axes, shape, dtype), the sha256 of its pixels as
little-endian C-order bytes, the pixel size (XResolution/YResolution with the ImageJ `unit`,
ImageJ `spacing`/`finterval`, or OME PhysicalSize*/TimeIncrement), and channel names (ImageJ
slice labels of the first T/Z, or OME Channel names). The Rust test in tests/it/io compares
this with what it wrote. Sticks to tifffile APIs present since 2020 (Debian bookworm ships
2022.x). Any failure exits non-zero: the calling test must fail, never skip.
"""
import hashlib
import json
import sys
import xml.etree.ElementTree as ET

import numpy as np
import tifffile

UM = {'micron': 1.0, 'um': 1.0, '\\u00B5m': 1.0, '\u00b5m': 1.0, 'nm': 1e-3, 'mm': 1e3}


def ome_info(xml):
    root = ET.fromstring(xml)
    ns = {'o': root.tag.split('}')[0][1:]} if root.tag.startswith('{') else {'o': ''}
    px = root.find('o:Image/o:Pixels', ns)
    f = lambda k: float(px.get(k)) if px.get(k) is not None else None
    dt = f('TimeIncrement')
    if dt is not None and px.get('TimeIncrementUnit', 's') == 'ms':
        dt /= 1000.0
    names = [c.get('Name') for c in px.findall('o:Channel', ns)]
    return [f('PhysicalSizeX'), f('PhysicalSizeY'), f('PhysicalSizeZ')], dt, names


def imagej_info(tf, page):
    md = tf.imagej_metadata or {}
    um = UM.get(md.get('unit'))
    size = [None, None, None]
    for i, tag in enumerate(('XResolution', 'YResolution')):
        t = page.tags.get(tag)
        if um is not None and t is not None and t.value[0]:
            size[i] = um * t.value[1] / t.value[0]
    if um is not None and md.get('spacing') is not None:
        size[2] = um * float(md['spacing'])
    dt = float(md['finterval']) if md.get('finterval') is not None else None
    labels = md.get('Labels')
    if isinstance(labels, str):
        labels = [labels]
    c = int(md.get('channels', 1))
    names = [(labels[i] or None) for i in range(c)] if labels else [None] * c
    return size, dt, names


def describe(path):
    with tifffile.TiffFile(path) as tf:
        s = tf.series[0]
        data = s.asarray()
        page = tf.pages[0]
        if tf.is_ome:
            size, dt, names = ome_info(tf.ome_metadata)
        elif tf.is_imagej:
            size, dt, names = imagej_info(tf, page)
        else:
            size, dt, names = [None, None, None], None, []
        return {
            'file': path,
            'axes': s.axes,
            'shape': list(s.shape),
            'dtype': str(data.dtype),
            'bigtiff': bool(tf.is_bigtiff),
            'ome': bool(tf.is_ome),
            'imagej': bool(tf.is_imagej),
            'sha256': hashlib.sha256(np.ascontiguousarray(data, data.dtype.newbyteorder('<')).tobytes()).hexdigest(),
            'pixel_size_um': size,
            'time_increment_s': dt,
            'channels': names,
            'tifffile': tifffile.__version__,
        }


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        print(json.dumps(describe(p)))


if __name__ == '__main__':
    main()
