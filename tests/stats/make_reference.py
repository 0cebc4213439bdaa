#!/usr/bin/python3
"""Reference values for migrascope's statistics (tests/it/compare.rs).

Generates data sets (sizes from 3 to 300, with and without ties, equal and unequal
variances, shifted apart until p falls to ~1e-15) and stores scipy's results for
ttest_ind (equal_var True and False) and mannwhitneyu (method auto, exact, asymptotic;
two-sided, continuity correction) in reference.json next to this script.

    /usr/bin/python3 tests/stats/make_reference.py

The data are rounded to 4 decimals so they read back exactly as written.
"""
import json
import os

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20240611)
cases = []


def stars(p):
    if not p <= 0.05:
        return "ns"
    if p <= 0.0001:
        return "****"
    if p <= 0.001:
        return "***"
    if p <= 0.01:
        return "**"
    return "*"


def add_t(name, a, b):
    for equal_var, test in ((True, "student"), (False, "welch")):
        r = stats.ttest_ind(a, b, equal_var=equal_var)
        if not r.pvalue >= 1e-15:
            continue
        if equal_var:
            df = len(a) + len(b) - 2.0
        else:
            va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
            df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        cases.append(dict(name=name, test=test, method="", a=list(a), b=list(b),
                          statistic=float(r.statistic), df=float(df), p=float(r.pvalue),
                          stars=stars(r.pvalue)))


def ties(a, b):
    xy = np.concatenate([a, b])
    return len(np.unique(xy)) != len(xy)


def add_u(name, a, b):
    methods = ["auto", "asymptotic"]
    if not ties(a, b) and min(len(a), len(b)) <= 8 and len(a) * len(b) <= 2000:
        methods.append("exact")
    for method in methods:
        r = stats.mannwhitneyu(a, b, alternative="two-sided", method=method)
        if not r.pvalue >= 1e-15:
            continue
        cases.append(dict(name=name, test="mannwhitney", method=method, a=list(a), b=list(b),
                          statistic=float(r.statistic), df=None, p=float(r.pvalue),
                          stars=stars(r.pvalue)))


def rounded(x):
    return [float(v) for v in np.round(x, 4)]


# t-tests: normal data, equal and unequal spread, a range of sizes and shifts
for na, nb in [(2, 2), (3, 3), (3, 5), (5, 8), (10, 12), (20, 30), (4, 40), (50, 50), (150, 150), (300, 120)]:
    for sa, sb in [(1.0, 1.0), (1.0, 3.0), (0.2, 2.5)]:
        for shift in [0.0, 0.5, 2.0]:
            a = rounded(rng.normal(10.0, sa, na))
            b = rounded(rng.normal(10.0 + shift * max(sa, sb), sb, nb))
            add_t(f"t n={na},{nb} sd={sa},{sb} shift={shift}", a, b)
# t-tests: separated samples, p from ~1e-5 down to ~1e-15
for na, nb in [(5, 6), (12, 9), (40, 40), (150, 150)]:
    base_a = rng.normal(0.0, 1.0, na)
    base_b = rng.normal(0.0, 1.7, nb)
    for target in [1e-5, 1e-8, 1e-11, 1e-13, 1e-14, 3e-15]:
        lo, hi = 0.0, 100.0
        for _ in range(200):
            mid = (lo + hi) / 2
            p = stats.ttest_ind(rounded(20 + base_a), rounded(20 + mid + base_b), equal_var=False).pvalue
            lo, hi = (mid, hi) if p > target else (lo, mid)
        add_t(f"t separated n={na},{nb} target={target}", rounded(20 + base_a), rounded(20 + lo + base_b))

# Mann-Whitney: continuous data (no ties), exact and asymptotic sizes
for na, nb in [(3, 4), (5, 5), (4, 9), (8, 8), (6, 20), (8, 30), (9, 9), (12, 15), (50, 60), (150, 150)]:
    for shift in [0.0, 0.7, 2.5]:
        a = rounded(rng.normal(0.0, 1.0, na))
        b = rounded(rng.normal(shift, 1.3, nb))
        add_u(f"u n={na},{nb} shift={shift}", a, b)
# Mann-Whitney: counts (many ties), like migrasomes per cell
for na, nb in [(3, 3), (5, 7), (8, 8), (20, 25), (50, 50), (150, 150)]:
    for lam_b in [3.0, 4.0, 8.0]:
        a = [float(v) for v in rng.poisson(3.0, na)]
        b = [float(v) for v in rng.poisson(lam_b, nb)]
        add_u(f"u ties n={na},{nb} lambda=3,{lam_b}", a, b)
# Mann-Whitney: separated samples, p down to ~1e-15 (asymptotic), with and without ties
for na, nb, integer in [(40, 45, False), (60, 60, False), (80, 70, True), (150, 150, True)]:
    base_a = rng.normal(0.0, 1.0, na)
    base_b = rng.normal(0.0, 1.0, nb)
    for target in [1e-6, 1e-9, 1e-12, 1e-14, 3e-15]:
        def data(s):
            a, b = base_a * 4, (base_b + s) * 4
            if integer:
                return [float(v) for v in np.round(a)], [float(v) for v in np.round(b)]
            return rounded(a), rounded(b)
        lo, hi = 0.0, 20.0
        for _ in range(100):
            mid = (lo + hi) / 2
            p = stats.mannwhitneyu(*data(mid), method="asymptotic").pvalue
            lo, hi = (mid, hi) if p > target else (lo, mid)
        add_u(f"u separated n={na},{nb} ties={integer} target={target}", *data(lo))

out = dict(scipy=scipy.__version__, numpy=np.__version__,
           note="scipy.stats.ttest_ind(a, b, equal_var) and mannwhitneyu(a, b, "
                "alternative='two-sided', use_continuity=True, method); statistic is U1 of a",
           cases=cases)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=None, separators=(",", ":"))
    f.write("\n")
ps = sorted(c["p"] for c in cases)
print(f"{len(cases)} cases, p from {ps[0]:.3g} to {ps[-1]:.3g}; scipy {scipy.__version__}")
