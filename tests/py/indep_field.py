#!/usr/bin/env python3
"""Independent synthetic WGA / Hoechst / Tom20 field generator for migrascope.

Written from scratch, deliberately WITHOUT looking at the project's own Rust
generator (src/synth/), so that the detector can be judged on images made by a
different hand.  Needs only numpy and tifffile (no scipy).

Usage (use /usr/bin/python3, which has numpy + tifffile; put OUTDIR first):
    python3 tests/py/indep_field.py OUTDIR --seed N [knobs...]

Writes OUTDIR/<name>.ome.tif (uint16, CYX: Hoechst, WGA, Tom20),
truth_migrasomes.csv, truth_cells.csv, truth_bodies.tif, truth.json
(and preview.png with --preview).  See tests/py/README_indep.md.

Knob logic: no feature flag -> full realism.  --plain -> every feature off.
Any feature flag given without --realism -> plain + only those features.
--realism --no-X -> everything but X.  A feature flag without a value samples
its realistic range; with a value it fixes the level (meaning per flag below).
"""
import argparse
import json
import math
import os
import struct
import sys
import zlib

import numpy as np
import tifffile

STREAMS = ["body", "texture", "rim", "golgi", "puncta", "filopodia", "ruffles", "illumination",
           "haze", "debris", "hoechst", "tom20", "noise"]

FEATURES = {
    # name: (help, realistic default range used when flag has no value)
    "texture": "internal body texture; value = multiplicative amplitude (auto 0.2-0.35)",
    "rim": "bright plasma-membrane rim; value = max rim/interior factor (auto 1.3-2.0 per cell)",
    "golgi": "bright perinuclear Golgi cluster; value = peak / max(A, body) (auto 1.0-1.6)",
    "puncta": "endocytic puncta 0.5-2 um inside bodies, 0.6-1.4 A; value = mean count per cell (auto 8-25)",
    "filopodia": "thin protrusions 1-10 um with bright tips; value = mean count per cell (auto 6-20)",
    "ruffles": "bright lamellipodial bands outside the body edge; value = brightness / interior (auto 1.4-2.5)",
    "touching": "pairs of bodies in contact; value = number of pairs (auto 1)",
    "border": "cells cut by the image border; value = number of such cells (auto 1)",
    "illumination": "smooth uneven illumination; value = +- amplitude (auto 0.2)",
    "haze": "out-of-focus blurred copy of bodies; value = factor (auto 0.2-0.4)",
    "debris": "dim irregular extracellular blobs 1-5 um, 0.2-0.4 A; value = mean count per field (auto 12)",
}


# ----------------------------------------------------------------------------
# small numeric helpers
# ----------------------------------------------------------------------------
def erf(x):
    """Abramowitz-Stegun 7.1.26, |err| < 1.5e-7, vectorised."""
    x = np.asarray(x, dtype=np.float64)
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t
                - 0.284496736) * t + 0.254829592) * t * np.exp(-a * a)
    return s * y


def wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def fft_blur(img, sigma_px, pad=True):
    """Gaussian blur via FFT (reflect padding against wrap-around)."""
    if sigma_px <= 0:
        return img.copy()
    p = int(min(max(8, math.ceil(3 * sigma_px)), min(img.shape) - 1)) if pad else 0
    work = np.pad(img, p, mode="reflect") if p else img
    H, W = work.shape
    fy = np.fft.fftfreq(H)[:, None]
    fx = np.fft.rfftfreq(W)[None, :]
    tf = np.exp(-2.0 * (np.pi ** 2) * (sigma_px ** 2) * (fx ** 2 + fy ** 2))
    out = np.fft.irfft2(np.fft.rfft2(work) * tf, s=work.shape)
    if p:
        out = out[p:-p, p:-p]
    return out.astype(np.float32)


def smooth_noise(rng, shape, sigma_px):
    n = rng.standard_normal(shape).astype(np.float32)
    b = fft_blur(n, sigma_px, pad=False)
    b -= b.mean()
    sd = b.std()
    return b / (sd if sd > 0 else 1.0)


def gauss_matrix(n, sigma):
    """n x n convolution matrix for a 1-D Gaussian of sigma (in samples)."""
    i = np.arange(n)
    g = np.exp(-0.5 * ((i[:, None] - i[None, :]) / sigma) ** 2)
    g /= g.sum(axis=1, keepdims=True)
    return g


def write_png_gray(path, img8):
    h, w = img8.shape
    raw = b"".join(b"\x00" + img8[r].tobytes() for r in range(h))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(chunk(b"IEND", b""))


# ----------------------------------------------------------------------------
# geometry
# ----------------------------------------------------------------------------
class Cell:
    """Star-convex body: r(theta) = R0 (1 + sum_k a_k cos(k theta - phi_k))."""

    def __init__(self, rng, R0):
        self.R0 = R0
        ks = np.arange(2, 15)
        amps = np.zeros(len(ks))
        amps[0] = rng.uniform(0.05, 0.35)            # elongation (fibroblast-like)
        amps[1] = rng.uniform(0.0, 0.12)
        for j, k in enumerate(ks[2:6], start=2):     # k = 4..7
            amps[j] = rng.uniform(0.0, 0.08 / math.sqrt(k - 3))
        amps[6:] = rng.uniform(0.0, 0.015, size=len(ks) - 6)   # rough membrane
        self.k = ks.astype(np.float64)
        self.a = amps
        self.phi = rng.uniform(0, 2 * np.pi, size=len(ks))
        th = np.linspace(0, 2 * np.pi, 720, endpoint=False)
        for _ in range(40):
            r = self.r(th)
            if r.min() >= 0.55 * R0 and r.max() <= 1.5 * R0:
                break
            self.a *= 0.9
        self.cx = 0.0
        self.cy = 0.0

    def r(self, th):
        th = np.asarray(th, dtype=np.float64)
        return self.R0 * (1.0 + np.tensordot(self.a, np.cos(np.multiply.outer(self.k, th)
                                                            - self.phi.reshape((-1,) + (1,) * th.ndim)), axes=1))

    def dr(self, th):
        th = np.asarray(th, dtype=np.float64)
        return self.R0 * np.tensordot(-self.a * self.k, np.sin(np.multiply.outer(self.k, th)
                                                                - self.phi.reshape((-1,) + (1,) * th.ndim)), axes=1)

    def rmax(self):
        return float(self.r(np.linspace(0, 2 * np.pi, 720, endpoint=False)).max())

    def q(self, x, y):
        dx = np.asarray(x) - self.cx
        dy = np.asarray(y) - self.cy
        return np.hypot(dx, dy) / self.r(np.arctan2(dy, dx))

    def depth(self, x, y):
        """radial signed distance to the edge (um, >0 inside)"""
        dx = np.asarray(x) - self.cx
        dy = np.asarray(y) - self.cy
        return self.r(np.arctan2(dy, dx)) - np.hypot(dx, dy)

    @property
    def nuc(self):
        return (self.cx + self.nox, self.cy + self.noy)


def fit_nucleus(rng, cell):
    """Nucleus ellipse (10-16 um long) inside the body with >= 2 um margin."""
    a = rng.uniform(5.0, 8.0)
    b = a * rng.uniform(0.6, 0.85)
    alpha = cell.phi[0] / 2.0 + rng.normal(0, math.radians(15))
    off = rng.uniform(0, 0.12 * cell.R0)
    oth = rng.uniform(0, 2 * np.pi)
    t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    for it in range(60):
        ox, oy = off * math.cos(oth), off * math.sin(oth)
        ex = ox + (a + 2) * np.cos(t) * math.cos(alpha) - (b + 2) * np.sin(t) * math.sin(alpha)
        ey = oy + (a + 2) * np.cos(t) * math.sin(alpha) + (b + 2) * np.sin(t) * math.cos(alpha)
        if np.all(np.hypot(ex, ey) < cell.r(np.arctan2(ey, ex))):
            break
        if it < 8:
            cell.a *= 0.85
            off *= 0.7
        elif a > 5.0:
            a *= 0.96
            b *= 0.96
        else:
            cell.R0 *= 1.04
    cell.na, cell.nb, cell.nalpha = a, b, alpha
    cell.nox, cell.noy = off * math.cos(oth), off * math.sin(oth)


