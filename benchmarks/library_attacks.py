"""Library minimum-norm attacks on the mini zoo: the dry run's estimate against a measured run, and how
far each DeepFool gets without any budget (torchattacks', foolbox's and ours, `attacks/deepfool.py`).

The first part runs `bench run` on `--attacks` (L2 eps 1, untargeted) after three dry runs of the same
grid and compares, per group, the estimate with the run's seconds (`timings.csv`). The second runs each
DeepFool on the correctly classified ones of the first `--images` test images of `--model`, unbounded,
and records the share it fools and the median L2 norm of its fooling perturbations; last, the margin
after each of torchattacks' first DeepFool steps on an image it never fools.

    python benchmarks/library_attacks.py       # about 6 minutes on two CPU cores, with the zoo trained

Run it with nothing else running. Writes JSON; asserts nothing.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402
import zoo  # noqa: E402
from attacks.deepfool import deepfool  # noqa: E402
from bench.data import load_dataset  # noqa: E402
from benchlib import trained_models, write_result  # noqa: E402
from dryrun_estimate import estimates, measured  # noqa: E402

ATTACKS = "torchattacks:DeepFool,foolbox:L2DeepFoolAttack,torchattacks:CW"


def unbounded(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, dict[str, float]]:
    """Per DeepFool: the share of `x` it fools with no budget, the median L2 norm where it fools, seconds."""
    import foolbox
    import torchattacks

    runs = {
        "torchattacks:DeepFool": lambda: torchattacks.DeepFool(model, steps=50)(x, y),
        "foolbox:L2DeepFoolAttack": lambda: foolbox.attacks.L2DeepFoolAttack(steps=50)(
            foolbox.PyTorchModel(model, bounds=(0, 1)), x, y, epsilons=None)[0],
        "ours (attacks/deepfool.py, l2)": lambda: (x + deepfool(model, x, norm="l2", steps=50)).clamp(0, 1),
    }
    out = {}
    for name, run in runs.items():
        t0 = time.perf_counter()
        x_adv = run()
        seconds = time.perf_counter() - t0
        with torch.no_grad():
            fooled = model(x_adv).argmax(1) != y
        norms = (x_adv - x).flatten(1).norm(dim=1)
        out[name] = {"fooled": round(float(fooled.float().mean()), 3),
                     "median_l2_of_fooled": round(float(norms[fooled].median()), 3) if fooled.any() else None,
                     "fooled_within_l2_1": round(float((fooled & (norms <= 1)).float().mean()), 3),
                     "seconds": round(seconds, 1)}
    return out


def margin_trace(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 8) -> list[float]:
    """torchattacks' DeepFool, step by step, on the first image its 50 steps leave correctly classified:
    the true logit's margin over the best other after each step (positive: still correct)."""
    import torchattacks

    atk = torchattacks.DeepFool(model, steps=50)
    x_adv = atk(x, y)
    with torch.no_grad():
        left = model(x_adv).argmax(1) == y
    if not left.any():
        return []
    i = int(left.nonzero()[0])
    image, label, margins = x[i:i + 1].clone(), y[i], []
    for _ in range(steps):
        _, _, image = atk._forward_indiv(image.clone(), label)  # one of its steps (a private method)
        with torch.no_grad():
            logits = model(image)[0]
        margins.append(round(float(logits[label] - logits[torch.arange(len(logits)) != label].max()), 5))
    return margins


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--attacks", default=ATTACKS)
    p.add_argument("--model", default="mini:resnet")
    p.add_argument("--n", type=int, default=200, help="eval images of the measured run")
    p.add_argument("--images", type=int, default=100, help="test images of the unbounded comparison")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "library_attacks.json"))
    a = p.parse_args()
    grid = dict(attacks=a.attacks, models=[a.model], norm="l2", eps=[1.0], n=a.n, mode="untargeted")
    cache = zoo.cache_root(None)  # the trained zoo (no fits: these attacks learn nothing)
    runs = [estimates(None, cache, True, **grid) for _ in range(3)]
    with tempfile.TemporaryDirectory() as tmp:
        result = bench.run(output=tmp, log=None, format="csv", **grid)
        seconds = measured(Path(result.run_dir))
    groups = [{"attack": k[0], "source": k[2], "measured_s": round(v, 1),
               "estimates_s": [r[k] for r in runs], "ratio": round(sorted(r[k] for r in runs)[1] / v, 2)}
              for k, v in seconds.items()]
    ds = load_dataset("fashion-mnist")
    model = trained_models([a.model], ds)[a.model]
    x, y = ds.test.x[:a.images], ds.test.y[:a.images]
    with torch.no_grad():
        right = model(x).argmax(1) == y
    write_result({"benchmark": "library_attacks", "model": a.model, "grid": grid, "dry_run_vs_measured": groups,
                  "unbounded_deepfool": {"images": int(right.sum()), **unbounded(model, x[right], y[right])},
                  "torchattacks_deepfool_margins": margin_trace(model, x[right], y[right])}, a.out)


if __name__ == "__main__":
    main()
