"""Intervals and paired tests against independent computations, and the per-image outcomes they
rest on (issue 16)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import binomtest

from bench.metrics import outcome_masks
from common.outcomes import pack_mask, unpack_mask
from reports.format import display_frame
from reports.stats import (add_intervals, bootstrap_mean, mcnemar_exact, paired_difference, success_masks,
                           wilson)

COUNTS = [(0, 10), (3, 10), (10, 10), (936, 1000), (1000, 1000), (5, 1000), (47, 60)]


@pytest.mark.parametrize("k,n", COUNTS)
def test_wilson_matches_scipy(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = wilson(k, n)
    assert float(lo) == pytest.approx(ci.low, abs=1e-9) and float(hi) == pytest.approx(ci.high, abs=1e-9)


def test_wilson_is_nan_without_trials():
    lo, hi = wilson(np.array([0, 1]), np.array([0, 2]))
    assert math.isnan(lo[0]) and math.isnan(hi[0]) and 0 < lo[1] < 0.5 < hi[1] < 1


@pytest.mark.parametrize("b,c", [(0, 0), (3, 0), (5, 7), (12, 30), (1, 1), (40, 41)])
def test_mcnemar_matches_the_binomial_sum(b, c):
    """Exact McNemar: twice the binomial(b + c, 1/2) tail at min(b, c), capped at 1, summed here by hand."""
    m = b + c
    tail = sum(math.comb(m, i) for i in range(min(b, c) + 1)) / 2 ** m if m else 0.5
    assert mcnemar_exact(b, c) == pytest.approx(min(1.0, 2 * tail), rel=1e-12)


def test_paired_difference_of_identical_outcomes_is_zero_with_p_one():
    rng = np.random.default_rng(0)
    s = rng.random(500) < 0.7
    d = paired_difference((s, np.ones(500, bool)), (s.copy(), np.ones(500, bool)))
    assert d["diff"] == 0 and d["diff_lo"] == 0 and d["diff_hi"] == 0 and d["p_value"] == 1.0


def test_paired_difference_counts_discordant_images():
    a = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1], bool)
    b = np.array([1, 0, 0, 1, 1, 1, 1, 1, 1, 1], bool)  # only A: 2, only B: 5
    d = paired_difference((a, np.ones(10, bool)), (b, np.ones(10, bool)))
    assert (d["only_a"], d["only_b"]) == (2, 5)
    assert d["diff"] == pytest.approx(0.3) and d["diff_lo"] < 0.3 < d["diff_hi"]
    assert d["p_value"] == pytest.approx(binomtest(2, 7, 0.5).pvalue)


def test_masks_roundtrip_and_recompute_every_rate():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (1001,), generator=g)
    pc = torch.where(torch.rand(1001, generator=g) < 0.9, y, (y + 1) % 10)
    pa = torch.where(torch.rand(1001, generator=g) < 0.4, pc, (pc + 3) % 10)
    target = (y + 5) % 10
    masks = outcome_masks(y, pc, pa, target)
    assert all(len(v) <= 172 for v in masks.values())  # 1001 bits in base64
    assert (unpack_mask(pack_mask(pc == y), 1001) == (pc == y).numpy()).all()
    row = pd.Series({"n": 1001, "targeted": True, "outcomes": masks})
    s, counted = success_masks(row, "success_on_correct")
    assert s.sum() / counted.sum() == pytest.approx(float(((pa == target) & (pc == y)).sum() / (pc == y).sum()))
    s, counted = success_masks(row, "fooling_rate")
    assert s.mean() == pytest.approx(float((pa != pc).float().mean())) and counted.all()
    with pytest.raises(ValueError):
        unpack_mask(masks["fooled"], 2000)


def test_bootstrap_is_seeded_and_covers_the_mean():
    rng = np.random.default_rng(1)
    rows = pd.DataFrame([{"n": 400, "targeted": False, "outcomes": outcome_masks(
        torch.zeros(400, dtype=torch.long), torch.zeros(400, dtype=torch.long),
        torch.from_numpy((rng.random(400) < p).astype(np.int64)))} for p in (0.3, 0.6)])
    lo, hi = bootstrap_mean(rows, "success_on_correct")
    assert (lo, hi) == bootstrap_mean(rows, "success_on_correct")
    assert lo < 0.45 < hi and hi - lo < 0.1


def test_results_get_wilson_bounds_and_tables_show_plus_minus():
    rows = pd.DataFrame([{"n": 1000, "clean_acc": 0.9, "fooling_rate": 0.936, "success_on_correct": 0.5,
                          "targeted_success": math.nan, "robust_acc": 0.45}])
    out = add_intervals(rows)
    lo, hi = wilson(450, 900)  # success on correct: 450 of the 900 correctly classified images
    assert out.success_on_correct_lo[0] == pytest.approx(float(lo)) and out.success_on_correct_hi[0] == pytest.approx(float(hi))
    assert list(out.columns[:4]) == ["n", "clean_acc", "clean_acc_lo", "clean_acc_hi"]
    shown = display_frame(pd.DataFrame({"attack": ["pgd"], "x": [93.6], "x_lo": [92.0], "x_hi": [95.0]}))
    assert list(shown.columns) == ["attack", "x"] and shown.x[0] == "93.6 ± 1.5"


def test_bootstrap_weights_are_drawn_once_and_cannot_be_changed():
    """Every mean over the same number of images resamples with the same weights: drawn once (most of
    a report's statistics time), read-only so that no caller can alter another's draws."""
    from reports.stats import bootstrap_weights

    w = bootstrap_weights(50, 200, 0)
    assert bootstrap_weights(50, 200, 0) is w and w.shape == (200, 50) and (w.sum(axis=1) == 50).all()
    with pytest.raises(ValueError):
        w[0, 0] = 1.0
    expected = np.random.default_rng(0).multinomial(50, np.full(50, 1 / 50), size=200)
    assert (w == expected).all()  # the draw bootstrap_mean made before it was cached


def _seed_cells(diffs: list[float], significant: list[bool], source: str = "m", half: float = 0.03) -> pd.DataFrame:
    """`compare_attacks` rows of one cell in len(diffs) seeds, each with a paired interval of +-`half`."""
    return pd.DataFrame({"norm": "linf", "eps": 0.1, "targeted": False, "source": source, "target": source,
                         "seed": range(len(diffs)), "attack_a": "a", "attack_b": "b", "rate": "success_on_correct",
                         "rate_a": 0.5, "rate_b": [0.5 + d for d in diffs], "diff": diffs,
                         "diff_lo": [d - half for d in diffs], "diff_hi": [d + half for d in diffs],
                         "p_value": [math.nan if math.isnan(d) else 0.01 if s else 0.5
                                     for d, s in zip(diffs, significant)],
                         "significant": significant})


def test_over_seeds_needs_the_gap_to_hold_over_seeds_and_over_images():
    """A gap that moves with the seed is n.s. even where the images alone would call it; a gap with
    no seed spread (a seed-free attack pair) is n.s. when the images cannot tell; a steady, large one
    holds. Checked against the t quantiles written out."""
    from reports.compare import over_seeds, seeds_markdown_frame

    t2 = 4.302652729911275  # Student t, 97.5% quantile, 2 df
    cells = pd.concat([_seed_cells([0.02, 0.04, 0.06], [False, True, True], "noisy"),
                       _seed_cells([0.10, 0.11, 0.12], [True, True, True], "steady"),
                       _seed_cells([-0.10, -0.11, math.nan], [True, True, False], "worse"),
                       _seed_cells([0.01, 0.01, 0.01], [False, False, False], "seed-free")], ignore_index=True)
    out = over_seeds(cells).set_index("source")
    assert list(out.index) == ["noisy", "steady", "worse", "seed-free"]
    noisy, steady, worse, free = (out.loc[s] for s in out.index)
    assert noisy["diff"] == pytest.approx(0.04) and noisy.diff_sd == pytest.approx(0.02)
    assert noisy.seed_hi - noisy["diff"] == pytest.approx(t2 * 0.02 / math.sqrt(3))
    assert noisy.image_lo == pytest.approx(0.01)  # the images alone would say B ...
    assert noisy.verdict == "n.s." and (noisy.seeds_b_ahead, noisy.seeds_a_ahead, noisy.seeds_ns) == (2, 0, 1)
    assert steady.verdict == "B ahead" and steady.seed_lo > 0 and steady.seeds_b_ahead == 3
    t1 = 12.706204736174707  # 1 df: the seed whose difference is missing is left out
    sd = 0.01 / math.sqrt(2)
    assert worse.seeds == 2 and worse.seed_hi - worse["diff"] == pytest.approx(t1 * sd / math.sqrt(2))
    assert worse.verdict == "A ahead" and (worse.seeds_b_ahead, worse.seeds_a_ahead, worse.seeds_ns) == (0, 2, 0)
    assert free.diff_sd == 0 and free.seed_lo > 0 and free.image_lo < 0 and free.verdict == "n.s."
    shown = seeds_markdown_frame(over_seeds(cells))
    assert list(shown["verdict"]) == ["n.s.", "B ahead", "A ahead", "n.s."]
    assert shown["over seeds (t)"].iloc[0] == f"± {t2 * 2 / math.sqrt(3):.1f}" and shown["over images"].iloc[0] == "± 3.0"
    assert over_seeds(cells[cells.seed == 0]).empty  # one seed: nothing to say over seeds
