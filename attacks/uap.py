"""Universal adversarial perturbations, the fair opponents of a per-class attack like VizPert:

- `uap`: Moosavi-Dezfooli et al., CVPR 2017, Algorithm 1, with DeepFool run on a batch of the
  not-yet-fooled images at once (`attacks.deepfool`), steps aggregated per batch and projected.
  By default each image's step is first taken to the budget's sphere (its sign times eps, for
  Linf) and the batch's steps are averaged ("unit"): Algorithm 1's plain sum lets the images far
  from a boundary dominate and saturates the delta in one batch.
- `sgd_uap`: Shafahi et al. 2020 ("Universal adversarial training"): projected sign-gradient
  ascent of the (clipped) batch loss over one delta.

With `targeted=true` both learn one delta per target class (DeepFool toward the class, or CE
descent toward it), used with the run's one-target-per-image protocol; untargeted cells then use
the class whose delta fooled most on the fit split (as `class_uap` does).
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .base import Attack, Fitted
from .budget import Budget, per_example_norm
from .deepfool import deepfool
from .errors import AttackError
from .vizpert.training import (apply_class_deltas, best_untargeted_class, deterministic_algorithms, fit_inputs,
                               random_targets, scale_to_budget)


def project(delta: torch.Tensor, budget: Budget) -> torch.Tensor:
    """Onto the budget ball, per example (Linf: clamp; L2: rescale when longer than eps)."""
    if budget.norm == "linf":
        return delta.clamp(-budget.eps, budget.eps)
    norms = per_example_norm(delta, "l2").clamp_min(1e-12)
    return delta * (budget.eps / norms).clamp(max=1.0).view(-1, *[1] * (delta.dim() - 1))


def to_sphere(r: torch.Tensor, budget: Budget) -> torch.Tensor:
    """Per example, the point of the budget's sphere in the steepest direction of `r` (Linf: eps
    times its sign; L2: r rescaled to norm eps)."""
    return scale_to_budget(r.sign() if budget.norm == "linf" else r, budget)


@torch.no_grad()
def _labels(model: nn.Module, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    return torch.cat([model(x[i:i + batch_size].clamp(0, 1)).argmax(1) for i in range(0, len(x), batch_size)])


def _success(model: nn.Module, x: torch.Tensor, clean: torch.Tensor, delta: torch.Tensor,
             target: int | None) -> torch.Tensor:
    """Per image: fooled (untargeted) or labelled `target` (targeted) under x + delta."""
    pred = _labels(model, x + delta)
    return pred != clean if target is None else pred == target


class _Universal(Attack):
    """Shared parameter checks and the untargeted/targeted packaging of fitted deltas."""

    kind = "universal"
    learns = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if not isinstance(self._params["targeted"], bool):
            raise AttackError(f"{self.name} targeted must be true or false, got {self._params['targeted']!r}")
        for key in self.positive_ints:
            if not isinstance(self._params[key], int) or self._params[key] < 1:
                raise AttackError(f"{self.name} {key} must be a positive integer, got {self._params[key]!r}")
        # a targeted variant learns per-class deltas, like class_uap and VizPert's G(c)
        self.kind = "class_universal" if self._params["targeted"] else "universal"  # type: ignore[misc]

    positive_ints: ClassVar[tuple[str, ...]] = ()

    def _package(self, model: nn.Module, x_fit: torch.Tensor, deltas: torch.Tensor, budget: Budget,
                 meta: dict[str, Any]) -> Fitted:
        if not self._params["targeted"]:
            return Fitted(self.label, budget, {"delta": deltas.cpu()}, meta)
        best, rates = best_untargeted_class(model, x_fit[:256], len(deltas),
                                            lambda xb, c: (xb + deltas[c]).clamp(0, 1))
        return Fitted(self.label, budget, {"deltas": deltas.cpu()},
                      {**meta, "untargeted_class": best, "fit_fooling_by_class": [round(r, 4) for r in rates]})

    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        if "deltas" in fitted.tensors:
            return apply_class_deltas(fitted, model, x, target)
        key = ("delta", x.device)
        if key not in fitted.runtime:
            fitted.runtime[key] = fitted.tensors["delta"].to(x.device)
        return x + fitted.runtime[key]  # one delta for every image; the target is not used


class UAP(_Universal):
    """Universal adversarial perturbation by batched DeepFool steps (CVPR 2017, Algorithm 1)."""

    name = "uap"
    # 2: DeepFool steps not box-aware again (measured better for the universal sum)
    # 3: aggregate "unit" by default (configs/uap-acceptance.toml white-box: 58/47/29% -> 73/70/34%)
    version = 3
    defaults: ClassVar[dict[str, Any]] = {"max_passes": 5, "target_rate": 0.8, "batch_size": 64,
                                          "deepfool_steps": 10, "overshoot": 0.02, "candidates": 10,
                                          "aggregate": "unit", "fill": False, "targeted": False}
    AGGREGATES: ClassVar[dict[str, str]] = {
        "unit": "each image's step taken to the budget's sphere, averaged over the batch",
        "sum": "Algorithm 1: every image's step is added",
        "mean": "the steps' sum divided by the batch size"}
    positive_ints = ("max_passes", "batch_size", "deepfool_steps", "candidates")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self._params["aggregate"] not in self.AGGREGATES:
            choices = "; ".join(f"'{k}' ({v})" for k, v in self.AGGREGATES.items())
            raise AttackError(f"uap aggregate must be one of {choices}; got {self._params['aggregate']!r}")
        if not isinstance(self._params["fill"], bool):
            raise AttackError(f"uap fill must be true or false, got {self._params['fill']!r}")
        if not 0.0 < float(self._params["target_rate"]) <= 1.0:
            raise AttackError(f"uap target_rate must be in (0, 1] (the fit fooling rate to stop at), "
                              f"got {self._params['target_rate']!r}")

    def gradient_passes(self, n_eval: int, n_fit: int) -> int:
        """Upper bound: every pass runs DeepFool on every fit image (one backward per candidate class
        per step untargeted; one per step and per target class, `candidates` of them, targeted)."""
        p = self._params
        return p["max_passes"] * n_fit * p["deepfool_steps"] * p["candidates"]

    def fit(self, model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]], budget: Budget,
            *, seed: int) -> Fitted:
        self.check_budget_supported(budget)
        device, x_fit, y_fit, n_cls, g = fit_inputs(model, loader, seed)
        clean = _labels(model, x_fit)
        classes = list(range(n_cls)) if self._params["targeted"] else [None]
        deltas, passes, rates = [], [], []
        for c in classes:
            keep = torch.ones(len(x_fit), dtype=torch.bool, device=device) if c is None else clean != c
            v, used, rate = self._fit_one(model, x_fit[keep], clean[keep], budget, g, c)
            if self._params["fill"]:  # spend the whole budget: trades a little white-box for transfer
                v = to_sphere(v, budget)
                rate = float(_success(model, x_fit[keep], clean[keep], v, c).float().mean())
            deltas.append(v)
            passes.append(used)
            rates.append(round(rate, 4))
        meta = {"passes": passes, "fit_rate": rates, "target_rate": self._params["target_rate"]}
        return self._package(model, x_fit, torch.cat(deltas), budget, meta)

    def _fit_one(self, model: nn.Module, x: torch.Tensor, clean: torch.Tensor, budget: Budget,
                 g: torch.Generator, target: int | None) -> tuple[torch.Tensor, int, float]:
        """Algorithm 1 for one delta: passes over the fit images until the fit rate reaches target_rate."""
        p = self._params
        v = torch.zeros(1, *x.shape[1:], device=x.device)
        rate = float(_success(model, x, clean, v, target).float().mean())
        passes = 0
        desc = f"fit uap eps={budget.eps:g}" + ("" if target is None else f" class {target}")
        bar = tqdm(total=p["max_passes"], desc=desc, unit="pass", leave=False)
        while rate < p["target_rate"] and passes < p["max_passes"]:
            order = torch.randperm(len(x), generator=g).to(x.device)
            for i in range(0, len(x), p["batch_size"]):
                idx = order[i:i + p["batch_size"]]
                todo = ~_success(model, x[idx], clean[idx], v, target)
                if not bool(todo.any()):
                    continue
                xs = (x[idx][todo] + v).clamp(0.0, 1.0)
                tgt = None if target is None else torch.full((len(xs),), target, device=x.device)
                r = deepfool(model, xs, norm=budget.norm, target=tgt, steps=p["deepfool_steps"],
                             overshoot=p["overshoot"], candidates=p["candidates"])
                if p["aggregate"] == "unit":
                    r = to_sphere(r, budget)
                step = r.sum(0, keepdim=True) if p["aggregate"] == "sum" else r.sum(0, keepdim=True) / len(idx)
                v = project(v + step, budget)
            passes += 1
            rate = float(_success(model, x, clean, v, target).float().mean())
            bar.update(1)
            bar.set_postfix(rate=f"{rate:.3f}", refresh=False)
        bar.close()
        return v, passes, rate


class SGDUAP(_Universal):
    """Universal perturbation by projected sign-gradient steps on minibatches (Shafahi et al. 2020)."""

    name = "sgd_uap"
    # 2: defaults 1000 steps of 256 and loss clip 3 (were 300 of 128, clip 9): on mini:vgg at Linf 0.1
    # white-box 38.1 -> 42.7% with 1000 fit images, 44.7-46.4% with 10,000 (README, universal baselines)
    version = 2
    defaults: ClassVar[dict[str, Any]] = {"steps": 1000, "batch_size": 256, "step_size": 0.05, "loss_clip": 3.0,
                                          "targeted": False}
    positive_ints = ("steps", "batch_size")

    def fit(self, model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]], budget: Budget,
            *, seed: int) -> Fitted:
        self.check_budget_supported(budget)
        p = self._params
        device, x_fit, y_fit, n_cls, g = fit_inputs(model, loader, seed)
        clean = _labels(model, x_fit)
        targeted = p["targeted"]
        delta = torch.zeros(n_cls if targeted else 1, *x_fit.shape[1:], device=device)
        if budget.norm == "l2":
            delta = project(torch.randn(delta.shape, generator=g).to(device) * 1e-3, budget)
        alpha = float(p["step_size"]) * budget.eps
        bar = tqdm(range(p["steps"]), desc=f"fit sgd_uap eps={budget.eps:g}", unit="step", leave=False)
        with deterministic_algorithms():
            for step in bar:
                idx = torch.randint(len(x_fit), (p["batch_size"],), generator=g).to(device)
                d = delta.clone().requires_grad_(True)
                if targeted:
                    c = random_targets(clean[idx].cpu(), n_cls, g).to(device)
                    # descend CE toward the target: ascend its negative
                    loss = -F.cross_entropy(model((x_fit[idx] + d[c]).clamp(0, 1)), c)
                else:
                    ce = F.cross_entropy(model((x_fit[idx] + d).clamp(0, 1)), clean[idx], reduction="none")
                    loss = ce.clamp(max=float(p["loss_clip"])).mean()  # clipped: won images stop pulling
                (grad,) = torch.autograd.grad(loss, d)
                if budget.norm == "linf":
                    step_dir = grad.sign()
                else:
                    step_dir = grad / per_example_norm(grad, "l2").clamp_min(1e-12).view(-1, *[1] * (grad.dim() - 1))
                delta = project(delta + alpha * step_dir, budget)
                if step % 20 == 0:
                    bar.set_postfix(loss=f"{float(loss.detach()):.3f}", refresh=False)
        bar.close()
        if targeted:
            rates = [round(float(_success(model, x_fit[clean != c], clean[clean != c], delta[c:c + 1], c)
                                 .float().mean()), 4) for c in range(n_cls)]
        else:
            rates = [round(float(_success(model, x_fit, clean, delta, None).float().mean()), 4)]
        return self._package(model, x_fit, delta, budget, {"fit_rate": rates})
