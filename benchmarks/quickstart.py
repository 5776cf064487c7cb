"""Benchmark: the quickstart's wall time (cold and warm cache) and the runner's PGD throughput vs
torchattacks.PGD called directly on the same model and batches, side by side in one process.

    .venv/bin/python benchmarks/quickstart.py [--cold] [--out benchmarks/results/quickstart.json]

Writes JSON; nothing here is asserted (timings are noisy: compare the ratio measured in one run).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torchattacks

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import attacks  # noqa: E402
from bench.data import load_dataset, make_splits  # noqa: E402
from benchlib import interleaved_medians, trained_models, write_result  # noqa: E402


def time_quickstart(cache: str | None) -> dict:
    """Wall time of `python -m bench run` (the README's quickstart) in a scratch folder, with the run's
    own time per phase and cell counts from its manifest."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if cache:
        env["BENCH_CACHE"] = cache
    with tempfile.TemporaryDirectory() as work:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bench", "run"], cwd=work, env=env, capture_output=True,
                              text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"quickstart failed:\n{proc.stderr[-2000:]}")
        manifest = json.loads((Path(work) / "reports" / "runs" / "latest" / "manifest.json").read_text())
    return {"wall_seconds": round(wall, 2), "phase_seconds": manifest.get("phase_seconds"), "cells": manifest["cells"]}


def pgd_throughput(model_name: str, n: int, batch_size: int, repeats: int) -> dict:
    """Images/s of the runner's `pgd` (adapter + clip + budget check) vs torchattacks.PGD directly."""
    ds = load_dataset("fashion-mnist")
    model = trained_models([model_name], ds)[model_name]
    _, ev = make_splits(ds, 10, n, 0)
    budget = attacks.Budget("linf", 0.1)
    ours = attacks.create("pgd")
    fitted = ours.fit(model, [], budget, seed=0)

    def run_ours():
        for i in range(0, n, batch_size):
            x, y = ev.x[i:i + batch_size], ev.y[i:i + batch_size]
            budget.check(x, ours.perturb(fitted, model, x, y))

    def run_direct():
        atk = torchattacks.PGD(model, eps=0.1, alpha=0.025, steps=10, random_start=True)
        for i in range(0, n, batch_size):
            atk(ev.x[i:i + batch_size], ev.y[i:i + batch_size])

    med = interleaved_medians({"runner_pgd": run_ours, "torchattacks_pgd": run_direct}, repeats)
    return {
        "model": model_name, "images": n, "batch_size": batch_size, "repeats": repeats,
        "runner_pgd_images_per_s": round(n / med["runner_pgd"], 1),
        "torchattacks_pgd_images_per_s": round(n / med["torchattacks_pgd"], 1),
        "runner_over_direct_time_ratio": round(med["runner_pgd"] / med["torchattacks_pgd"], 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cold", action="store_true", help="also time a run from an empty cache (trains the zoo)")
    p.add_argument("--model", default="mini:resnet")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "quickstart.json"))
    a = p.parse_args()
    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                          "threads": torch.get_num_threads()}}
    if a.cold:
        with tempfile.TemporaryDirectory() as cache:
            result["quickstart_cold"] = time_quickstart(cache)
    time_quickstart(None)  # make sure the default cache is warm
    result["quickstart_warm"] = time_quickstart(None)
    result["pgd"] = pgd_throughput(a.model, n=1000, batch_size=250, repeats=a.repeats)
    write_result(result, a.out)


if __name__ == "__main__":
    main()
