"""Settings of the generative peers chosen on held-out TRAIN images, never on the eval split:
each variant is fitted on the run's fit split (1000 train images, seed 0) of a mini model and its
white-box untargeted success on correctly classified images is measured on 1000 other train
images (the next 1000 of the same seeded permutation).

    .venv/bin/python benchmarks/generative_tuning.py   # -> benchmarks/results/generative_tuning_mini-resnet.json
    .venv/bin/python benchmarks/generative_tuning.py --variants 0,11   # some variants; the others' rows stay
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

import attacks
from attacks import Budget
from bench.data import load_dataset
from bench.metrics import predict
from benchlib import trained_models

VARIANTS = [
    ("gap", {}), ("cda", {}), ("ttp", {}),
    ("bia", {"layer": 1}), ("bia", {}), ("bia", {"layer": 3}), ("bia", {"layer": 4}),
    ("bia", {"output": "scale"}), ("bia", {"layer": 3, "output": "scale"}), ("gap", {"steps": 1000}),
    ("gap", {"output": "scale"}),
    # GAP's least-likely target against the clipped clean-label CE (sgd_uap's loss), image and universal
    ("gap", {"universal": True}), ("gap", {"universal": True, "loss": "ce"}), ("gap", {"loss": "ce"}),
]


def success_on_correct(attack: attacks.Attack, fitted: attacks.Fitted, model: torch.nn.Module, x: torch.Tensor,
                       y: torch.Tensor) -> float:
    """Untargeted success on the images `model` classifies correctly."""
    correct = predict(model, x) == y
    adv = torch.cat([attack.perturb(fitted, model, x[i:i + 250], y[i:i + 250]) for i in range(0, len(x), 250)])
    return float((predict(model, adv)[correct] != y[correct]).float().mean())


@torch.no_grad()
def logits(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([model(x[i:i + 250]) for i in range(0, len(x), 250)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mini:resnet")
    ap.add_argument("--only", default=None, help="comma list of attack names to run")
    ap.add_argument("--variants", default=None, help="comma list of variant indices into VARIANTS")
    a = ap.parse_args()
    ds = load_dataset("fashion-mnist")
    model = trained_models([a.model], ds)[a.model]
    perm = torch.randperm(len(ds.train), generator=torch.Generator().manual_seed(0))
    fit_idx, held_idx = perm[:1000], perm[1000:2000]  # make_splits(seed 0) takes the first 1000 as the fit split
    loader = DataLoader(TensorDataset(ds.train.x[fit_idx], ds.train.y[fit_idx]), batch_size=250)
    x, y = ds.train.x[held_idx], ds.train.y[held_idx]
    fit_xy = ds.train.x[fit_idx], ds.train.y[fit_idx]
    # how often each class is a fit image's least likely one (GAP's untargeted target)
    least_likely = torch.bincount(logits(model, fit_xy[0]).argmin(1), minlength=10).tolist()
    budget = Budget("linf", 0.1)
    rows = []
    only = set(a.only.split(",")) if a.only else None
    chosen = [int(i) for i in a.variants.split(",")] if a.variants else range(len(VARIANTS))
    for name, extra in [VARIANTS[i] for i in chosen]:
        if only and name not in only:
            continue
        attack = attacks.create(name, **extra)
        t0 = time.perf_counter()
        fitted = attack.fit(model, loader, budget, seed=0)
        seconds = time.perf_counter() - t0
        rows.append({"attack": name, "params": extra,
                     "heldout_success_on_correct": round(success_on_correct(attack, fitted, model, x, y), 4),
                     # the same on the fit images themselves: how much of it is memorised
                     "fit_split_success_on_correct": round(success_on_correct(attack, fitted, model, *fit_xy), 4),
                     "fit_seconds": round(seconds, 1), "loss_first": round(fitted.meta["loss_first"], 4),
                     "loss_last": round(fitted.meta["loss_last"], 4)})
        print(rows[-1], flush=True)
    out = Path(__file__).parent / "results" / f"generative_tuning_{a.model.replace(':', '-')}.json"
    extra_keys: dict = {}
    if out.is_file():  # earlier variants' rows (and notes) stay; a variant run again replaces its row
        def key(r: dict) -> str:
            return r["attack"] + json.dumps(r["params"], sort_keys=True)

        earlier = json.loads(out.read_text())
        new = {key(r) for r in rows}
        rows = [r for r in earlier["rows"] if key(r) not in new] + rows
        extra_keys = {k: v for k, v in earlier.items() if k not in ("model", "eps", "split", "rows")}
    out.write_text(json.dumps({"model": a.model, "eps": 0.1, "split": "fit: train[perm[:1000]], held out: "
                               "train[perm[1000:2000]] (seed 0)", "rows": rows, **extra_keys,
                               "least_likely_class_counts_fit_split": least_likely}, indent=2) + "\n")


if __name__ == "__main__":
    main()
