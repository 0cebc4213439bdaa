#!/usr/bin/python3
"""Builds the seed corpora of the fuzz targets from the repository's own files.

    /usr/bin/python3 fuzz/seed_corpus.py            # writes fuzz/corpus/{open_stack,config}

open_stack (also used by open_stack_file):
  * every TIFF under tests/data and assets up to 64 KiB, as it is;
  * every larger one "shrunk": the same pages and tags (OME-XML, ImageJ description and
    IJMetadata, Micro-Manager tags, resolution, ...) but each page cropped to at most 16x16
    pixels, stored uncompressed, with SizeX/SizeY of the OME-XML edited to match;
  * small generated variants: strips and tiles; none, LZW, Deflate, PackBits, ZSTD (if the
    zstd command is there); horizontal and floating-point predictors; BigTIFF; big-endian;
    8/16/32/64-bit unsigned, signed and float samples; 10- and 12-bit; RGB chunky and planar;
    palette and WhiteIsZero; ImageJ hyperstacks (with channel labels), OME-XML (one and two
    images, TiffData), tifffile "shaped" JSON; a few truncated copies.
config:
  * the parameter file documented in README.md, each of its sections alone, and the same
    followed by NUL-separated `--set` strings (the target's input format).

Needs numpy and tifffile (Debian's python3-numpy, python3-tifffile); the TIFF writing itself is
done here byte by byte, so every tag, type and compression can be chosen.
"""

import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import tifffile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = 64 << 10

# TIFF field types: code -> (struct letter, size)
TYPES = {1: ("B", 1), 2: ("B", 1), 3: ("H", 2), 4: ("I", 4), 5: ("I", 4), 6: ("b", 1),
         7: ("B", 1), 8: ("h", 2), 9: ("i", 4), 10: ("i", 4), 11: ("f", 4), 12: ("d", 8),
         16: ("Q", 8), 17: ("q", 8), 18: ("Q", 8)}


def pack_values(typ, values, bo):
    letter, _ = TYPES[typ]
    if typ in (1, 2, 6, 7) and isinstance(values, (bytes, bytearray)):
        return bytes(values)
    if typ in (5, 10):  # rationals: pairs
        flat = [x for pair in values for x in pair]
        return struct.pack(bo + letter * len(flat), *flat)
    return struct.pack(bo + letter * len(values), *values)


def count_of(typ, values):
    if typ in (5, 10):
        return len(values)
    return len(values)


def write_tiff(pages, bigtiff=False, be=False):
    """pages: list of (tags, chunks, tiled). tags: [(code, type, values)] without the
    offsets / byte counts of the chunks, which are added here."""
    bo = ">" if be else "<"
    out = bytearray(b"MM" if be else b"II")
    if bigtiff:
        out += struct.pack(bo + "HHHQ", 43, 8, 0, 0)
        first_ptr_at = 8
    else:
        out += struct.pack(bo + "HI", 42, 0)
        first_ptr_at = 4
    prev_ptr_at = first_ptr_at
    inline = 8 if bigtiff else 4
    for tags, chunks, tiled in pages:
        offsets = []
        for c in chunks:
            if len(out) % 2:
                out += b"\0"
            offsets.append(len(out))
            out += c
        off_tag, cnt_tag = (324, 325) if tiled else (273, 279)
        t = 16 if bigtiff else 4
        entries = list(tags) + [(off_tag, t, offsets), (cnt_tag, t, [len(c) for c in chunks])]
        entries.sort(key=lambda e: e[0])
        if len(out) % 2:
            out += b"\0"
        ifd_at = len(out)
        struct.pack_into(bo + ("Q" if bigtiff else "I"), out, prev_ptr_at, ifd_at)
        n = len(entries)
        entry_size = 20 if bigtiff else 12
        head = struct.pack(bo + ("Q" if bigtiff else "H"), n)
        table_len = len(head) + n * entry_size + (8 if bigtiff else 4)
        extra_at = ifd_at + table_len
        table = bytearray(head)
        extra = bytearray()
        for code, typ, values in entries:
            data = pack_values(typ, values, bo)
            cnt = count_of(typ, values)
            if len(data) <= inline:
                field = data + b"\0" * (inline - len(data))
            else:
                if (extra_at + len(extra)) % 2:
                    extra += b"\0"
                field = struct.pack(bo + ("Q" if bigtiff else "I"), extra_at + len(extra))
                extra += data
            table += struct.pack(bo + "HH" + ("Q" if bigtiff else "I"), code, typ, cnt) + field
        ptr_at = ifd_at + len(table)
        table += b"\0" * (8 if bigtiff else 4)
        out += table + extra
        prev_ptr_at = ptr_at
    return bytes(out)


