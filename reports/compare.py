"""Paired comparisons on the same eval images: two runs of one grid (`bench report A B`) or two
attacks inside one run (`bench report RUN --compare A,B`). Per cell: each metric of A and B and
B - A, and for the headline rate (success on correct images, or targeted success) the difference
with its 95% interval and an exact McNemar p-value from the stored per-image outcomes. With several
attack seeds, `over_seeds` asks the second question a learned attack needs: does the difference
hold across fit seeds, or is it one seed's draw?"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from common.outcomes import headline_rate

from .stats import ALPHA, paired_difference, success_masks
from .tables import CELL_COLUMNS, SUMMARY_RATES, summary_table

COMPARED = ["clean_acc", "fooling_rate", "success_on_correct", "targeted_success", "robust_acc", "linf_mean",
            "l2_mean", "ssim_mean", "psnr_mean"]


def _paired(m: pd.DataFrame, a: pd.DataFrame, b: pd.DataFrame, ia: str, ib: str) -> pd.DataFrame:
    """Headline difference, interval and McNemar p for the matched rows (row indices in `ia`, `ib`)."""
    stats = []
    for _, row in m.iterrows():
        ra, rb = a.loc[row[ia]], b.loc[row[ib]]
        rate = headline_rate(bool(ra["targeted"]))
        ma, mb = success_masks(ra, rate), success_masks(rb, rate)
        if ma is None or mb is None or len(ma[0]) != len(mb[0]):
            d = {"diff": float(rb[rate] - ra[rate]), "diff_lo": math.nan, "diff_hi": math.nan, "p_value": math.nan}
        else:
            d = paired_difference(ma, mb)
        stats.append({"rate": rate, "rate_a": float(ra[rate]), "rate_b": float(rb[rate]), **d})
    out = (pd.DataFrame(stats, index=m.index) if stats else  # no matched row: the columns all the same
           pd.DataFrame(columns=["rate", "rate_a", "rate_b", "diff", "diff_lo", "diff_hi", "p_value"], index=m.index))
    out["significant"] = out.p_value < ALPHA
    return out


def _keys(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> list[str]:
    return keys + (["seed"] if "seed" in a.columns and "seed" in b.columns else [])


def compare_runs(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """The cells both runs have: each metric of A, of B and B - A (`<metric>_diff`), then the paired
    headline comparison (rate, rate_a, rate_b, diff, diff_lo, diff_hi, p_value, significant)."""
    keys = _keys(a, b, CELL_COLUMNS)
    keep = [c for c in COMPARED if c in a.columns and c in b.columns]
    left = a[keys + keep].assign(_ia=a.index)
    right = b[keys + keep].assign(_ib=b.index)
    m = left.merge(right, on=keys, suffixes=("_a", "_b"))
    for c in keep:
        m[f"{c}_diff"] = m[f"{c}_b"] - m[f"{c}_a"]
    paired = _paired(m, a, b, "_ia", "_ib")
    return pd.concat([m[keys + [f"{c}_{s}" for c in keep for s in ("a", "b", "diff")]], paired], axis=1)


def compare_attacks(df: pd.DataFrame, attack_a: str, attack_b: str) -> pd.DataFrame:
    """Two attacks of one run on the same cells (budget, mode, source, target, seed): the paired
    headline comparison, B - A."""
    keys = _keys(df, df, [k for k in CELL_COLUMNS if k != "attack"])
    left = df[df.attack == attack_a][keys].assign(_ia=lambda d: d.index)
    right = df[df.attack == attack_b][keys].assign(_ib=lambda d: d.index)
    m = left.merge(right, on=keys)
    paired = _paired(m, df, df, "_ia", "_ib")
    return pd.concat([m[keys].assign(attack_a=attack_a, attack_b=attack_b), paired], axis=1)


def compare_summary(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Summary rows of both runs side by side for their shared (attack, norm, eps), with differences."""
    sa, sb = summary_table(a), summary_table(b)
    cols = list(SUMMARY_RATES) + ["ssim"]
    m = sa[["attack", "norm", "eps"] + cols].merge(sb[["attack", "norm", "eps"] + cols], on=["attack", "norm", "eps"],
                                                   suffixes=(" A", " B"))
    for c in cols:
        m[f"{c} B-A"] = m[f"{c} B"] - m[f"{c} A"]
    return m


CELL_KEYS = ("attack", "attack_a", "attack_b", "norm", "eps", "targeted", "source", "target")


