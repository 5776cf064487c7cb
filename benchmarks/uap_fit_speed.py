"""UAP's fit (its DeepFool steps) in this tree against another revision's, side by side: seconds, the
images through forward passes with gradients and through backward passes, and whether the fitted
deltas agree (issue 18: UAP's fits were 55% of the ImageNet config's projected time).

Models: the trained mini zoo on Fashion-MNIST (real boundaries: how fast real images flip decides
what skipping flipped ones saves), and a random-initialised timm model on random 3-channel images
of --size pixels (the ImageNet config's model family, scaled down for a CPU).

    .venv/bin/python benchmarks/uap_fit_speed.py --before a168804

Writes JSON; asserts nothing.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import attacks  # noqa: E402
import attacks.uap as uap_module  # noqa: E402
from bench.data import load_dataset, make_splits  # noqa: E402
from benchlib import baseline_tree, trained_models, write_result  # noqa: E402
from zoo.normalize import Normalized  # noqa: E402

MINI = ["mini:resnet", "mini:densenet", "mini:vgg"]


class GradRows(nn.Module):
    """`model`, counting the images it sees with gradients on (DeepFool's steps; the no-grad
    forwards that only read labels are not counted) and the images its backward passes carry."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.rows = self.backward_rows = 0

    def _count_backward(self, grad: torch.Tensor) -> None:
        self.backward_rows += len(grad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.requires_grad:
            self.rows += len(x)
            x.register_hook(self._count_backward)
        return self.model(x)


def deepfool_of(tree: Path) -> Callable[..., torch.Tensor]:
    """`attacks/deepfool.py`'s `deepfool` as it is in `tree` (loaded by path, beside this tree's)."""
    spec = importlib.util.spec_from_file_location("deepfool_before", tree / "attacks" / "deepfool.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.deepfool


def fit_once(model: GradRows, x: torch.Tensor, y: torch.Tensor, budget: attacks.Budget,
             deepfool: Callable[..., torch.Tensor], params: dict[str, Any]) -> dict[str, Any]:
    """One UAP fit with `deepfool` as its inner step: seconds, rows with gradients, the delta, fit rate."""
    uap_module.deepfool = deepfool
    model.rows = model.backward_rows = 0
    t0 = time.perf_counter()
    fitted = attacks.create("uap", **params).fit(model, DataLoader(TensorDataset(x, y), batch_size=1000),
                                                  budget, seed=0)
    return {"seconds": time.perf_counter() - t0, "rows": model.rows, "backward_rows": model.backward_rows,
            "delta": fitted.tensors["delta"],
            "fit_rate": fitted.meta["fit_rate"][0], "passes": fitted.meta["passes"][0]}


def compare(label: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, budget: attacks.Budget,
            before: Callable[..., torch.Tensor], after: Callable[..., torch.Tensor], repeats: int,
            params: dict[str, Any]) -> dict[str, Any]:
    """Fits with the two DeepFools, interleaved `repeats` times; medians of the seconds."""
    counted = GradRows(model.eval())
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for _ in range(repeats):
        for key, fn in (("before", before), ("after", after)):
            runs[key].append(fit_once(counted, x, y, budget, fn, params))
    med = {k: sorted(r["seconds"] for r in v)[len(v) // 2] for k, v in runs.items()}
    b, a = runs["before"][0], runs["after"][0]
    row = {"model": label, "n_fit": len(x), "eps": budget.eps, "norm": budget.norm, "params": params,
           "seconds_before": round(med["before"], 2), "seconds_after": round(med["after"], 2),
           "speedup": round(med["before"] / med["after"], 2),
           "grad_rows_before": b["rows"], "grad_rows_after": a["rows"],
           "rows_ratio": round(b["rows"] / max(a["rows"], 1), 2),
           "backward_rows_before": b["backward_rows"], "backward_rows_after": a["backward_rows"],
           "backward_rows_ratio": round(b["backward_rows"] / max(a["backward_rows"], 1), 2),
           "passes_before_after": [b["passes"], a["passes"]],
           "fit_rate_before_after": [round(b["fit_rate"], 4), round(a["fit_rate"], 4)],
           "delta_max_abs_diff": float((b["delta"] - a["delta"]).abs().max())}
    print(row, flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", default="a168804", help="the revision to compare with (its attacks/deepfool.py)")
    p.add_argument("--n-fit", type=int, default=1000, help="fit images per mini-zoo model")
    p.add_argument("--timm", default="resnet18", help="random-init timm model ('' to skip)")
    p.add_argument("--size", type=int, default=64, help="its input size")
    p.add_argument("--timm-n-fit", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "uap_fit_speed.json"))
    a = p.parse_args()
    after = uap_module.deepfool
    rows = []
    with tempfile.TemporaryDirectory() as tmp, baseline_tree(ROOT, a.before, Path(tmp) / "before") as tree:
        before = deepfool_of(tree)
        ds = load_dataset("fashion-mnist")
        fit, _ = make_splits(ds, a.n_fit, 1000, 0)
        for name, model in trained_models(MINI, ds).items():
            rows.append(compare(name, model, fit.x, fit.y, attacks.Budget("linf", 0.1), before, after,
                                a.repeats, {}))
        if a.timm:
            import timm

            torch.manual_seed(0)
            model = Normalized(timm.create_model(a.timm, num_classes=1000), (0.485, 0.456, 0.406),
                               (0.229, 0.224, 0.225))
            g = torch.Generator().manual_seed(0)
            x = torch.rand(a.timm_n_fit, 3, a.size, a.size, generator=g)
            rows.append(compare(f"timm:{a.timm} (random init, {a.size}x{a.size})", model, x,
                                torch.zeros(len(x), dtype=torch.long), attacks.Budget("linf", 8 / 255), before,
                                after, max(1, a.repeats - 1), {"batch_size": 32}))
    write_result({"benchmark": "uap_fit_speed", "before": a.before, "device": "cpu",
                  "threads": torch.get_num_threads(), "rows": rows,
                  "note": "medians of interleaved fits; rows: images through a forward with gradients; "
                          "backward_rows: images through backward passes"}, a.out)


if __name__ == "__main__":
    main()