def seg_dist(px, py, x0, y0, x1, y1):
    vx, vy = x1 - x0, y1 - y0
    L2 = np.maximum(vx * vx + vy * vy, 1e-12)
    t = np.clip(((px - x0) * vx + (py - y0) * vy) / L2, 0.0, 1.0)
    return np.hypot(px - (x0 + t * vx), py - (y0 + t * vy))


# ----------------------------------------------------------------------------
# the generator
# ----------------------------------------------------------------------------
class Field:
    def __init__(self, args, feat, rng):
        self.args = args
        self.feat = feat
        self.rng = rng          # geometry stream (cells, fibers, migrasomes)
        self._streams = {}
        self.p = args.pixel
        self.W, self.H = args.size
        self.psf = args.psf_sigma
        self.sig_t = math.sqrt(self.psf ** 2 + self.p ** 2 / 12.0)   # PSF + pixel box
        noise_sd_e = math.sqrt(args.bg_photons + args.read_noise ** 2)
        self.sd_e = noise_sd_e
        self.A = args.snr * noise_sd_e          # migrasome peak, electrons above background
        H, W = self.H, self.W
        self.body_c = np.zeros((H, W), np.float32)    # sharp, blurred globally later
        self.max_c = np.zeros((H, W), np.float32)     # already blurred, max-composited
        self.add_c = np.zeros((H, W), np.float32)     # already blurred, additive
        self.tom_sharp = np.zeros((H, W), np.float32)
        self.tom_c = np.zeros((H, W), np.float32)
        self.hoe_c = np.zeros((H, W), np.float32)
        self.occ_body = np.zeros((H, W), bool)        # bodies + ruffles
        self.occ_all = np.zeros((H, W), bool)         # + filopodia + tips
        self.log = {}

    def S(self, name):
        """Independent random stream per phenomenon, so that switching one knob
        leaves the others (and, where possible, the geometry) unchanged."""
        if name not in self._streams:
            idx = STREAMS.index(name) + 1
            self._streams[name] = np.random.default_rng([self.args.seed, idx])
        return self._streams[name]

    # -- windows -------------------------------------------------------------
    def window(self, x0, x1, y0, y1):
        c0 = max(0, int(math.floor(x0 / self.p)))
        c1 = min(self.W - 1, int(math.ceil(x1 / self.p)))
        r0 = max(0, int(math.floor(y0 / self.p)))
        r1 = min(self.H - 1, int(math.ceil(y1 / self.p)))
        if c1 < c0 or r1 < r0:
            return None
        xs = np.arange(c0, c1 + 1) * self.p
        ys = np.arange(r0, r1 + 1) * self.p
        return r0, r1 + 1, c0, c1 + 1, xs[None, :], ys[:, None]

    def render_small(self, shape_fn, cx, cy, ext, ss=3):
        """Supersampled (ss x ss), PSF-blurred, pixel-binned local rendering.
        shape_fn(dx, dy) in um relative to (cx, cy). Returns (slices, img)."""
        m = ext + 4 * self.psf + self.p
        c0 = int(math.floor((cx - m) / self.p))
        c1 = int(math.ceil((cx + m) / self.p))
        r0 = int(math.floor((cy - m) / self.p))
        r1 = int(math.ceil((cy + m) / self.p))
        nc, nr = c1 - c0 + 1, r1 - r0 + 1
        sub = (np.arange(ss) - (ss - 1) / 2.0) / ss
        xs = ((np.arange(c0, c1 + 1)[:, None] + sub[None, :]).ravel()) * self.p
        ys = ((np.arange(r0, r1 + 1)[:, None] + sub[None, :]).ravel()) * self.p
        img = shape_fn(xs[None, :] - cx, ys[:, None] - cy).astype(np.float64)
        sg = self.psf / (self.p / ss)
        img = gauss_matrix(nr * ss, sg) @ img @ gauss_matrix(nc * ss, sg).T
        img = img.reshape(nr, ss, nc, ss).mean(axis=(1, 3))
        # clip to the image
        rr0, cc0 = max(0, r0), max(0, c0)
        rr1, cc1 = min(self.H, r1 + 1), min(self.W, c1 + 1)
        if rr1 <= rr0 or cc1 <= cc0:
            return None, img
        sl = (slice(rr0, rr1), slice(cc0, cc1))
        return sl, img[rr0 - r0:rr1 - r0, cc0 - c0:cc1 - c0]

    def put_small(self, canvas, shape_fn, cx, cy, ext, peak, mode="max", occ=None):
        sl, img = self.render_small(shape_fn, cx, cy, ext)
        mx = img.max()
        if mx <= 0:
            return
        img = img * (peak / mx)
        if sl is None:
            return
        if mode == "max":
            np.maximum(canvas[sl], img.astype(np.float32), out=canvas[sl])
        else:
            canvas[sl] += img.astype(np.float32)
        if occ is not None:
            occ[sl] |= img > 0.1 * peak

    def put_segment(self, canvas, x0, y0, x1, y1, w, level, occ=None, mode="max"):
        """Analytic line of width w (box) blurred by PSF+pixel; peak = level."""
        s = self.sig_t
        m = w / 2 + 4 * s
        win = self.window(min(x0, x1) - m, max(x0, x1) + m, min(y0, y1) - m, max(y0, y1) + m)
        if win is None:
            return
        r0, r1, c0, c1, X, Y = win
        d = seg_dist(X, Y, x0, y0, x1, y1)
        k = math.sqrt(2) * s
        g = 0.5 * (erf((d + w / 2) / k) - erf((d - w / 2) / k)) / erf(w / 2 / k)
        v = (level * g).astype(np.float32)
        if mode == "max":
            np.maximum(canvas[r0:r1, c0:c1], v, out=canvas[r0:r1, c0:c1])
        else:
            canvas[r0:r1, c0:c1] += v
        if occ is not None:
            occ[r0:r1, c0:c1] |= g > 0.1

    # -- cells ---------------------------------------------------------------
    def in_image_um(self, x, y, margin=0.0):
        return (x >= margin) & (y >= margin) & (x <= (self.W - 1) * self.p - margin) & \
               (y <= (self.H - 1) * self.p - margin)

    def make_cells(self):
        a, rng, feat = self.args, self.rng, self.feat
        n = a.cells if a.cells else int(rng.integers(3, 6))
        n_pairs = min(feat["touching"], n // 2) if feat["touching"] is not None else 0
        n_border = min(feat["border"], n - 2 * n_pairs) if feat["border"] is not None else 0
        roles = ["pair"] * (2 * n_pairs) + ["border"] * n_border + ["free"] * (n - 2 * n_pairs - n_border)
        Wum, Hum = (self.W - 1) * self.p, (self.H - 1) * self.p
        rlo, rhi = a.radius
        for shrink in range(30):
            cells = []
            for i in range(n):
                c = Cell(rng, rng.uniform(rlo, rhi))
                fit_nucleus(rng, c)
                c.role = roles[i]
                cells.append(c)
            ok = True
            placed = []
            for i, c in enumerate(cells):
                success = False
                c.want_nuc_inside = bool(rng.random() < 0.5)
                for attempt in range(400):
                    rm = c.rmax()
                    if c.role == "border":
                        side = int(rng.integers(4))
                        inside = c.want_nuc_inside or attempt >= 250
                        nd = c.na + 1.5
                        if inside:
                            d = rng.uniform(nd, max(nd, 0.8 * c.R0))
                        else:
                            d = -rng.uniform(nd, max(nd, 0.55 * c.R0))
                        span = Wum if side in (0, 1) else Hum
                        t = rng.uniform(0.15 * span, 0.85 * span)
                        # nucleus centre sits at distance d from the edge
                        if side == 0:
                            nx, ny = t, d
                        elif side == 1:
                            nx, ny = t, Hum - d
                        elif side == 2:
                            nx, ny = d, t
                        else:
                            nx, ny = Wum - d, t
                        c.cx, c.cy = nx - c.nox, ny - c.noy
                        c.nuc_inside = bool(self.in_image_um(*c.nuc))
                        # enough body inside the image?
                        th = np.linspace(0, 2 * np.pi, 64, endpoint=False)
                        fr = np.sqrt(np.linspace(0.03, 0.97, 8))   # area-weighted
                        px = c.cx + np.outer(fr, c.r(th) * np.cos(th))
                        py = c.cy + np.outer(fr, c.r(th) * np.sin(th))
                        if self.in_image_um(px, py).mean() < 0.15:
                            continue
                    elif c.role == "pair" and i % 2 == 1:
                        mate = cells[i - 1]
                        phi = rng.uniform(0, 2 * np.pi)
                        c.cx, c.cy = self.touch_position(mate, c, phi, rng.uniform(0.5, 2.0))
                        if not self.body_inside(c, 2.0):
                            continue
                    else:
                        if Wum < 2 * rm + 4 or Hum < 2 * rm + 4:
                            break
                        c.cx = rng.uniform(rm + 2, Wum - rm - 2)
                        c.cy = rng.uniform(rm + 2, Hum - rm - 2)
                        if not self.body_inside(c, 2.0):
                            continue
                    good = True
                    for j in placed:
                        o = cells[j]
                        if c.role == "pair" and i % 2 == 1 and j == i - 1:
                            continue
                        dist = math.hypot(c.cx - o.cx, c.cy - o.cy)
                        if dist < rm + o.rmax() + 6.0:
                            good = False
                            break
                    if good:
                        success = True
                        break
                if not success:
                    ok = False
                    break
                placed.append(i)
            if ok:
                self.log["radius_range_used"] = [rlo, rhi]
                self.cells = cells
                return
            rhi = max(rlo, rhi * 0.9)
            if rhi <= rlo + 0.5:
                rlo = max(8.0, rlo * 0.92)
        raise RuntimeError("could not place cells; try a larger --size or fewer --cells")

    def body_inside(self, c, margin):
        th = np.linspace(0, 2 * np.pi, 180, endpoint=False)
        r = c.r(th)
        return bool(np.all(self.in_image_um(c.cx + r * np.cos(th), c.cy + r * np.sin(th), margin)))

    def touch_position(self, a, b, phi, depth):
        """Centre of b along direction phi from a so that bodies overlap by ~depth um."""
        th = np.linspace(0, 2 * np.pi, 180, endpoint=False)

        def pen(d):
            b.cx, b.cy = a.cx + d * math.cos(phi), a.cy + d * math.sin(phi)
            rb = b.r(th)
            bx, by = b.cx + rb * np.cos(th), b.cy + rb * np.sin(th)
            ra = a.r(th)
            ax_, ay_ = a.cx + ra * np.cos(th), a.cy + ra * np.sin(th)
            return max(a.depth(bx, by).max(), b.depth(ax_, ay_).max())

        lo, hi = 0.0, a.rmax() + b.rmax() + 1.0
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            if pen(mid) > depth:
                lo = mid
            else:
                hi = mid
        pen(hi)
        return b.cx, b.cy

    # -- nearest-nucleus rule ----------------------------------------------------
    def nuc_ok(self, x, y, ci, margin=2.0, dmax=45.0):
        nx, ny = self.nucs[:, 0], self.nucs[:, 1]
        d = np.hypot(nx - x, ny - y)
        own = d[ci]
        if own > dmax:
            return False
        others = np.delete(d, ci)
        return bool(others.size == 0 or own + margin <= others.min())

    def choose_rear(self, ci):
        c = self.cells[ci]
        phis = np.linspace(0, 2 * np.pi, 36, endpoint=False)
        free = np.zeros(36)
        for k, ph in enumerate(phis):
            r = float(c.r(ph))
            cnt = 0
            for step in range(1, 46):
                x = c.cx + (r + step) * math.cos(ph)
                y = c.cy + (r + step) * math.sin(ph)
                if not self.in_image_um(x, y, 1.0) or not self.nuc_ok(x, y, ci, 2.5, 44.0):
                    break
                if any(o.q(x, y) < 1.0 for o in self.cells):
                    break
                cnt += 1
            free[k] = cnt
        sm = sum(np.roll(free, s) for s in (-2, -1, 0, 1, 2)) / 5.0
        w = np.exp((sm - sm.max()) / 3.0)
        k = self.rng.choice(36, p=w / w.sum())
        return float(phis[k] + self.rng.normal(0, math.radians(4))), float(sm[k])

    # -- bodies, ruffles ---------------------------------------------------------
    def render_bodies(self):
        f, rng = self.feat, self.rng
        H, W = self.H, self.W
        q1 = np.full((H, W), np.inf, np.float32)
        q2 = np.full((H, W), np.inf, np.float32)
        lab = np.zeros((H, W), np.uint16)
        wins = []
        for i, c in enumerate(self.cells):
            m = c.rmax() + 3.0
            win = self.window(c.cx - m, c.cx + m, c.cy - m, c.cy + m)
            wins.append(win)
            if win is None:
                continue
            r0, r1, c0, c1, X, Y = win
            q = c.q(X, Y).astype(np.float32)
            b1 = q1[r0:r1, c0:c1]
            b2 = q2[r0:r1, c0:c1]
            L = lab[r0:r1, c0:c1]
            better = q < b1
            b2[...] = np.where(better, b1, np.minimum(b2, q))
            inside_better = better & (q < 1.0)
            L[inside_better] = i + 1
            b1[...] = np.where(better, q, b1)
        self.labels = lab
        self.occ_body |= lab > 0
        tex = None
        if f["texture"] is not None:
            tr = self.S("texture")
            amp = f["texture"] if f["texture"] != "auto" else tr.uniform(0.2, 0.35)
            self.log["texture_amp"] = amp
            n1 = smooth_noise(tr, (H, W), 0.3 / self.p)
            n2 = smooth_noise(tr, (H, W), 1.5 / self.p)
            tex = np.clip(1.0 + amp * (0.55 * n1 + 0.85 * n2), 0.25, 3.0).astype(np.float32)
            self.tex = tex
        for i, c in enumerate(self.cells):
            win = wins[i]
            if win is None:
                continue
            r0, r1, c0, c1, X, Y = win
            dx, dy = X - c.cx, Y - c.cy
            rho = np.hypot(dx, dy)
            th = np.arctan2(dy, dx)
            rr = c.r(th)
            s = rr - rho
            q = rho / rr
            L = lab[r0:r1, c0:c1]
            own = (L == i + 1) | (L == 0)
            cov = np.clip(s / self.p + 0.5, 0.0, 1.0)
            val = np.full(s.shape, c.level, np.float64)
            if tex is not None:
                val *= tex[r0:r1, c0:c1]
                # thicker (brighter) around the nucleus, thin periphery
                val *= 0.8 + 0.4 * np.clip(1.0 - q, 0, 1)
                # nucleus region slightly dimmer, faint nuclear envelope
                nx, ny = c.nuc
                u = (X - nx) * math.cos(c.nalpha) + (Y - ny) * math.sin(c.nalpha)
                v = -(X - nx) * math.sin(c.nalpha) + (Y - ny) * math.cos(c.nalpha)
                qn = np.hypot(u / c.na, v / c.nb)
                val *= np.where(qn < 1.0, 0.85, 1.0) + 0.25 * np.exp(-0.5 * ((qn - 1.0) * c.nb / 0.3) ** 2)
            if c.rim_f > 1.0:
                s_eff = s
                qq2 = q2[r0:r1, c0:c1]
                finite = np.isfinite(qq2) & (L == i + 1)
                if finite.any():
                    s_c = np.where(finite, (qq2 - q) * c.R0 * 0.5, np.inf)
                    s_eff = np.minimum(s, s_c)
                rw = c.rim_w * (1.0 + 0.3 * np.sin(3 * th + c.rim_ph))
                rimp = np.clip((rw - s_eff) / self.p + 0.5, 0.0, 1.0)
                val *= 1.0 + (c.rim_f - 1.0) * rimp
            val = (val * cov * own).astype(np.float32)
            np.maximum(self.body_c[r0:r1, c0:c1], val, out=self.body_c[r0:r1, c0:c1])
            # ruffles: bands just outside the edge (not part of the body mask)
            for (tc, hw, w0, bright, ph) in c.ruffles:
                dth = wrap(th - tc)
                band = np.abs(dth) < hw
                if not band.any():
                    continue
                taper = np.where(band, np.cos(0.5 * np.pi * dth / hw) ** 2, 0.0)
                wband = w0 * (0.45 + 0.55 * taper) * (1.0 + 0.3 * np.sin(7 * th + ph))
                rc = np.clip((s + wband) / self.p + 0.5, 0, 1) * (s < 0.5 * self.p) * band
                rv = c.level * bright * np.sqrt(taper) * rc
                if tex is not None:
                    rv *= tex[r0:r1, c0:c1]
                rv = rv * (L == 0)
                rv = rv.astype(np.float32)
                np.maximum(self.body_c[r0:r1, c0:c1], rv, out=self.body_c[r0:r1, c0:c1])
                self.occ_body[r0:r1, c0:c1] |= rv > 0.1 * c.level * bright
        self.occ_all |= self.occ_body

    # -- filopodia -----------------------------------------------------------------
    def inside_any(self, x, y):
        return any(float(o.q(x, y)) < 1.0 for o in self.cells)

    def render_filopodia(self):
        rng = self.S("filopodia")
        for i, c in enumerate(self.cells):
            c.n_filo = 0
            mean = c.filo_mean
            if mean <= 0:
                continue
            for _ in range(int(rng.poisson(mean))):
                th0 = c.front + rng.uniform(-np.radians(140), np.radians(140))
                r = float(c.r(th0))
                drr = float(c.dr(th0))
                # outward normal of the polar curve
                tx = drr * math.cos(th0) - r * math.sin(th0)
                ty = drr * math.sin(th0) + r * math.cos(th0)
                nrm = math.atan2(math.sin(th0), math.cos(th0))
                # pick the normal on the outward side
                cand = [math.atan2(ty, tx) - np.pi / 2, math.atan2(ty, tx) + np.pi / 2]
                head = min(cand, key=lambda a: abs(wrap(a - nrm)))
                head += rng.normal(0, np.radians(20))
                x, y = c.cx + (r - 0.3) * math.cos(th0), c.cy + (r - 0.3) * math.sin(th0)
                length = rng.uniform(1.0, 10.0)
                nseg = 1 + int(length / 3.0)
                pts = [(x, y)]
                okpath = True
                for sgi in range(nseg):
                    head += rng.normal(0, np.radians(10)) if sgi else 0.0
                    nx = pts[-1][0] + length / nseg * math.cos(head)
                    ny = pts[-1][1] + length / nseg * math.sin(head)
                    # check the path stays outside every body and inside the image
                    for t in np.linspace(0.1, 1.0, 6):
                        px = pts[-1][0] + t * (nx - pts[-1][0])
                        py = pts[-1][1] + t * (ny - pts[-1][1])
                        if sgi == 0 and t < 0.15:
                            continue
                        if not self.in_image_um(px, py, 0.5) or self.inside_any(px, py):
                            okpath = False
                            break
                    if not okpath:
                        break
                    pts.append((nx, ny))
                if len(pts) < 2:
                    continue
                w = rng.uniform(0.1, 0.3)
                lvl = c.level * max(c.rim_f, 1.0) * rng.uniform(0.5, 1.0)
                for (xa, ya), (xb, yb) in zip(pts[:-1], pts[1:]):
                    self.put_segment(self.max_c, xa, ya, xb, yb, w, lvl, occ=self.occ_all)
                if rng.random() < 0.6:
                    dt = rng.uniform(0.3, 0.5)
                    R = dt / 2
                    tx_, ty_ = pts[-1]
                    self.put_small(self.max_c, lambda X, Y: (X * X + Y * Y <= R * R).astype(float),
                                   tx_, ty_, R, lvl * rng.uniform(1.3, 2.0), occ=self.occ_all)
                c.n_filo += 1

    # -- retraction fibers ------------------------------------------------------------
    def grow(self, ci, x, y, head, length, bias, allow_own=2.0):
        rng = self.rng
        pts = [(x, y)]
        trav = 0.0
        step = 1.0
        while trav < length - 1e-9:
            st = min(step, length - trav)
            head += rng.normal(0, 0.06) + 0.04 * wrap(bias - head)
            if rng.random() < 0.05:
                head += rng.normal(0, 0.35)
            nx, ny = pts[-1][0] + st * math.cos(head), pts[-1][1] + st * math.sin(head)
            if not self.in_image_um(nx, ny, 0.3):
                break
            ix, iy = int(round(nx / self.p)), int(round(ny / self.p))
            if trav + st > allow_own and self.occ_body[iy, ix]:
                break
            if trav + st > allow_own and self.inside_any(nx, ny):
                break
            if not self.nuc_ok(nx, ny, ci, 2.3, 44.5):
                break
            pts.append((nx, ny))
            trav += st
        return pts, head

    def make_fibers(self):
        rng = self.rng
        self.fibers = []     # dicts: cell, pts (n,2), w, level
        for ci, c in enumerate(self.cells):
            c.tips, c.branch_pts = [], []
            lvl_cell = rng.uniform(0.1, 0.3) * self.A
            n_main = int(np.clip(round(c.n_target / 6.0) + rng.integers(0, 3), 2, 7))
            for _ in range(n_main):
                th0 = c.rear + float(np.clip(rng.normal(0, np.radians(35)), -np.radians(80), np.radians(80)))
                r = float(c.r(th0))
                x0, y0 = c.cx + (r - 0.4) * math.cos(th0), c.cy + (r - 0.4) * math.sin(th0)
                head = th0 + rng.normal(0, np.radians(15))
                bias = c.rear + 0.5 * wrap(th0 - c.rear)
                length = rng.uniform(10.0, 50.0)
                pts, _ = self.grow(ci, x0, y0, head, length, bias)
                if len(pts) < 4:
                    continue
                w = rng.uniform(0.1, 0.3)
                lv = float(np.clip(lvl_cell * rng.uniform(0.85, 1.15), 0.1 * self.A, 0.3 * self.A))
                main = dict(cell=ci, pts=np.array(pts), w=w, level=lv)
                self.fibers.append(main)
                c.tips.append(pts[-1])
                queue = [(main, 1)]
                while queue:
                    par, depth = queue.pop()
                    pp = par["pts"]
                    nb = min(3, int(rng.poisson(1.2 if depth == 1 else 0.4)))
                    if len(pp) < 6:
                        nb = 0
                    for _b in range(nb):
                        k = int(rng.integers(max(2, int(0.25 * len(pp))), max(3, int(0.9 * len(pp)))))
                        k = min(k, len(pp) - 2)
                        bx, by = pp[k]
                        hd = math.atan2(pp[k + 1][1] - pp[k][1], pp[k + 1][0] - pp[k][0])
                        hd += rng.choice([-1, 1]) * rng.uniform(np.radians(15), np.radians(50))
                        bp, _ = self.grow(ci, bx, by, hd, rng.uniform(3.0, 25.0), hd, allow_own=0.0)
                        if len(bp) < 3:
                            continue
                        br = dict(cell=ci, pts=np.array(bp), w=max(0.1, par["w"] * rng.uniform(0.7, 1.0)),
                                  level=par["level"] * rng.uniform(0.85, 1.0))
                        self.fibers.append(br)
                        c.tips.append(bp[-1])
                        c.branch_pts.append((bx, by))
                        if depth < 2:
                            queue.append((br, depth + 1))
        segs = []
        for fb in self.fibers:
            pp = fb["pts"]
            for a_, b_ in zip(pp[:-1], pp[1:]):
                segs.append((a_[0], a_[1], b_[0], b_[1]))
        self.segs = np.array(segs, dtype=np.float64).reshape(-1, 4)

    def render_fibers(self):
        for fb in self.fibers:
            pp = fb["pts"]
            for a_, b_ in zip(pp[:-1], pp[1:]):
                self.put_segment(self.max_c, a_[0], a_[1], b_[0], b_[1], fb["w"], fb["level"])

    def fiber_dist(self, x, y):
        if len(self.segs) == 0:
            return np.inf
        s = self.segs
        return float(seg_dist(x, y, s[:, 0], s[:, 1], s[:, 2], s[:, 3]).min())

    # -- migrasomes -------------------------------------------------------------------
    def sample_diam(self):
        lo, hi = self.args.diam
        return lo + (hi - lo) * self.rng.beta(1.6, 3.5)

    def occ_clear(self, x, y, rad):
        win = self.window(x - rad, x + rad, y - rad, y + rad)
        if win is None:
            return False
        r0, r1, c0, c1, X, Y = win
        disk = (X - x) ** 2 + (Y - y) ** 2 <= rad * rad
        return not bool((self.occ_all[r0:r1, c0:c1] & disk).any())

    def mig_ok(self, x, y, R, ci, released):
        Wum, Hum = (self.W - 1) * self.p, (self.H - 1) * self.p
        if not (3 + R <= x <= Wum - 3 - R and 3 + R <= y <= Hum - 3 - R):
            return False
        if not self.nuc_ok(x, y, ci, 2.0, 45.0):
            return False
        for m in self.migs:
            if math.hypot(m["x"] - x, m["y"] - y) < R + m["d"] / 2 + 1.0:
                return False
        if not self.occ_clear(x, y, R + 1.0 + 0.5 * self.p):
            return False
        if released and self.fiber_dist(x, y) < R + 1.5:
            return False
        return True

    def place_migrasomes(self):
        rng = self.rng
        self.migs = []
        for ci, c in enumerate(self.cells):
            n_rel = int(rng.binomial(c.n_target, c.rel_frac))
            n_att = c.n_target - n_rel
            fibs = [fb for fb in self.fibers if fb["cell"] == ci]
            placed_att = 0
            if fibs:
                sites = []
                for t in c.tips:
                    if rng.random() < 0.75:
                        sites.append(("tip", t))
                for b in c.branch_pts:
                    if rng.random() < 0.6:
                        sites.append(("branch", b))
                rng.shuffle(sites)
                lens = np.array([np.hypot(*np.diff(fb["pts"], axis=0).T).sum() for fb in fibs])
                for kind, (x, y) in sites:
                    if placed_att >= n_att:
                        break
                    D = self.sample_diam()
                    if self.mig_ok(x, y, D / 2, ci, False):
                        self.add_mig(x, y, D, ci, False, kind)
                        placed_att += 1
                tries = 0
                while placed_att < n_att and tries < 400:
                    tries += 1
                    fb = fibs[rng.choice(len(fibs), p=lens / lens.sum())]
                    pp = fb["pts"]
                    # a third of the tries near the fiber base (close to the rear edge)
                    kmax = len(pp) - 1 if rng.random() > 0.33 else min(len(pp) - 1, 6)
                    k = int(rng.integers(0, kmax))
                    t = rng.random()
                    x = pp[k][0] + t * (pp[k + 1][0] - pp[k][0])
                    y = pp[k][1] + t * (pp[k + 1][1] - pp[k][1])
                    D = self.sample_diam()
                    if self.mig_ok(x, y, D / 2, ci, False):
                        self.add_mig(x, y, D, ci, False, "along")
                        placed_att += 1
            n_rel_target = n_rel + (n_att - placed_att)   # fill up with released ones
            placed_rel = 0
            tries = 0
            while placed_rel < n_rel_target and tries < 800:
                tries += 1
                D = self.sample_diam()
                R = D / 2
                if fibs and rng.random() < 0.85:
                    fb = fibs[int(rng.integers(len(fibs)))]
                    pp = fb["pts"]
                    k = int(rng.integers(0, len(pp) - 1))
                    hd = math.atan2(pp[k + 1][1] - pp[k][1], pp[k + 1][0] - pp[k][0])
                    off = rng.choice([-1, 1]) * rng.uniform(R + 1.5, R + 7.0)
                    x = pp[k][0] + off * -math.sin(hd) + rng.normal(0, 1.0) * math.cos(hd)
                    y = pp[k][1] + off * math.cos(hd) + rng.normal(0, 1.0) * math.sin(hd)
                else:
                    th = c.rear + rng.normal(0, np.radians(45))
                    rr = float(c.r(th)) + rng.uniform(R + 1.5, 20.0)
                    x, y = c.cx + rr * math.cos(th), c.cy + rr * math.sin(th)
                if self.mig_ok(x, y, R, ci, True):
                    self.add_mig(x, y, D, ci, True, "free")
                    placed_rel += 1
            c.n_placed = placed_att + placed_rel

    def add_mig(self, x, y, D, ci, released, site):
        rng = self.rng
        self.migs.append(dict(x=x, y=y, d=D, cell=ci, released=released, site=site,
                              tom=bool(rng.random() < self.args.tom20_frac),
                              peak=rng.uniform(0.6, 1.4) * self.A,
                              sph=rng.uniform(0, 1), ell=rng.uniform(1.0, 1.15),
                              ang=rng.uniform(0, np.pi)))

    def render_migrasomes(self):
        rng = self.S("tom20")
        for m in self.migs:
            R = m["d"] / 2
            a_ = R * math.sqrt(m["ell"])
            b_ = R / math.sqrt(m["ell"])
            ca, sa, f = math.cos(m["ang"]), math.sin(m["ang"]), m["sph"]

            def shape(X, Y, a_=a_, b_=b_, ca=ca, sa=sa, f=f):
                u = X * ca + Y * sa
                v = -X * sa + Y * ca
                rr2 = (u / a_) ** 2 + (v / b_) ** 2
                return (1 - f) * (rr2 <= 1.0) + f * np.sqrt(np.clip(1.0 - rr2, 0, 1))

            self.put_small(self.max_c, shape, m["x"], m["y"], max(a_, b_), m["peak"])
            if m["tom"]:
                Dt = m["d"] * rng.uniform(0.6, 1.0)
                Rt = Dt / 2
                off = rng.uniform(0, (m["d"] - Dt) / 2)
                oa = rng.uniform(0, 2 * np.pi)
                ox, oy = off * math.cos(oa), off * math.sin(oa)
                m["tom_snr"] = rng.uniform(6.0, 10.0)
                self.put_small(self.tom_c, lambda X, Y, Rt=Rt: (X * X + Y * Y <= Rt * Rt).astype(float)
                               * (0.8 + 0.2 * np.sqrt(np.clip(1 - (X * X + Y * Y) / (Rt * Rt), 0, 1))),
                               m["x"] + ox, m["y"] + oy, Rt, m["tom_snr"] * self.sd_e)

    # -- inside-body decoys -----------------------------------------------------------
    def random_inside(self, c, margin, rng):
        for _ in range(200):
            th = rng.uniform(0, 2 * np.pi)
            fr = math.sqrt(rng.random()) * 0.97
            r = float(c.r(th))
            x, y = c.cx + fr * r * math.cos(th), c.cy + fr * r * math.sin(th)
            if float(c.depth(x, y)) >= margin and self.labels_at(x, y) == self.cells.index(c) + 1:
                return x, y
        return None

    def labels_at(self, x, y):
        ix, iy = int(round(x / self.p)), int(round(y / self.p))
        if 0 <= ix < self.W and 0 <= iy < self.H:
            return int(self.labels[iy, ix])
        return -1

    def render_golgi_puncta(self):
        f = self.feat
        for ci, c in enumerate(self.cells):
            c.n_puncta = 0
            if f["golgi"] is not None:
                rng = self.S("golgi")
                gf = f["golgi"] if f["golgi"] != "auto" else rng.uniform(1.0, 1.6)
                c.golgi_f = gf
                lvl = gf * max(self.A, c.level)
                nx, ny = c.nuc
                # perinuclear, on the front side of the nucleus
                gth = c.front + rng.normal(0, np.radians(25))
                dn = max(c.na, c.nb) * 0.8 + rng.uniform(1.0, 2.5)
                gx, gy = nx + dn * math.cos(gth), ny + dn * math.sin(gth)
                if float(c.depth(gx, gy)) > 2.0:
                    self.put_small(self.add_c, lambda X, Y: np.exp(-0.5 * (X * X + Y * Y) / 1.5 ** 2),
                                   gx, gy, 4.5, 0.35 * lvl, mode="add")
                    for _ in range(int(rng.integers(8, 18))):
                        a_ = gth + rng.normal(0, 0.6)
                        rr = rng.normal(0, 1.2)
                        bx = gx + rr * math.cos(a_ + np.pi / 2) + rng.normal(0, 0.6)
                        by = gy + rr * math.sin(a_ + np.pi / 2) + rng.normal(0, 0.6)
                        if float(c.depth(bx, by)) < 1.0:
                            continue
                        Rb = rng.uniform(0.15, 0.6)
                        self.put_small(self.add_c, lambda X, Y, Rb=Rb: (X * X + Y * Y <= Rb * Rb).astype(float),
                                       bx, by, Rb, lvl * rng.uniform(0.5, 1.0), mode="add")
            if f["puncta"] is not None:
                rng = self.S("puncta")
                mean = f["puncta"] if f["puncta"] != "auto" else rng.uniform(8, 25)
                for _ in range(int(rng.poisson(mean))):
                    D = 0.5 + 1.5 * rng.beta(1.5, 3.0)
                    R = D / 2
                    pos = self.random_inside(c, R + 0.2, rng)
                    if pos is None:
                        continue
                    fsp = rng.uniform(0, 1)
                    self.put_small(self.add_c, lambda X, Y, R=R, fsp=fsp:
                                   (1 - fsp) * (X * X + Y * Y <= R * R) + fsp * np.sqrt(np.clip(1 - (X * X + Y * Y) / (R * R), 0, 1)),
                                   pos[0], pos[1], R, rng.uniform(0.6, 1.4) * self.A, mode="add")
                    c.n_puncta += 1

    def render_debris(self):
        rng, f = self.S("debris"), self.feat
        self.n_debris = 0
        if f["debris"] is None:
            return
        mean = f["debris"] if f["debris"] != "auto" else 12
        Wum, Hum = (self.W - 1) * self.p, (self.H - 1) * self.p
        for _ in range(int(rng.poisson(mean))):
            size = rng.uniform(1.0, 5.0)
            R = size / 2
            ks = np.arange(2, 6)
            amp = rng.uniform(0, 0.25, size=4) / np.sqrt(ks - 1)
            ph = rng.uniform(0, 2 * np.pi, size=4)
            nblob = int(rng.integers(1, 4))
            sub = [(rng.normal(0, 0.3 * R), rng.normal(0, 0.3 * R), R * rng.uniform(0.4, 0.8)) for _ in range(nblob)]

            def shape(X, Y, R=R, amp=amp, ph=ph, ks=ks, sub=sub):
                th = np.arctan2(Y, X)
                rr = R * 0.8 * (1 + sum(a * np.cos(k * th - p_) for a, k, p_ in zip(amp, ks, ph)))
                v = np.clip((rr - np.hypot(X, Y)) / 0.3 + 0.5, 0, 1) * 0.7
                for (sx, sy, sr) in sub:
                    v = np.maximum(v, np.exp(-0.5 * ((X - sx) ** 2 + (Y - sy) ** 2) / (0.5 * sr) ** 2))
                return v

            for _t in range(50):
                x, y = rng.uniform(3, Wum - 3), rng.uniform(3, Hum - 3)
                if not self.occ_clear(x, y, 1.3 * R + 1.0):
                    continue
                if any(math.hypot(m["x"] - x, m["y"] - y) < 1.3 * R + m["d"] / 2 + 1.5 for m in self.migs):
                    continue
                self.put_small(self.max_c, shape, x, y, 1.4 * R, rng.uniform(0.2, 0.4) * self.A)
                self.n_debris += 1
                break

    # -- other channels ----------------------------------------------------------------
    def render_hoechst(self):
        rng = self.S("hoechst")
        H, W = self.H, self.W
        chrom = smooth_noise(rng, (H, W), 0.35 / self.p)
        chrom2 = smooth_noise(rng, (H, W), 1.2 / self.p)
        sharp = np.zeros((H, W), np.float32)
        for c in self.cells:
            nx, ny = c.nuc
            m = c.na + 1.0
            win = self.window(nx - m, nx + m, ny - m, ny + m)
            if win is None:
                continue
            r0, r1, c0, c1, X, Y = win
            u = (X - nx) * math.cos(c.nalpha) + (Y - ny) * math.sin(c.nalpha)
            v = -(X - nx) * math.sin(c.nalpha) + (Y - ny) * math.cos(c.nalpha)
            qn = np.hypot(u / c.na, v / c.nb)
            s = (1.0 - qn) * c.nb
            cov = np.clip(s / self.p + 0.5, 0, 1)
            lvl = rng.uniform(20.0, 35.0) * self.sd_e
            val = lvl * (1.0 + 0.18 * chrom[r0:r1, c0:c1] + 0.12 * chrom2[r0:r1, c0:c1])
            val *= 0.9 + 0.1 * np.clip(qn, 0, 1) ** 2       # slightly brighter periphery
            for _ in range(int(rng.integers(1, 4))):      # nucleoli (dark)
                a = rng.uniform(0, 2 * np.pi)
                rr = rng.uniform(0, 0.5)
                ox = rr * c.na * math.cos(a)
                oy = rr * c.nb * math.sin(a)
                rn = rng.uniform(0.5, 1.2)
                d2 = (u - ox) ** 2 + (v - oy) ** 2
                val *= 1.0 - 0.45 * np.exp(-0.5 * d2 / rn ** 2)
            sharp[r0:r1, c0:c1] = np.maximum(sharp[r0:r1, c0:c1], (val * cov).astype(np.float32))
        self.hoe_c = fft_blur(sharp, self.psf / self.p)
        self.hoe_sharp = sharp

    def render_tom20(self):
        rng = self.S("tom20")
        for ci, c in enumerate(self.cells):
            area = float(np.pi * c.R0 ** 2)
            nrod = int(area * rng.uniform(0.06, 0.12))
            lvl_c = rng.uniform(5.0, 12.0) * self.sd_e
            nx, ny = c.nuc
            for _ in range(nrod):
                pos = None
                for _t in range(20):
                    th = rng.uniform(0, 2 * np.pi)
                    fr = rng.random() ** 0.8 * 0.92
                    r = float(c.r(th))
                    x, y = c.cx + fr * r * math.cos(th), c.cy + fr * r * math.sin(th)
                    u = (x - nx) * math.cos(c.nalpha) + (y - ny) * math.sin(c.nalpha)
                    v = -(x - nx) * math.sin(c.nalpha) + (y - ny) * math.cos(c.nalpha)
                    if math.hypot(u / c.na, v / c.nb) < 1.0 and rng.random() < 0.7:
                        continue
                    pos = (x, y)
                    break
                if pos is None:
                    continue
                L = rng.uniform(0.5, 4.0)
                hd = rng.uniform(0, 2 * np.pi)
                w = rng.uniform(0.25, 0.45)
                p0 = pos
                p1 = (p0[0] + L / 2 * math.cos(hd), p0[1] + L / 2 * math.sin(hd))
                hd2 = hd + rng.normal(0, 0.4)
                p2 = (p1[0] + L / 2 * math.cos(hd2), p1[1] + L / 2 * math.sin(hd2))
                if float(c.depth(*p2)) < 0.3 or float(c.depth(*p1)) < 0.3:
                    continue
                lv = lvl_c * rng.uniform(0.6, 1.4)
                self.put_segment(self.tom_c, p0[0], p0[1], p1[0], p1[1], w, lv)
                self.put_segment(self.tom_c, p1[0], p1[1], p2[0], p2[1], w, lv)
        # faint diffuse cytosolic signal
        body = fft_blur((self.labels > 0).astype(np.float32), 0.5 / self.p)
        self.tom_c += body * (0.8 * self.sd_e)

    # -- illumination, haze, noise ----------------------------------------------------
    def illumination(self):
        f, rng = self.feat, self.S("illumination")
        if f["illumination"] is None:
            return None
        amp = f["illumination"] if f["illumination"] != "auto" else 0.2
        self.log["illumination_amp"] = amp
        H, W = self.H, self.W
        y = np.linspace(-1, 1, H)[:, None]
        x = np.linspace(-1, 1, W)[None, :]
        cx, cy = rng.uniform(-0.5, 0.5, 2)
        fld = -((x - cx) ** 2 + (y - cy) ** 2) * rng.uniform(0.6, 1.0)   # vignetting-like
        fld = fld + rng.normal(0, 0.3) * x + rng.normal(0, 0.3) * y
        for _ in range(3):
            bx, by = rng.uniform(-1, 1, 2)
            s = rng.uniform(0.3, 0.8)
            fld = fld + rng.normal(0, 0.3) * np.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * s * s))
        fld = (fld - fld.min()) / max(fld.max() - fld.min(), 1e-9)
        return (1.0 - amp + 2 * amp * fld).astype(np.float32)

    def camera(self, signal_e, illum):
        a, rng = self.args, self.S("noise")
        lam = np.clip(signal_e, 0, None) + a.bg_photons
        if illum is not None:
            lam = lam * illum
        e = rng.poisson(lam).astype(np.float64) + rng.normal(0, a.read_noise, lam.shape)
        adu = a.offset + a.gain * e
        return np.clip(np.rint(adu), 0, 65535).astype(np.uint16)

    # -- main --------------------------------------------------------------------------
    def run(self):
        a, f, rng = self.args, self.feat, self.rng
        self.make_cells()
        self.nucs = np.array([c.nuc for c in self.cells])
        blo, bhi = a.body_rel if a.body_rel else ((0.2, 3.0) if a.mode == "realism" else (0.3, 0.3))
        for i, c in enumerate(self.cells):
            c.id = i + 1
            c.rear, c.rear_free = self.choose_rear(i)
            c.front = c.rear + np.pi
            c.body_rel = float(math.exp(self.S("body").uniform(math.log(blo), math.log(bhi)))) if bhi > blo else blo
            c.level = c.body_rel * self.A
            if f["rim"] is not None:
                mx = f["rim"] if f["rim"] != "auto" else 2.0
                rr = self.S("rim")
                c.rim_f = rr.uniform(min(1.3, mx), mx) if f["rim"] == "auto" else mx
                c.rim_w = rr.uniform(0.3, 1.0)
                c.rim_ph = rr.uniform(0, 2 * np.pi)
            else:
                c.rim_f, c.rim_w, c.rim_ph = 1.0, 0.0, 0.0
            c.ruffles = []
            if f["ruffles"] is not None:
                rr = self.S("ruffles")
                for _ in range(int(rr.integers(1, 4))):
                    bright = f["ruffles"] if f["ruffles"] != "auto" else rr.uniform(1.4, 2.5)
                    c.ruffles.append((c.front + rr.normal(0, np.radians(50)), rr.uniform(np.radians(12), np.radians(35)),
                                      rr.uniform(0.5, 2.0), bright, rr.uniform(0, 2 * np.pi)))
            c.filo_mean = 0.0
            if f["filopodia"] is not None:
                c.filo_mean = f["filopodia"] if f["filopodia"] != "auto" else self.S("filopodia").uniform(6, 20)
            lo, hi = a.migrasomes
            c.n_target = int(rng.integers(lo, hi + 1))
            c.rel_frac = a.released_frac if a.released_frac is not None else rng.uniform(0.1, 0.5)
        self.render_bodies()
        self.render_filopodia()
        self.make_fibers()
        self.render_fibers()
        self.place_migrasomes()
        self.render_migrasomes()
        self.render_golgi_puncta()
        self.render_debris()
        body_blur = fft_blur(self.body_c, self.psf / self.p)
        wga = np.maximum(body_blur, self.max_c) + self.add_c
        haze_f = None
        if f["haze"] is not None:
            haze_f = f["haze"] if f["haze"] != "auto" else self.S("haze").uniform(0.2, 0.4)
            wga += haze_f * fft_blur(self.body_c, 3.0 / self.p)
        self.log["haze_factor"] = haze_f
        self.render_hoechst()
        if haze_f:
            self.hoe_c += 0.5 * haze_f * fft_blur(self.hoe_sharp, 3.0 / self.p)
        self.render_tom20()
        illum = self.illumination()
        self.img = np.stack([self.camera(self.hoe_c, illum), self.camera(wga, illum),
                             self.camera(self.tom_c, illum)])
        self.wga_signal = wga