# ---- encoders -------------------------------------------------------------------------

def packbits(data):
    out, i, n = bytearray(), 0, len(data)
    while i < n:
        j = i
        while j + 1 < n and data[j + 1] == data[i] and j - i < 127:
            j += 1
        if j > i:
            out += bytes([(257 - (j - i + 1)) & 0xFF, data[i]])
            i = j + 1
        else:
            k = i
            while k < n and k - i < 128 and not (k + 1 < n and data[k + 1] == data[k]):
                k += 1
            k = max(k, i + 1)
            out += bytes([k - i - 1]) + data[i:k]
            i = k
    return bytes(out)


def lzw(data):
    """TIFF LZW: MSB first, 9..12-bit codes with the early code-size switch."""
    out, acc, nacc = bytearray(), 0, 0
    width = 9

    def emit(code):
        nonlocal acc, nacc
        acc = (acc << width) | code
        nacc += width
        while nacc >= 8:
            nacc -= 8
            out.append((acc >> nacc) & 0xFF)

    def reset():
        return {bytes([i]): i for i in range(256)}, 258

    table, nxt = reset()
    emit(256)
    w = b""
    for byte in data:
        wc = w + bytes([byte])
        if wc in table:
            w = wc
            continue
        emit(table[w])
        table[wc] = nxt
        nxt += 1
        # The decoder adds each entry one code later and widens when its table reaches
        # 2^n - 1 (the early switch), so the encoder widens when its own reaches 2^n.
        if nxt == 4094:
            emit(256)
            table, nxt = reset()
            width = 9
        elif nxt >= (1 << width):
            width += 1
        w = bytes([byte])
    if w:
        emit(table[w])
        nxt += 1
        if nxt < 4094 and nxt >= (1 << width):
            width += 1
    emit(257)
    if nacc:
        out.append((acc << (8 - nacc)) & 0xFF)
    return bytes(out)


def zstd(data):
    exe = shutil.which("zstd")
    if not exe:
        return None
    return subprocess.run([exe, "-q", "-c", "-19"], input=data, check=True,
                          capture_output=True).stdout


def compress(code, data):
    if code == 1:
        return data
    if code == 5:
        return lzw(data)
    if code in (8, 32946):
        return zlib.compress(data, 9)
    if code == 32773:
        return packbits(data)
    if code == 50000:
        return zstd(data)
    raise ValueError(code)


# ---- generated variants ---------------------------------------------------------------

def sample_format(dt):
    return {"u": 1, "i": 2, "f": 3}[dt.kind]


