"""bf16 autocast against float32 on this CPU: PGD-10 on 256 Fashion-MNIST eval images with each mini
model, eager, timed interleaved. Where the CPU has no native bf16 (`bench.device.native_cpu_bf16()`
false, e.g. AVX2 only), oneDNN emulates it and `--amp bf16` is slower: what `bench run` warns about.

    .venv/bin/python benchmarks/cpu_bf16.py   # -> benchmarks/results/cpu_bf16.json
"""
from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import torch

import attacks
import zoo
from bench.data import load_dataset
from bench.device import native_cpu_bf16
from bench.models import input_spec
from benchlib import interleaved_medians, trained_models, write_result

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["mini:resnet", "mini:densenet", "mini:vgg"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cpu_bf16.json"))
    a = p.parse_args()
    ds = load_dataset("fashion-mnist")
    fp32 = trained_models(MODELS, ds)  # the cached zoo, trained first where missing
    x, y = ds.test.x[:a.n], ds.test.y[:a.n]
    pgd, budget = attacks.create("pgd"), attacks.Budget("linf", 0.1)
    seconds = {}
    for name in MODELS:
        models = {"none": fp32[name], "bf16": zoo.load(name, input_spec(ds), amp="bf16")}
        fitted = pgd.fit(models["none"], [], budget, seed=0)
        med = interleaved_medians({amp: (lambda m=m: pgd.perturb(fitted, m, x, y)) for amp, m in models.items()},
                                  a.repeats)
        seconds[name] = {"fp32": round(med["none"], 3), "bf16": round(med["bf16"], 3),
                         "bf16_time_over_fp32": round(med["bf16"] / med["none"], 2)}
    write_result({"benchmark": "cpu_bf16", "images": a.n, "attack": "pgd (10 steps)", "repeats": a.repeats,
                  "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                  "threads": torch.get_num_threads(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                  "native_bf16": native_cpu_bf16(), "torch": torch.__version__,
                  "seconds": seconds}, a.out)


if __name__ == "__main__":
    main()
