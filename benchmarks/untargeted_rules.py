"""The untargeted rule of class-universal attacks, isolated: ONE VizPert G(c) fit per mini model
(the quickstart's settings, fit split of 1000 train images, seed 0), its untargeted cells scored
under `best_class` and under `best_other` on the quickstart's 1000 eval images. Success on
correctly classified images and the fooling rate, with 95% Wilson intervals.

    .venv/bin/python benchmarks/untargeted_rules.py   # -> benchmarks/results/untargeted_rules.json
"""
from __future__ import annotations

import json
from pathlib import Path

from torch.utils.data import DataLoader, TensorDataset

import attacks
from attacks import Budget
from bench.data import load_dataset, make_splits
from bench.metrics import predict
from benchlib import trained_models
from reports.stats import wilson

MODELS = ["mini:resnet", "mini:densenet", "mini:vgg"]


def main() -> None:
    ds = load_dataset("fashion-mnist")
    models = trained_models(MODELS, ds)
    fit, ev = make_splits(ds, 1000, 1000, 0)
    budget = Budget("linf", 0.1)
    rows = []
    for name, model in models.items():
        fitted = attacks.create("vizpert").fit(model, DataLoader(TensorDataset(fit.x, fit.y), batch_size=250), budget,
                                               seed=0)
        clean = predict(model, ev.x)
        correct = clean == ev.y
        for rule in ("best_class", "best_other"):
            adv = attacks.create("vizpert", untargeted=rule).perturb(fitted, model, ev.x, ev.y)
            pred = predict(model, adv)
            k, m = int((pred[correct] != ev.y[correct]).sum()), int(correct.sum())
            lo, hi = wilson(k, m)
            rows.append({"source": name, "rule": rule, "success_on_correct": round(k / m, 4),
                         "ci": [round(float(lo), 4), round(float(hi), 4)],
                         "fooling_rate": round(float((pred != clean).float().mean()), 4),
                         "untargeted_class": fitted.meta["untargeted_class"]})
            print(rows[-1], flush=True)
    out = Path(__file__).parent / "results" / "untargeted_rules.json"
    out.write_text(json.dumps({"attack": "vizpert (G(c), default parameters)", "eps": 0.1, "n_eval": 1000,
                               "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
