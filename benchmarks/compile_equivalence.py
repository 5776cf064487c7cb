"""`--compile` against eager on the quickstart grid (issue 18, CPU part): the same `bench run` twice,
eager and compiled, each with its own fit cache (so VizPert is fitted through the compiled model too),
then the largest per-cell difference of every rate and perceptibility column, and both wall times.

    python benchmarks/compile_equivalence.py                      # the quickstart grid
    python benchmarks/compile_equivalence.py --n 200 --models mini:resnet

Writes JSON (benchmarks/results/compile_equivalence.json); asserts nothing. The stated tolerance
(README, tests/test_compile.py) is 1 point per rate and 1e-3 SSIM.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402
import zoo  # noqa: E402
from benchlib import write_result  # noqa: E402

RATES = ["clean_acc", "fooling_rate", "success_on_correct", "targeted_success", "robust_acc"]
PERCEPTIBILITY = ["ssim_mean", "psnr_mean", "linf_max", "l2_mean"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=None, help="eval images (default: the quickstart's)")
    p.add_argument("--models", default=None, help="comma-separated (default: the quickstart's)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "compile_equivalence.json"))
    a = p.parse_args()
    options = {k: v for k, v in (("n", a.n), ("models", a.models)) if v is not None}
    work = Path(tempfile.mkdtemp(prefix="compile-eq-"))
    runs, walls = {}, {}
    for tag, compiled in (("eager", False), ("compiled", True)):
        cache = work / f"cache-{tag}"
        shutil.copytree(zoo.cache_root(None) / "zoo", cache / "zoo")  # trained zoo, no fitted attacks
        t0 = time.perf_counter()
        r = bench.run(**options, compile=compiled, cache_dir=str(cache), output=str(work), run_id=tag, log=None)
        walls[tag] = round(time.perf_counter() - t0, 1)
        runs[tag] = r.results()
    keys = ["attack", "eps", "targeted", "source", "target"]
    both = runs["eager"].merge(runs["compiled"], on=keys, suffixes=("", "_c"))
    diffs = {}
    for col in RATES + PERCEPTIBILITY:
        d = (both[col] - both[f"{col}_c"]).abs()
        scale = 100.0 if col in RATES else 1.0  # rates in points
        diffs[col] = round(float(d.max()) * scale, 6) if d.notna().any() else None
    changed = {col: int(((both[col] - both[f"{col}_c"]).abs() > 0).sum()) for col in RATES}
    per_attack = {f"{a} targeted={t}": {col: round(float((g[col] - g[f"{col}_c"]).abs().max()) * 100, 2)
                                         for col in ("fooling_rate", "targeted_success") if g[col].notna().any()}
                  for (a, t), g in both.groupby(["attack", "targeted"])}
    write_result({
        "benchmark": "compile_equivalence", "options": options or "quickstart defaults", "cells_x_targets": len(both),
        "rows_eager": len(runs["eager"]), "rows_compiled": len(runs["compiled"]),
        "max_abs_difference": diffs, "rows_with_any_difference": changed,
        "max_rate_difference_per_attack_points": per_attack,
        "tolerance": {"rates_points": 1.0, "ssim": 1e-3},
        "within_tolerance": bool(all(diffs[c] is None or diffs[c] <= 1.0 for c in RATES)
                                 and (diffs["ssim_mean"] or 0.0) <= 1e-3),
        "wall_seconds": walls, "torch": torch.__version__, "threads": torch.get_num_threads(),
    }, a.out)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
