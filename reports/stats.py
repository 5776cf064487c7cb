"""Statistics of the rates: Wilson score intervals for one proportion, a seeded paired bootstrap for
means over models (and seeds) on the same images, and paired comparisons (difference with its
interval and an exact McNemar p-value) of two attacks or two runs on the same images.

The Wilson formula is a closed form written here (vectorised over a table); the exact McNemar
test is scipy's binomial test on the discordant pairs. Both are checked against independent
computations in tests/test_stats.py."""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np
import pandas as pd

from common.outcomes import unpack_mask

Z95 = 1.959963984540054  # two-sided 95% normal quantile
BOOTSTRAP_DRAWS = 1000
BOOTSTRAP_SEED = 0  # fixed: the same rows give byte-identical intervals
ALPHA = 0.05

# rate column -> how its denominator is found in a row: all eval images, or those classified correctly
RATES = ("clean_acc", "fooling_rate", "success_on_correct", "targeted_success", "robust_acc")


def wilson(k: np.ndarray | float, n: np.ndarray | float, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (lo, hi) of the proportion k/n as fractions; NaN where n is 0 or missing."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    bad = ~(n > 0)
    lo = np.where(k <= 0, 0.0, np.clip(centre - half, 0, 1))  # exact ends: no 0.9999999999999999 for k = n
    hi = np.where(k >= n, 1.0, np.clip(centre + half, 0, 1))
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def rate_counts(df: pd.DataFrame, rate: str) -> tuple[np.ndarray, np.ndarray]:
    """(successes, trials) behind a rate column of result rows: rates are exact shares of `n` images
    (or, for success_on_correct, of the images the target classified correctly)."""
    n = pd.to_numeric(df["n"], errors="coerce").to_numpy(dtype=float)
    if rate == "success_on_correct":
        n = np.round(pd.to_numeric(df["clean_acc"], errors="coerce").to_numpy(dtype=float) * n)
    value = pd.to_numeric(df[rate], errors="coerce").to_numpy(dtype=float)
    return np.round(value * n), n


def add_intervals(df: pd.DataFrame) -> pd.DataFrame:
    """Result rows with `<rate>_lo` and `<rate>_hi` (95% Wilson, fractions) after each rate column."""
    out = df.copy()
    for rate in RATES:
        if rate not in out.columns or "n" not in out.columns:
            continue
        lo, hi = wilson(*rate_counts(out, rate))
        at = out.columns.get_loc(rate) + 1
        out.insert(at, f"{rate}_lo", lo)
        out.insert(at + 1, f"{rate}_hi", hi)
    return out


def success_masks(row: pd.Series, rate: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(successes, counted) per eval image of one result row for a headline rate, from its stored
    outcomes; None when the row has none (a store written before outcomes were kept)."""
    outcomes = row.get("outcomes")
    if not isinstance(outcomes, dict):
        return None
    n = int(row["n"])
    mask = {k: unpack_mask(v, n) for k, v in outcomes.items()}
    if rate == "success_on_correct":
        hit = mask["hit"] if row.get("targeted") and "hit" in mask else ~mask["adv_correct"]
        return hit & mask["clean_correct"], mask["clean_correct"]
    if rate == "targeted_success":
        return (mask["hit"], np.ones(n, bool)) if "hit" in mask else None
    if rate == "fooling_rate":
        return mask["fooled"], np.ones(n, bool)
    if rate == "robust_acc":
        return mask["adv_correct"], np.ones(n, bool)
    if rate == "clean_acc":
        return mask["clean_correct"], np.ones(n, bool)
    raise ValueError(f"no per-image outcome for rate {rate!r}")


@lru_cache(maxsize=4)
def bootstrap_weights(n: int, draws: int, seed: int) -> np.ndarray:
    """How often each of `n` images is drawn in each of `draws` resamples (draws x n, read-only): the
    same for every mean over `n` images, so drawn once per report instead of once per mean (a draw of
    1000 x 1000 takes about 65 ms; a quickstart report takes 45 means, each table again)."""
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=draws).astype(float)
    weights.flags.writeable = False
    return weights


def bootstrap_mean(rows: pd.DataFrame, rate: str, draws: int = BOOTSTRAP_DRAWS,
                   seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """95% percentile interval (fractions) of the mean of `rate` over `rows` (models, seeds), by a
    paired bootstrap: the same resampled images for every row, as they were the same images.
    NaN when a row lacks outcomes or the rows differ in their images."""
    masks = [success_masks(r, rate) for _, r in rows.iterrows()]
    if not masks or any(m is None for m in masks) or len({len(m[0]) for m in masks}) != 1:
        return math.nan, math.nan
    num = np.stack([m[0] for m in masks]).astype(float)  # rows x images
    den = np.stack([m[1] for m in masks]).astype(float)
    weights = bootstrap_weights(num.shape[1], draws, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = (weights @ num.T) / (weights @ den.T)  # draws x rows
    finite = np.isfinite(rates)  # a row whose model got no counted image in a draw has no rate there
    counts = finite.sum(axis=1)
    means = np.where(finite, rates, 0.0).sum(axis=1)[counts > 0] / counts[counts > 0]
    if not len(means):
        return math.nan, math.nan
    return float(np.quantile(means, ALPHA / 2)), float(np.quantile(means, 1 - ALPHA / 2))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (b: only A succeeds, c: only B)."""
    if b + c == 0:
        return 1.0
    from scipy.stats import binomtest  # imported here: 0.7 s that only `--compare` needs

    return float(binomtest(int(b), int(b + c), 0.5).pvalue)


def paired_difference(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray],
                      z: float = Z95) -> dict[str, float]:
    """B - A of one rate on the same images: the difference (fraction), its 95% interval (Wald for
    paired proportions, on the images both count) and the exact McNemar p-value."""
    counted = a[1] & b[1]
    sa, sb = a[0][counted], b[0][counted]
    m = int(counted.sum())
    only_a, only_b = int((sa & ~sb).sum()), int((~sa & sb).sum())
    if m == 0:
        return {"diff": math.nan, "diff_lo": math.nan, "diff_hi": math.nan, "p_value": math.nan,
                "only_a": 0, "only_b": 0}
    d = (only_b - only_a) / m
    half = z * math.sqrt(max(only_a + only_b - (only_b - only_a) ** 2 / m, 0.0)) / m
    return {"diff": d, "diff_lo": d - half, "diff_hi": d + half, "p_value": mcnemar_exact(only_a, only_b),
            "only_a": only_a, "only_b": only_b}


def half_width_table(sizes: Sequence[int], rates: Sequence[float]) -> pd.DataFrame:
    """Half-width (percentage points) of the 95% Wilson interval for each number of eval images and
    true rate: what README's "how many images" table shows."""
    out = []
    for n in sizes:
        row: dict = {"n": n}
        for p in rates:
            lo, hi = wilson(round(p * n), n)
            row[f"rate {p:.0%}"] = float(hi - lo) / 2 * 100
        out.append(row)
    return pd.DataFrame(out)
