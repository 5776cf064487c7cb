"""Cross-check of our batched `uap` against adversarial-robustness-toolbox's UniversalPerturbation
(DeepFool attacker, the same algorithm run one image at a time) on mini-zoo models: same fit
images, eps, passes, target rate and DeepFool settings; fooling rates on the fit and eval splits
and fit seconds, side by side in one run. ART is a `dev` extra, not a runtime dependency.

    python benchmarks/uap_vs_art.py [--models mini:vgg,mini:resnet] [--n-fit 1000] [--out FILE]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import attacks  # noqa: E402
from bench.data import load_dataset, make_splits  # noqa: E402
from benchlib import trained_models, write_result  # noqa: E402


def fooling(model, x: torch.Tensor, delta: torch.Tensor) -> float:
    with torch.no_grad():
        clean = model(x).argmax(1)
        adv = model((x + delta).clamp(0, 1)).argmax(1)
    return float((clean != adv).float().mean())


def run_art(model, x_fit: torch.Tensor, eps: float, passes: int, target_rate: float, steps: int,
            overshoot: float) -> tuple[torch.Tensor, float]:
    from art.attacks.evasion import UniversalPerturbation
    from art.estimators.classification import PyTorchClassifier

    random.seed(0)  # ART's UniversalPerturbation orders the fit images with Python's random.sample

    clf = PyTorchClassifier(model=model, loss=torch.nn.CrossEntropyLoss(), input_shape=tuple(x_fit.shape[1:]),
                            nb_classes=int(model(x_fit[:1]).shape[1]), clip_values=(0.0, 1.0), device_type="cpu")
    attack = UniversalPerturbation(clf, attacker="deepfool", attacker_params={"max_iter": steps, "epsilon": overshoot,
                                                                              "verbose": False},
                                   delta=1.0 - target_rate, max_iter=passes, eps=eps, norm=np.inf, verbose=False)
    t0 = time.perf_counter()
    attack.generate(x_fit.numpy())
    seconds = time.perf_counter() - t0
    return torch.from_numpy(np.asarray(attack.noise, dtype=np.float32)).reshape(1, *x_fit.shape[1:]), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mini:vgg,mini:resnet")
    ap.add_argument("--n-fit", type=int, default=1000)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "uap_vs_art.json"))
    a = ap.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    ds = load_dataset("fashion-mnist")
    fit, ev = make_splits(ds, a.n_fit, a.n, 0)
    names = a.models.split(",")
    models = trained_models(names, ds, log=lambda m: print(m, file=sys.stderr))
    budget = attacks.Budget("linf", a.eps)
    settings = {"max_passes": 5, "target_rate": 0.8, "deepfool_steps": 10, "overshoot": 0.02}
    rows = []
    for name in names:
        model = models[name]
        ours = attacks.create("uap", **settings)
        t0 = time.perf_counter()
        fitted = ours.fit(model, DataLoader(TensorDataset(fit.x, fit.y), batch_size=250), budget, seed=0)
        our_seconds = time.perf_counter() - t0
        v_art, art_seconds = run_art(model, fit.x, a.eps, settings["max_passes"], settings["target_rate"],
                                     settings["deepfool_steps"], settings["overshoot"])
        v_ours = fitted.tensors["delta"]
        row = {"model": name, "eps": a.eps, "n_fit": a.n_fit, "n_eval": a.n,
               "ours": {"fit_fooling": fooling(model, fit.x, v_ours), "eval_fooling": fooling(model, ev.x, v_ours),
                        "seconds": round(our_seconds, 2), "passes": fitted.meta["passes"][0]},
               "art": {"fit_fooling": fooling(model, fit.x, v_art), "eval_fooling": fooling(model, ev.x, v_art),
                       "seconds": round(art_seconds, 2)}}
        row["eval_fooling_gap_points"] = round(100 * (row["art"]["eval_fooling"] - row["ours"]["eval_fooling"]), 1)
        row["speedup"] = round(art_seconds / our_seconds, 2)
        print(row, flush=True)
        rows.append(row)
    import art

    write_result({"benchmark": "uap_vs_art", "settings": settings, "art_version": art.__version__,
                  "torch_threads": torch.get_num_threads(), "rows": rows}, a.out)


if __name__ == "__main__":
    main()
