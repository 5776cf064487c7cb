"""The paper's open question 2: is the fooling rate a consistent measure of a class visualization's
quality across architectures? Fits the paper's visualizations (VizPert, objective="visualize") and
Simonyan's class-model visualizations (class_viz) on each mini-zoo model, then, per (seed, source,
class), compares:

- the fooling measure: the white-box targeted success of the visualization, scaled into the budget,
  towards its class (eval images of the other classes), and the same delta's success on the other models;
- a quality proxy the fooling rate does not see: how the *other* models classify the raw visualization
  (their mean softmax probability of its class): a visualization that carries the class's features,
  rather than one model's adversarial quirks, is recognised by networks that never guided it.

Spearman correlations over the points, and the per-class agreement of the fooling rate between
sources (does class c fool well on every architecture?).

    .venv/bin/python benchmarks/viz_quality.py [--seeds 0,1,2]  # -> benchmarks/results/viz_quality.json
"""
from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import pandas as pd
import torch
from scipy.stats import spearmanr
from torch.utils.data import DataLoader, TensorDataset

import attacks
from attacks import Budget
from bench.data import load_fashion_mnist, make_splits
from benchlib import trained_models, write_result

MODELS = ["mini:resnet", "mini:densenet", "mini:vgg"]
METHODS = {"vizpert visualize": ("vizpert", {"objective": "visualize"}), "class_viz": ("class_viz", {})}


@torch.no_grad()
def class_rows(models: dict, source: str, vis: torch.Tensor, deltas: torch.Tensor, x: torch.Tensor,
               y: torch.Tensor) -> list[dict]:
    """Per class c and target model: its softmax probability of c on the visualization, and the
    targeted success of x + delta_c towards c on the eval images not of class c."""
    rows = []
    for target, model in models.items():
        probs = model(vis).softmax(1)
        for c in range(len(vis)):
            other = y != c
            hit = model((x[other] + deltas[c]).clamp(0, 1)).argmax(1) == c
            rows.append({"source": source, "target": target, "cls": c, "prob": float(probs[c, c]),
                         "success": float(hit.float().mean())})
    return rows


def spearman(a: pd.Series, b: pd.Series) -> dict:
    rho, p = spearmanr(a, b)
    return {"rho": round(float(rho), 3), "p": float(f"{p:.2g}"), "points": int(len(a))}


def analyse(df: pd.DataFrame) -> dict:
    """Correlations over the (source, class) points averaged over the seeds, then over the (seed, source,
    class) points (which count a class once per seed: their p-values are optimistic), overall and per
    source, and the agreement of per-class fooling rates between sources."""
    wb = df[df.source == df.target].set_index(["seed", "source", "cls"])
    others = df[df.source != df.target].groupby(["seed", "source", "cls"])[["prob", "success"]].mean()
    pts = wb[["prob", "success"]].join(others.add_suffix("_others"))
    seed_means = pts.groupby(level=["source", "cls"]).mean()  # one point per (source, class): no seed counted twice
    out = {
        "over_seed_means_whitebox_success_vs_others_recognition": spearman(seed_means.success,
                                                                           seed_means.prob_others),
        "over_seed_means_whitebox_success_vs_transfer_success": spearman(seed_means.success,
                                                                         seed_means.success_others),
        "whitebox_success_vs_others_recognition": spearman(pts.success, pts.prob_others),
        "whitebox_success_vs_own_recognition": spearman(pts.success, pts.prob),
        "whitebox_success_vs_transfer_success": spearman(pts.success, pts.success_others),
        "per_source_whitebox_success_vs_others_recognition": {
            s: spearman(g.success, g.prob_others) for s, g in pts.groupby(level="source")},
        "means": {k: round(float(v), 4) for k, v in pts.mean().items()},
    }
    by_class = seed_means.success.unstack("source")  # class x source
    out["per_class_success_agreement_between_sources"] = {
        f"{a} ~ {b}": spearman(by_class[a], by_class[b]) for a, b in itertools.combinations(by_class.columns, 2)}
    out["per_class_whitebox_success_mean_over_seeds"] = by_class.round(4).to_dict()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--eps", type=float, default=0.1)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--n-fit", type=int, default=1000)
    a = p.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    ds = load_fashion_mnist()
    models = trained_models(MODELS, ds, log=print)  # the quickstart zoo: trained (minutes) only if not cached
    fit, ev = make_splits(ds, a.n_fit, a.n, seed=0)
    loader = DataLoader(TensorDataset(fit.x, fit.y), batch_size=250)
    budget = Budget("linf", a.eps)
    rows, seconds = [], {}
    for label, (name, params) in METHODS.items():
        attack = attacks.create(name, **params)
        for seed in seeds:
            for source, model in models.items():
                t0 = time.perf_counter()
                fitted = attack.fit(model, loader, budget, seed=seed)
                seconds.setdefault(label, []).append(time.perf_counter() - t0)
                for r in class_rows(models, source, fitted.tensors["visualizations"], fitted.tensors["deltas"],
                                    ev.x, ev.y):
                    rows.append({"method": label, "seed": seed, **r})
    df = pd.DataFrame(rows)
    write_result({
        "command": f"benchmarks/viz_quality.py --seeds {a.seeds} --eps {a.eps} --n {a.n} --n-fit {a.n_fit}",
        "dataset": "fashion-mnist (quickstart zoo)", "models": MODELS, "seeds": seeds, "eps": a.eps,
        "eval_images": a.n, "fit_images": a.n_fit,
        "fit_seconds_mean": {k: round(sum(v) / len(v), 2) for k, v in seconds.items()},
        "methods": {m: analyse(g) for m, g in df.groupby("method", sort=False)},
    }, Path(__file__).parent / "results" / "viz_quality.json")


if __name__ == "__main__":
    main()