def pack_bits_rows(arr, bits):
    """Packs unsigned samples of `bits` each, MSB first, each row padded to a byte."""
    rows = []
    for row in arr.reshape(arr.shape[0], -1):
        s = "".join(format(int(v), "0%db" % bits) for v in row)
        s += "0" * (-len(s) % 8)
        rows.append(int(s, 2).to_bytes(len(s) // 8, "big") if s else b"")
    return rows


def page(arr, compression=1, tile=None, rows_per_strip=None, predictor=1, be=False,
         planar=False, bits=None, photometric=None, extra=(), bigtiff=False):
    """One page of `arr` (Y, X) or (Y, X, S) chunky; planar=True stores S planes."""
    dt = arr.dtype.newbyteorder(">" if be else "<")
    h, w = arr.shape[:2]
    spp = arr.shape[2] if arr.ndim == 3 else 1
    bits = bits or arr.dtype.itemsize * 8
    if photometric is None:
        photometric = 2 if spp == 3 else 1
    tags = [(256, 4, [w]), (257, 4, [h]), (258, 3, [bits] * spp), (259, 3, [compression]),
            (262, 3, [photometric]), (277, 3, [spp]), (339, 3, [sample_format(arr.dtype)] * spp)]
    if spp > 1:
        tags.append((284, 3, [2 if planar else 1]))
    if predictor != 1:
        tags.append((317, 3, [predictor]))
    tags += list(extra)
    planes = [arr[..., s] for s in range(spp)] if planar and spp > 1 else [arr]

    def encode_block(block):
        if bits % 8:
            data = b"".join(pack_bits_rows(block, bits))
        else:
            b = np.ascontiguousarray(block).astype(dt)
            if predictor == 2:
                flat = b.reshape(b.shape[0], -1, spp if not planar else 1).astype(np.int64)
                d = np.diff(flat, axis=1, prepend=0)
                b = (d % (1 << bits)).astype(arr.dtype.newbyteorder("=")).astype(dt)
                b = b.reshape(block.shape)
            data = b.tobytes()
            if predictor == 3:
                # floating-point predictor: each row's bytes regrouped most significant
                # first, then differenced byte by byte
                n = block.dtype.itemsize
                rows = np.ascontiguousarray(block).astype(block.dtype.newbyteorder(">"))
                rows = rows.view(np.uint8).reshape(block.shape[0], -1, n)
                rows = rows.transpose(0, 2, 1).reshape(block.shape[0], -1).astype(np.int64)
                data = (np.diff(rows, axis=1, prepend=0) % 256).astype(np.uint8).tobytes()
        c = compress(compression, data)
        if c is None:
            raise RuntimeError("no encoder")
        return c

    chunks = []
    if tile:
        th, tw = tile
        tags += [(322, 4, [tw]), (323, 4, [th])]
        for p in planes:
            for y in range(0, h, th):
                for x in range(0, w, tw):
                    blk = np.zeros((th, tw) + p.shape[2:], p.dtype)
                    part = p[y:y + th, x:x + tw]
                    blk[:part.shape[0], :part.shape[1]] = part
                    chunks.append(encode_block(blk))
        return tags, chunks, True
    rps = rows_per_strip or h
    tags.append((278, 4, [rps]))
    for p in planes:
        for y in range(0, h, rps):
            chunks.append(encode_block(p[y:y + rps]))
    return tags, chunks, False


def ascii_tag(code, text):
    return (code, 2, text.encode("latin-1", "replace") + b"\0")


def ome_xml(images):
    """images: list of dicts with sizes, order, type, channels, tiffdata list."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
             'UUID="urn:uuid:00000000-0000-0000-0000-000000000001">']
    for i, im in enumerate(images):
        attrs = " ".join('%s="%s"' % kv for kv in im["pixels"].items())
        parts.append('<Image ID="Image:%d" Name="img%d"><Pixels ID="Pixels:%d" %s>' % (i, i, i, attrs))
        for c, name in enumerate(im.get("channels", [])):
            parts.append('<Channel ID="Channel:%d:%d" Name="%s" SamplesPerPixel="1"/>' % (i, c, name))
        for td in im.get("tiffdata", []):
            a = " ".join('%s="%s"' % kv for kv in td.items() if kv[0] != "uuid")
            if "uuid" in td:
                parts.append('<TiffData %s><UUID FileName="seed.ome.tif">%s</UUID></TiffData>'
                             % (a, td["uuid"]))
            else:
                parts.append("<TiffData %s/>" % a)
        parts.append("</Pixels></Image>")
    parts.append("</OME>")
    return "".join(parts)


def ij_labels(labels, be):
    bo = ">" if be else "<"
    data = (b"IJIJ" if be else b"JIJI") + b"labl" + struct.pack(bo + "I", len(labels))
    counts = [len(data)]
    for l in labels:
        enc = l.encode("utf-16-be" if be else "utf-16-le")
        data += enc
        counts.append(len(enc))
    return [(50838, 4, counts), (50839, 1, data)]


def variants():
    rng = np.random.default_rng(7)
    v = {}
    base16 = rng.integers(0, 4000, (12, 20)).astype(np.uint16)
    for code, name in [(1, "none"), (5, "lzw"), (8, "deflate"), (32946, "deflate-old"),
                       (32773, "packbits"), (50000, "zstd")]:
        for layout, kw in [("strips", dict(rows_per_strip=5)), ("tiled", dict(tile=(16, 16)))]:
            try:
                v["u16-%s-%s" % (name, layout)] = write_tiff([page(base16, code, **kw)])
            except RuntimeError:
                pass
    for dt in ["u1", "i1", "u2", "i2", "u4", "i4", "f4", "f8"]:
        a = (rng.random((9, 11)) * 100).astype(dt)
        v["dtype-" + dt] = write_tiff([page(a, 8, rows_per_strip=4)])
        v["dtype-%s-be-bigtiff" % dt] = write_tiff([page(a, 1, be=True)], bigtiff=True, be=True)
    v["u8-hpredict-lzw"] = write_tiff([page(base16.astype(np.uint8), 5, predictor=2)])
    v["u16-hpredict-deflate-tiled"] = write_tiff([page(base16, 8, tile=(16, 16), predictor=2)])
    v["f32-fpredict-deflate"] = write_tiff(
        [page(rng.random((8, 8)).astype(np.float32), 8, predictor=3)])
    for bits in (1, 4, 10, 12, 14):
        a = rng.integers(0, 1 << bits, (7, 9)).astype(np.uint16 if bits > 8 else np.uint8)
        v["u%dbit" % bits] = write_tiff([page(a, 1, bits=bits, rows_per_strip=3)])
        v["u%dbit-lzw-tiled" % bits] = write_tiff([page(a, 5, bits=bits, tile=(16, 16))])
    rgb = rng.integers(0, 255, (10, 13, 3)).astype(np.uint8)
    v["rgb-chunky"] = write_tiff([page(rgb, 8)])
    v["rgb-planar-lzw"] = write_tiff([page(rgb, 5, planar=True, rows_per_strip=4)])
    v["rgb-planar-tiled"] = write_tiff([page(rgb, 1, planar=True, tile=(16, 16))])
    v["rgb16-chunky-packbits"] = write_tiff([page(rgb.astype(np.uint16) * 200, 32773)])
    pal = rng.integers(0, 4, (6, 8)).astype(np.uint8)
    cmap = [(i * 4000) % 65536 for i in range(3 * 256)]
    v["palette"] = write_tiff([page(pal, 1, photometric=3, extra=[(320, 3, cmap)])])
    v["palette-4bit"] = write_tiff([page(pal, 8, bits=4, photometric=3,
                                         extra=[(320, 3, cmap[:48])])])
    v["whiteiszero"] = write_tiff([page(pal, 1, photometric=0)])
    # multi-page: plain, with a thumbnail, with a second page kind
    stack = rng.integers(0, 255, (5, 6, 7)).astype(np.uint8)
    v["plain-5pages"] = write_tiff([page(p, 8) for p in stack])
    v["plain-thumbnail"] = write_tiff([page(stack[0], 1)] +
                                      [page(stack[1, :3, :3], 1, extra=[(254, 4, [1])])])
    v["plain-two-kinds"] = write_tiff([page(stack[0], 1), page(base16, 1), page(stack[1], 1)])
    shaped = '{"shape": [2, 3, 6, 7], "axes": "TCYX"}'
    v["shaped-tcyx"] = write_tiff([page(stack[i % 5], 1, extra=[ascii_tag(270, shaped)] if i == 0 else [])
                                   for i in range(6)])
    v["shaped-rgb"] = write_tiff([page(rgb, 1, extra=[ascii_tag(270, '{"shape": [10, 13, 3]}')])])
    # ImageJ hyperstack: 2 frames, 2 slices, 3 channels, labels, calibration
    for be in (False, True):
        desc = ("ImageJ=1.54f\nimages=12\nchannels=3\nslices=2\nframes=2\nhyperstack=true\n"
                "mode=composite\nunit=\\u00B5m\nspacing=0.5\nfinterval=30\ntunit=sec\nloop=false\n")
        extra = [ascii_tag(270, desc), (282, 5, [(10, 1)]), (283, 5, [(10, 1)])]
        extra += ij_labels(["Hoechst", "WGA", "Tom20"] * 4, be)
        pages = [page(stack[i % 5], 1, be=be, extra=extra if i == 0 else []) for i in range(12)]
        v["imagej-hyperstack" + ("-be" if be else "")] = write_tiff(pages, be=be)
    # ImageJ > 4 GB style: one IFD, more images stored contiguously after it
    big = np.arange(4 * 6 * 7, dtype=np.uint16).reshape(4, 6, 7)
    t, ch, _ = page(big[0], 1, extra=[ascii_tag(270, "ImageJ=1.54f\nimages=4\nslices=4\n")])
    ch = [big.astype("<u2").tobytes()]
    blob = bytearray(write_tiff([(t, ch, False)]))
    # byte count of the strip stays one plane, the data after it holds the other three
    v["imagej-contiguous"] = bytes(blob)
    # OME-XML: one image with TiffData, one without, two images, RGB channels
    for order in ("XYZCT", "XYCZT", "XYTZC"):
        xml = ome_xml([{"pixels": {"DimensionOrder": order, "Type": "uint8", "SizeX": 7, "SizeY": 6,
                                   "SizeZ": 2, "SizeC": 2, "SizeT": 1, "PhysicalSizeX": "0.1",
                                   "PhysicalSizeY": "0.1", "PhysicalSizeZ": "500",
                                   "PhysicalSizeZUnit": "nm", "TimeIncrement": "2",
                                   "TimeIncrementUnit": "min"},
                        "channels": ["DAPI", "WGA"],
                        "tiffdata": [{"IFD": 0, "PlaneCount": 4,
                                      "uuid": "urn:uuid:00000000-0000-0000-0000-000000000001"}]}])
        v["ome-" + order.lower()] = write_tiff(
            [page(stack[i], 1, extra=[ascii_tag(270, xml)] if i == 0 else []) for i in range(4)])
    xml = ome_xml([{"pixels": {"DimensionOrder": "XYZCT", "Type": "uint8", "SizeX": 7, "SizeY": 6,
                               "SizeZ": 1, "SizeC": 1, "SizeT": 2}},
                   {"pixels": {"DimensionOrder": "XYZCT", "Type": "uint8", "SizeX": 7, "SizeY": 6,
                               "SizeZ": 1, "SizeC": 1, "SizeT": 3},
                    "tiffdata": [{"IFD": 2, "FirstT": 0, "PlaneCount": 3}]}])
    v["ome-two-images"] = write_tiff(
        [page(stack[i], 8, extra=[ascii_tag(270, xml)] if i == 0 else []) for i in range(5)],
        bigtiff=True)
    xml = ome_xml([{"pixels": {"DimensionOrder": "XYCZT", "Type": "uint8", "SizeX": 13, "SizeY": 10,
                               "SizeZ": 1, "SizeC": 3, "SizeT": 1},
                    "tiffdata": [{"IFD": 0}]}]).replace('SamplesPerPixel="1"', 'SamplesPerPixel="3"')
    v["ome-rgb"] = write_tiff([page(rgb, 1, extra=[ascii_tag(270, xml)])])
    # truncated copies: header only, mid-IFD, mid-data
    whole = v["u16-deflate-strips"]
    for n in (8, 16, len(whole) // 2, len(whole) - 3):
        v["truncated-%d" % n] = whole[:n]
    return v


# ---- shrinking the repository's larger TIFFs ------------------------------------------

KEEP_DATA_TAGS = {256, 257, 258, 259, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 339}


def shrink(path, size=16):
    """The same pages and metadata tags, each page cropped to size x size, uncompressed."""
    out_pages = []
    with tifffile.TiffFile(path) as tf:
        be = tf.byteorder == ">"
        for p in tf.pages:
            try:
                arr = p.asarray()
            except Exception:
                arr = np.zeros(p.shape, p.dtype)
            spp = p.samplesperpixel
            planar = spp > 1 and p.planarconfig == 2
            if spp > 1 and planar:
                arr = np.moveaxis(arr, 0, -1)
            arr = np.ascontiguousarray(arr[:size, :size])
            h, w = arr.shape[:2]
            extra = []
            for tag in p.tags.values():
                if tag.code in KEEP_DATA_TAGS:
                    continue
                typ = int(tag.dtype)
                if typ in (1, 2, 6, 7):
                    raw = tag.value
                    if isinstance(raw, str):
                        raw = raw.encode("latin-1", "replace") + b"\0"
                    if tag.code == 270 and b"<OME" in raw:
                        raw = re.sub(rb'SizeX="\d+"', b'SizeX="%d"' % w, raw)
                        raw = re.sub(rb'SizeY="\d+"', b'SizeY="%d"' % h, raw)
                    if isinstance(raw, (bytes, bytearray)):
                        extra.append((tag.code, typ, bytes(raw)))
                    continue
                val = tag.value
                if typ in (5, 10):
                    val = [tuple(val[i:i + 2]) for i in range(0, len(val), 2)] \
                        if isinstance(val, tuple) and len(val) % 2 == 0 else None
                elif isinstance(val, (int, float)) or hasattr(val, "real"):
                    val = [val]
                elif isinstance(val, (tuple, list)) or hasattr(val, "__len__"):
                    val = list(val)
                else:
                    val = None
                if val is None or typ not in TYPES:
                    continue
                try:
                    pack_values(typ, val, ">")
                except Exception:
                    continue
                extra.append((tag.code, typ, val))
            bits = p.bitspersample
            bits = bits if bits in (8, 16, 32, 64) else arr.dtype.itemsize * 8
            out_pages.append(page(arr, 1, be=be, planar=planar, bits=bits,
                                  photometric=int(p.photometric), extra=extra))
        return write_tiff(out_pages, bigtiff=tf.is_bigtiff, be=be)


def repo_tiffs():
    for base in ("tests/data", "assets"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, base)):
            for f in sorted(files):
                if re.search(r"\.tiff?$", f, re.I):
                    yield os.path.join(dirpath, f)


def put(dirname, name, data):
    h = hashlib.sha1(data).hexdigest()[:12]
    with open(os.path.join(dirname, "%s-%s" % (name, h)), "wb") as fh:
        fh.write(data)


def config_seeds():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    m = re.search(r"#### Parameters.*?```toml\n(.*?)```", readme, re.S)
    full = m.group(1) if m else ""
    seeds = {"readme": full, "empty": ""}
    for sec in re.split(r"\n(?=\[)", full):
        name = re.match(r"\[(\w+)\]", sec)
        if name:
            seeds["section-" + name.group(1)] = sec
    sets = ["migrasomes.diameter_max_um=2.5", "cells.nucleus_threshold=li",
            "fibers.threshold=noise:2", "migrasomes.split=false",
            "migrasomes.background_sigma_um=4", "cargo.k=2.5e0", "cells.body_threshold=120"]
    seeds["sets-only"] = "\0" + "\0".join(sets)
    seeds["readme-sets"] = full + "\0" + "\0".join(sets[:3])
    seeds["channels-indices"] = "[channels]\nnuclei = 0\nmigrasomes = 1\ncargo = [2]\n"
    seeds["channels-none"] = '[channels]\nnuclei = "none"\nmigrasomes = "WGA"\n'
    seeds["inline-tables"] = ('cells = { nucleus_threshold = "yen", max_distance_um = 4e1 }\n'
                              'migrasomes.threshold = "noise:4.5"\n')
    return seeds


def main():
    out = os.path.join(ROOT, "fuzz", "corpus")
    stack_dir = os.path.join(out, "open_stack")
    cfg_dir = os.path.join(out, "config")
    for d in (stack_dir, cfg_dir):
        os.makedirs(d, exist_ok=True)
    n = 0
    for path in repo_tiffs():
        name = os.path.basename(path)
        if os.path.getsize(path) <= SMALL:
            put(stack_dir, name, open(path, "rb").read())
        else:
            put(stack_dir, "shrunk-" + name, shrink(path))
        n += 1
    for name, data in variants().items():
        put(stack_dir, name, data)
        n += 1
    for name, text in config_seeds().items():
        put(cfg_dir, name, text.encode("utf-8"))
    total = sum(os.path.getsize(os.path.join(stack_dir, f)) for f in os.listdir(stack_dir))
    print("%s: %d files, %d KiB" % (stack_dir, len(os.listdir(stack_dir)), total >> 10))
    print("%s: %d files" % (cfg_dir, len(os.listdir(cfg_dir))))


if __name__ == "__main__":
    sys.exit(main())