def over_seeds(cells: pd.DataFrame) -> pd.DataFrame:
    """Per cell without its seed (from `compare_attacks` or `compare_runs` rows of two or more seeds):
    A's and B's mean headline rate over seeds and the mean of the per-seed B - A, with two 95%
    intervals, one per source of noise, and how many seeds' McNemar tests favour B, favour A, or are
    not significant. Empty when the rows hold one seed.

    - over seeds (`seed_lo`, `seed_hi`): Student t on the per-seed differences (k - 1 degrees of
      freedom): does the gap survive a new fit seed, on these images? With 3 seeds the quantile is
      4.30, the honest price of few seeds.
    - over images (`image_lo`, `image_hi`): the mean of the per-seed paired (Wald) half-widths. The
      seeds share their images, so their image noise does not average out; the mean half-width
      bounds the seed-averaged difference's (a standard deviation of a mean is at most the mean of
      the standard deviations). Does the gap survive a new draw of images?

    The verdict is `B ahead` or `A ahead` only where both intervals exclude 0 on the same side: an
    attack pair that does not depend on the seed has no seed spread at all, and its verdict then
    rests on the images alone."""
    if "seed" not in cells.columns or cells.seed.nunique() < 2:
        return pd.DataFrame()
    from scipy.stats import t as student_t  # imported here, like binomtest: only comparisons need it

    keys = [c for c in CELL_KEYS if c in cells.columns]
    rows = []
    for key, group in cells.groupby(keys, sort=False):
        g = group[np.isfinite(group["diff"].to_numpy(float))]
        diffs = g["diff"].to_numpy(float)
        k = len(diffs)
        mean = float(diffs.mean()) if k else math.nan
        sd = float(diffs.std(ddof=1)) if k > 1 else math.nan
        seed_half = float(student_t.ppf(1 - ALPHA / 2, k - 1)) * sd / math.sqrt(k) if k > 1 else math.nan
        image_half = float(((g.diff_hi - g.diff_lo) / 2).mean()) if k else math.nan
        tested = g[g.p_value.notna()]
        rows.append({**dict(zip(keys, key)), "rate": group.rate.iloc[0], "seeds": k,
                     "rate_a": float(g.rate_a.mean()), "rate_b": float(g.rate_b.mean()),
                     "diff": mean, "diff_sd": sd, "seed_lo": mean - seed_half, "seed_hi": mean + seed_half,
                     "image_lo": mean - image_half, "image_hi": mean + image_half,
                     "seeds_b_ahead": int((tested.significant & (tested["diff"] > 0)).sum()),
                     "seeds_a_ahead": int((tested.significant & (tested["diff"] < 0)).sum()),
                     "seeds_ns": int((~tested.significant).sum())})
    out = pd.DataFrame(rows)
    b_ahead = (out.seed_lo > 0) & (out.image_lo > 0)
    a_ahead = (out.seed_hi < 0) & (out.image_hi < 0)
    out["verdict"] = np.select([b_ahead, a_ahead], ["B ahead", "A ahead"], "n.s.")
    return out


def _rates_head(cells: pd.DataFrame, keys: list[str], **between: pd.Series) -> pd.DataFrame:
    """The start of a readable comparison table: the cell's keys with `targeted` as a mode, the
    `between` columns, then A's and B's rate in percent."""
    out = cells[keys].copy()
    out["mode"] = out.pop("targeted").map({True: "targeted", False: "untargeted"})
    for name, column in between.items():
        out[name] = column
    out["A (%)"] = (cells.rate_a * 100).map(lambda v: f"{v:.1f}")
    out["B (%)"] = (cells.rate_b * 100).map(lambda v: f"{v:.1f}")
    return out


def seeds_markdown_frame(cells: pd.DataFrame) -> pd.DataFrame:
    """`over_seeds` as a readable table: percents, B - A with the half-widths of its interval over
    seeds and over images, the seed sd, the per-seed test counts, and the verdict."""
    out = _rates_head(cells, [c for c in CELL_KEYS if c in cells.columns], seeds=cells.seeds)
    out["B-A (points)"] = (cells["diff"] * 100).map(lambda v: f"{v:+.1f}")

    def half(lo: pd.Series, hi: pd.Series) -> list[str]:
        return ["" if np.isnan(h) else f"± {h:.1f}" for h in (hi - lo) / 2 * 100]

    out["over seeds (t)"] = half(cells.seed_lo, cells.seed_hi)
    out["over images"] = half(cells.image_lo, cells.image_hi)
    out["sd over seeds"] = (cells.diff_sd * 100).map(lambda v: "" if np.isnan(v) else f"{v:.1f}")
    out["per seed: B / A / n.s."] = [f"{b} / {a} / {n}" for b, a, n in
                                     zip(cells.seeds_b_ahead, cells.seeds_a_ahead, cells.seeds_ns)]
    out["verdict"] = cells.verdict
    return out


def paired_markdown_frame(cells: pd.DataFrame) -> pd.DataFrame:
    """The per-cell comparison as a readable table: percents, `B-A ± half-width`, p, and `n.s.` where
    the difference is not significant at 5%."""
    out = _rates_head(cells, [c for c in (*CELL_KEYS, "seed") if c in cells.columns])
    half = (cells.diff_hi - cells.diff_lo) / 2 * 100
    out["B-A (points)"] = [f"{d * 100:+.1f}" + ("" if np.isnan(h) else f" ± {h:.1f}")
                           for d, h in zip(cells["diff"], half)]
    out["p (McNemar)"] = cells.p_value.map(lambda p: "" if np.isnan(p) else f"{p:.3g}")
    out["significant"] = ["" if np.isnan(p) else ("yes" if s else "n.s.") for p, s in
                          zip(cells.p_value, cells.significant)]
    return out
