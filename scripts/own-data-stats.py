#!/usr/bin/env python3
"""Pooled training-split means and standard deviations of the public tables the own-data tests use.

Computed with NumPy, independently of fedmed, from scikit-learn's copies of the UCI wine and diabetes tables
(Debian's python3-sklearn). The tests split each table among hospitals by the same rule as here: row i goes
to hospital i % 3 and is held out when (i // 3) % 4 == 0; in the wine table, hospital 2 leaves magnesium
blank where i % 10 == 2. The federation's standardisation must match these numbers within 1e-9.

Usage: python3 scripts/own-data-stats.py > test/fixtures/own-data/train-stats.json
"""
import gzip
import json

import numpy as np

DATA = "/usr/lib/python3/dist-packages/sklearn/datasets/data"

WINE = ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
        "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280_od315", "proline"]
DIABETES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def held_out(i):
    return (i // 3) % 4 == 0


def stats(x, names):
    return {"mean": dict(zip(names, np.nanmean(x, axis=0).tolist())),
            "sd": dict(zip(names, np.nanstd(x, axis=0, ddof=0).tolist())),
            "rows": int(x.shape[0])}


wine = np.loadtxt(f"{DATA}/wine_data.csv", delimiter=",", skiprows=1)[:, :13]
train = np.array([not held_out(i) for i in range(len(wine))])
wine = wine.copy()
for i in range(len(wine)):
    if i % 3 == 2 and i % 10 == 2:
        wine[i, WINE.index("magnesium")] = np.nan

with gzip.open(f"{DATA}/diabetes_data_raw.csv.gz", "rt") as f:
    diabetes = np.loadtxt(f)
numeric = [c for c in DIABETES if c != "sex"]
dtrain = np.array([not held_out(i) for i in range(len(diabetes))])
dia = diabetes[:, [DIABETES.index(c) for c in numeric]]

print(json.dumps({
    "source": "scripts/own-data-stats.py (NumPy " + np.__version__ + ")",
    "wine": stats(wine[train], WINE),
    "diabetes": stats(dia[dtrain], numeric),
}, indent=2))
