"""VizPert's G(c) above 128 classes (ImageNet has 1000): each perturb step generates 128 classes; with
`class_batch = "random"` they are random classes and the step's images whose target is not among them
are dropped (about 128 x 128 / C of 128 images are kept), with `"targets"` they are the classes the
step's images target (all kept). Same generator work per step; compared at equal steps on a synthetic
C-class set (`bench.data.load_synthetic`, 8x8 templates, noise 0.1) with a tiny CNN trained in seconds (CPU), targeted success on held-out images.

    .venv/bin/python benchmarks/vizpert_many_classes.py --classes 300 --steps 150 --seeds 0,1
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import attacks
from attacks import Budget
from bench.data import load_synthetic
from bench.targets import make_targets
from benchlib import write_result
from zoo import Normalized
from zoo.train import accuracy, fit_classifier

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--classes", type=int, default=300)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--eps", type=float, default=0.15)
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--n-fit", type=int, default=2000)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "vizpert_many_classes.json"))
    a = p.parse_args()
    torch.set_num_threads(2)
    # finer templates and less noise than the test default, so that a tiny CNN separates many classes
    ds = load_synthetic(num_classes=a.classes, n_train=max(40 * a.classes, a.n_fit), n_test=a.n,
                        template_size=8, noise=0.1)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(64, a.classes))
    fit_classifier(net, ds.mean, ds.std, ds.train.x, ds.train.y, epochs=6, lr=1e-2, seed=0)
    model = Normalized(net, ds.mean, ds.std, name=f"tiny{a.classes}")
    clean_acc = accuracy(model, ds.test.x, ds.test.y)
    loader = DataLoader(TensorDataset(ds.train.x[:a.n_fit], ds.train.y[:a.n_fit]), batch_size=500)
    x, y = ds.test.x, ds.test.y
    target = make_targets(y, a.classes, seed=1)
    rows = []
    for seed in (int(s) for s in a.seeds.split(",")):
        for mode in ("random", "targets"):
            attack = attacks.create("vizpert", steps=a.steps, class_batch=mode)
            t0 = time.perf_counter()
            fitted = attack.fit(model, loader, Budget("linf", a.eps), seed=seed)
            seconds = time.perf_counter() - t0
            with torch.no_grad():
                hit = float((model(attack.perturb(fitted, model, x, y, target)).argmax(1) == target).float().mean())
                fooled = float((model(attack.perturb(fitted, model, x, y, None)).argmax(1) != y).float().mean())
            rows.append({"seed": seed, "class_batch": mode, "fit_seconds": round(seconds, 1),
                         "targeted_success": round(hit, 4), "untargeted_fooling": round(fooled, 4)})
            print(rows[-1], flush=True)
    summary = {mode: {k: round(statistics.mean(r[k] for r in rows if r["class_batch"] == mode), 4)
                      for k in ("fit_seconds", "targeted_success", "untargeted_fooling")}
               for mode in ("random", "targets")}
    write_result({"benchmark": "vizpert_many_classes", "classes": a.classes, "steps": a.steps, "eps": a.eps,
                  "n_fit": a.n_fit, "n": a.n, "model": "2-conv CNN on the synthetic set",
                  "clean_accuracy": round(clean_acc, 4),
                  "images_kept_per_step_random": round(128 * 128 / (a.classes - 1), 1), "rows": rows,
                  "mean": summary}, a.out)


if __name__ == "__main__":
    main()
