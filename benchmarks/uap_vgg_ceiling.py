"""How far can a single universal Linf perturbation (eps 0.1) fool mini:vgg? Issue 4 asks for 45%
white-box; this runs the project's `sgd_uap` with more fit images, more steps, larger steps, a
different loss clip and other seeds, and reports fit-split and eval fooling rates (white-box on
mini:vgg, transfer to mini:resnet and mini:densenet) beside random sign noise and PGD-10.

    .venv/bin/python benchmarks/uap_vgg_ceiling.py [--out benchmarks/results/uap_vgg_ceiling.json]

Writes JSON; asserts nothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import attacks  # noqa: E402
from bench import metrics  # noqa: E402
from bench.data import load_dataset, make_splits  # noqa: E402
from bench.models import load_models, train_missing  # noqa: E402
from benchlib import write_result  # noqa: E402

NAMES = ["mini:resnet", "mini:densenet", "mini:vgg"]
VARIANTS = [  # (label, n_fit, sgd_uap parameters, fit seed)
    ("default (300 steps of 128, 1000 fit images)", 1000, {}, 0),
    ("10000 fit images, 1000 steps of 256", 10000, {"steps": 1000, "batch_size": 256}, 0),
    ("10000 fit images, 3000 steps of 256", 10000, {"steps": 3000, "batch_size": 256}, 0),
    ("10000 fit images, 1000 steps, step 0.1 eps", 10000, {"steps": 1000, "batch_size": 256, "step_size": 0.1}, 0),
    ("10000 fit images, 1000 steps, loss clip 3", 10000, {"steps": 1000, "batch_size": 256, "loss_clip": 3.0}, 0),
    ("10000 fit images, 1000 steps, seed 1", 10000, {"steps": 1000, "batch_size": 256}, 1),
    ("10000 fit images, 1000 steps, seed 2", 10000, {"steps": 1000, "batch_size": 256}, 2),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "uap_vgg_ceiling.json"))
    a = p.parse_args()
    ds = load_dataset("fashion-mnist")
    train_missing(NAMES, ds, log=lambda _: None)
    models = load_models(NAMES, ds, torch.device("cpu"))
    _, ev = make_splits(ds, 1000, 1000, 0)
    clean = {n: metrics.predict(m, ev.x) for n, m in models.items()}
    budget = attacks.Budget("linf", 0.1)
    source = models["mini:vgg"]

    def fooling(attack, fitted) -> dict[str, float]:
        x_adv = torch.cat([attack.perturb(fitted, source, ev.x[i:i + 250], ev.y[i:i + 250])
                           for i in range(0, len(ev), 250)])
        return {n.split(":")[1]: round(100 * metrics.fooling_rate(clean[n], metrics.predict(m, x_adv)), 1)
                for n, m in models.items()}

    rows = []
    for name in ("noise", "pgd"):
        attack = attacks.create(name)
        rows.append({"variant": name, "eval_fooling": fooling(attack, attack.fit(source, [], budget, seed=0))})
        print(rows[-1], flush=True)
    for label, n_fit, params, seed in VARIANTS:
        fit, _ = make_splits(ds, n_fit, 1000, 0)
        attack = attacks.create("sgd_uap", **params)
        t0 = time.perf_counter()
        fitted = attack.fit(source, DataLoader(TensorDataset(fit.x, fit.y), batch_size=1000), budget, seed=seed)
        seconds = time.perf_counter() - t0
        rows.append({"variant": f"sgd_uap: {label}", "params": params, "n_fit": n_fit, "seed": seed,
                     "fit_split_fooling": round(100 * fitted.meta["fit_rate"][0], 1),
                     "eval_fooling": fooling(attack, fitted), "fit_seconds": round(seconds, 1)})
        print(rows[-1], flush=True)
    best = max(r["eval_fooling"]["vgg"] for r in rows if r["variant"].startswith("sgd_uap"))
    write_result({"benchmark": "uap_vgg_ceiling", "eps": 0.1, "norm": "linf", "eval_images": len(ev),
                  "source": "mini:vgg", "rows": rows, "best_sgd_uap_whitebox_vgg": best}, a.out)


if __name__ == "__main__":
    main()