# ----------------------------------------------------------------------------
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="field")
    ap.add_argument("--size", default="1536", help="N or WxH pixels (default 1536)")
    ap.add_argument("--pixel", type=float, default=0.11, help="pixel size um (default 0.11)")
    ap.add_argument("--cells", type=int, default=None, help="number of cells (default 3-5)")
    ap.add_argument("--radius", default="12,25", help="cell mean radius range um (default 12,25)")
    ap.add_argument("--migrasomes", default="6,33", help="migrasomes per cell range (default 6,33)")
    ap.add_argument("--diam", default="0.5,3.0", help="migrasome diameter range um (default 0.5,3.0)")
    ap.add_argument("--released-frac", type=float, default=None, help="fraction released (default 0.1-0.5 per cell)")
    ap.add_argument("--tom20-frac", type=float, default=0.4, help="fraction Tom20-positive (default 0.4)")
    ap.add_argument("--body-rel", default=None, help="body interior brightness range x A (default 0.2,3.0; plain 0.3)")
    ap.add_argument("--snr", type=float, default=8.0, help="A / background noise SD (default 8)")
    ap.add_argument("--psf-sigma", type=float, default=0.1, help="Gaussian PSF sigma um (default 0.1)")
    ap.add_argument("--bg-photons", type=float, default=50.0, help="background photo-electrons/pixel (default 50)")
    ap.add_argument("--read-noise", type=float, default=3.0, help="read noise e- (default 3)")
    ap.add_argument("--gain", type=float, default=2.0, help="ADU per e- (default 2)")
    ap.add_argument("--offset", type=float, default=100.0, help="camera offset ADU (default 100)")
    ap.add_argument("--realism", action="store_true", help="all features on at realistic levels")
    ap.add_argument("--plain", action="store_true", help="all features off (dim uniform bodies)")
    ap.add_argument("--preview", action="store_true", help="also write preview.png (gamma-scaled WGA)")
    for k, h in FEATURES.items():
        ap.add_argument("--" + k, nargs="?", const="auto", default=None, help=h)
        ap.add_argument("--no-" + k, action="store_true", help="turn off " + k)
    a = ap.parse_args(argv)

    def pair(s, typ=float):
        v = [typ(t) for t in str(s).replace("x", ",").split(",")]
        return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])

    a.size = pair(a.size, int)
    a.radius = pair(a.radius)
    a.migrasomes = pair(a.migrasomes, int)
    a.diam = pair(a.diam)
    a.body_rel = pair(a.body_rel) if a.body_rel else None
    given = {k: getattr(a, k) for k in FEATURES if getattr(a, k) is not None}
    if a.plain and a.realism:
        ap.error("--plain and --realism are exclusive")
    if a.realism or (not a.plain and not given):
        a.mode = "realism"
        feat = {k: "auto" for k in FEATURES}
    else:
        a.mode = "plain" if not given else "custom"
        feat = {k: None for k in FEATURES}
    for k, v in given.items():
        feat[k] = v if v == "auto" else float(v)
    for k in ("touching", "border"):
        if feat[k] == "auto":
            feat[k] = 1
        elif feat[k] is not None:
            feat[k] = int(feat[k])
    for k in FEATURES:
        if getattr(a, "no_" + k):
            feat[k] = None
    return a, feat


