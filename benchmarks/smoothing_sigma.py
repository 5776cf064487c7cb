"""Randomized smoothing on the standard mini:resnet (not trained under noise): clean accuracy of the
8-sample majority vote against the noise level sigma, on the first 500 Fashion-MNIST test images,
with 95% Wilson intervals. Why configs/defended.toml uses a small sigma.

    .venv/bin/python benchmarks/smoothing_sigma.py   # -> benchmarks/results/smoothing_sigma.json
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

import zoo
from bench.data import load_dataset
from bench.metrics import predict
from bench.models import input_spec, train_missing
from reports.stats import wilson

SIGMAS = ["0.02", "0.05", "0.1", "0.25"]
N = 500


def main() -> None:
    ds = load_dataset("fashion-mnist")
    train_missing(["mini:resnet"], ds, log=lambda _: None)
    spec = input_spec(ds)
    x, y = ds.test.x[:N], ds.test.y[:N]
    rows = []
    for sigma in ["none", *SIGMAS]:
        name = "mini:resnet" if sigma == "none" else f"mini:resnet+smooth{sigma}x8"
        correct = int((predict(zoo.load(name, spec), x, 250) == y).sum())
        lo, hi = wilson(correct, N)
        rows.append({"model": name, "sigma": sigma, "clean_acc": correct / N, "lo": float(lo), "hi": float(hi)})
        print(f"{name:<28} clean accuracy {correct / N:.1%} [{lo:.1%}, {hi:.1%}]")
    out = Path(__file__).parent / "results" / "smoothing_sigma.json"
    out.write_text(json.dumps({"images": N, "samples": 8, "torch": torch.__version__, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
