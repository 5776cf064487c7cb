"""Benchmark: perturbation cost of VizPert vs PGD-10 on the same model and batches, through the
runner's own path (Attack.perturb: the attack, clipping and the budget check).

    .venv/bin/python benchmarks/vizpert_cost.py [--model mini:resnet] [--out benchmarks/results/vizpert_cost.json]

`condition="class"` perturbing is a lookup and an add; `condition="image"` is one generator forward.
Fits are short (timing perturbation, not fit quality). Writes JSON; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import attacks  # noqa: E402
from bench.data import load_dataset, make_splits  # noqa: E402
from bench.targets import make_targets  # noqa: E402
from benchlib import interleaved_medians, trained_models, write_result  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mini:resnet")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=250)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "vizpert_cost.json"))
    a = p.parse_args()
    device = torch.device(a.device)
    ds = load_dataset("fashion-mnist")
    model = trained_models([a.model], ds, device=a.device)[a.model]
    fit, ev = make_splits(ds, 500, a.n, 0)
    loader = DataLoader(TensorDataset(fit.x.to(device), fit.y.to(device)), batch_size=250)
    target = make_targets(ev.y, ds.num_classes, 0)
    budget = attacks.Budget("linf", 0.1)
    specs = {"pgd10": ("pgd", {}), "vizpert_class": ("vizpert", {"steps": 20}),
             "vizpert_image": ("vizpert", {"steps": 20, "condition": "image"})}
    runs, info = {}, {}
    for key, (name, params) in specs.items():
        attack = attacks.create(name, **params)
        fitted = attack.fit(model, loader, budget, seed=0)
        if "generator_params" in fitted.meta:
            info[key] = {"generator_params": fitted.meta["generator_params"],
                         "generator_bytes_fp32": 4 * fitted.meta["generator_params"]}

        def run(attack=attack, fitted=fitted) -> None:
            for i in range(0, a.n, a.batch_size):
                x, y = ev.x[i:i + a.batch_size].to(device), ev.y[i:i + a.batch_size].to(device)
                attack.perturb(fitted, model, x, y, target[i:i + a.batch_size].to(device))
            if device.type == "cuda":
                torch.cuda.synchronize()
        runs[key] = run
    med = interleaved_medians(runs, a.repeats)
    ips = {k: round(a.n / v, 1) for k, v in med.items()}
    result = {
        "model": a.model, "device": str(device), "images": a.n, "batch_size": a.batch_size, "repeats": a.repeats,
        "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "images_per_second": ips,
        "speedup_vs_pgd10": {k: round(v / ips["pgd10"], 1) for k, v in ips.items() if k != "pgd10"},
        **info,
    }
    write_result(result, a.out)


if __name__ == "__main__":
    main()