def main(argv=None):
    args, feat = parse_args(sys.argv[1:] if argv is None else argv)
    rng = np.random.default_rng(args.seed)
    fld = Field(args, feat, rng)
    fld.run()
    os.makedirs(args.outdir, exist_ok=True)
    p = args.pixel
    tifffile.imwrite(os.path.join(args.outdir, args.name + ".ome.tif"), fld.img, ome=True,
                     photometric="minisblack",
                     metadata={"axes": "CYX", "Channel": {"Name": ["Hoechst", "WGA", "Tom20"]},
                               "PhysicalSizeX": p, "PhysicalSizeXUnit": "µm",
                               "PhysicalSizeY": p, "PhysicalSizeYUnit": "µm"})
    tifffile.imwrite(os.path.join(args.outdir, "truth_bodies.tif"), fld.labels.astype(np.uint16),
                     imagej=True, resolution=(1.0 / p, 1.0 / p), metadata={"unit": "um"})
    cnt = {c.id: [0, 0, 0] for c in fld.cells}
    rows = []
    for m in sorted(fld.migs, key=lambda m: (m["cell"], m["y"], m["x"])):
        cid = m["cell"] + 1
        rows.append((cid, m))
        cnt[cid][0] += 1
        cnt[cid][1] += int(m["released"])
        cnt[cid][2] += int(m["tom"])
    with open(os.path.join(args.outdir, "truth_migrasomes.csv"), "w") as fh:
        fh.write("image,frame,migrasome_id,cell_id,x_um,y_um,diameter_um,released,Tom20_positive\n")
        for k, (cid, m) in enumerate(rows, start=1):
            m["id"] = k
            fh.write(f"{args.name},0,{k},{cid},{m['x']:.4f},{m['y']:.4f},{m['d']:.4f},"
                     f"{int(m['released'])},{int(m['tom'])}\n")
    with open(os.path.join(args.outdir, "truth_cells.csv"), "w") as fh:
        fh.write("image,frame,cell_id,x_um,y_um,migrasome_count,released_count,Tom20_positive_count\n")
        for c in fld.cells:
            nx, ny = c.nuc
            fh.write(f"{args.name},0,{c.id},{nx:.4f},{ny:.4f},{cnt[c.id][0]},{cnt[c.id][1]},{cnt[c.id][2]}\n")
    info = {
        "generator": "tests/py/indep_field.py (independent of src/synth)",
        "seed": args.seed, "mode": args.mode,
        "args": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()},
        "features": feat,
        "A_electrons": fld.A, "A_adu": fld.A * args.gain,
        "background_sd_electrons": fld.sd_e, "background_sd_adu": fld.sd_e * args.gain,
        "image_size_px": [fld.W, fld.H],
        "n_debris": fld.n_debris, "n_fibers": len(fld.fibers),
        "log": fld.log,
        "cells": [dict(cell_id=c.id, role=c.role, body_center_um=[c.cx, c.cy], nucleus_um=list(c.nuc),
                       nucleus_in_image=bool(fld.in_image_um(*c.nuc)),
                       nucleus_axes_um=[2 * c.na, 2 * c.nb], nucleus_angle_rad=c.nalpha,
                       mean_radius_um=c.R0, fourier_amp=c.a.tolist(), body_rel=c.body_rel,
                       rim_factor=c.rim_f, rim_width_um=c.rim_w, rear_angle_rad=c.rear,
                       n_ruffles=len(c.ruffles), n_filopodia=c.n_filo, n_puncta=c.n_puncta,
                       migrasomes_target=c.n_target, migrasomes_placed=c.n_placed,
                       released_frac_target=c.rel_frac,
                       body_area_px_in_image=int((fld.labels == c.id).sum()))
                  for c in fld.cells],
        "migrasomes": [dict(id=m["id"], cell_id=m["cell"] + 1, x_um=m["x"], y_um=m["y"], diameter_um=m["d"],
                            released=m["released"], site=m["site"], tom20=m["tom"],
                            peak_rel_A=m["peak"] / fld.A, tom20_snr=m.get("tom_snr"))
                       for _, m in rows],
        "notes": ["x_um = column * pixel, y_um = row * pixel (centre of pixel (0,0) is 0,0)",
                  "truth_cells x_um/y_um is the nucleus centroid; for a border cell it may lie outside the image",
                  "bodies exclude filopodia and ruffles; rim included"],
    }
    with open(os.path.join(args.outdir, "truth.json"), "w") as fh:
        json.dump(info, fh, indent=1, default=float)
    if args.preview:
        w = fld.img[1].astype(np.float64)
        lo, hi = np.percentile(w, [1.0, 99.8])
        g = np.clip((w - lo) / max(hi - lo, 1.0), 0, 1) ** 0.5
        write_png_gray(os.path.join(args.outdir, "preview.png"), (g * 255).astype(np.uint8))
    print(f"{args.outdir}: {len(fld.cells)} cells, {len(rows)} migrasomes, mode={args.mode}")


if __name__ == "__main__":
    main()
