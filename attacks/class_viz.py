"""`class_viz`: class-model visualization by gradient ascent on the input (Simonyan et al. 2014,
"Deep Inside Convolutional Networks"), used as a perturbation exactly like VizPert's `visualize`
objective: each class's image is centred, scaled to fill the budget and added.

The optimisation twin of VizPert's generator: it answers the paper's open question of how
generator visualizations compare with existing visualization techniques (fooling rate, fit time).
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterable

import torch
from torch import nn

from .base import Attack, Fitted
from .budget import Budget
from .errors import AttackError
from .vizpert.training import (UNTARGETED_RULES, apply_class_deltas, best_untargeted_class, fit_inputs,
                               fit_visualization, optimise)


class ClassViz(Attack):
    """argmax_I S_c(I) - l2 * ||I - mean||^2 for every class c at once, started from the mean image."""

    name = "class_viz"
    kind = "class_universal"
    learns = True
    version = 1
    defaults: ClassVar[dict[str, Any]] = {"steps": 200, "lr": 0.05, "l2": 0.01, "untargeted": "best_class"}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self._params
        if not isinstance(p["steps"], int) or p["steps"] < 1:
            raise AttackError(f"class_viz steps must be a positive integer, got {p['steps']!r}")
        if not float(p["l2"]) >= 0:
            raise AttackError(f"class_viz l2 must be >= 0, got {p['l2']!r}")
        if p["untargeted"] not in UNTARGETED_RULES:
            raise AttackError(f"class_viz untargeted={p['untargeted']!r} is not one of {', '.join(UNTARGETED_RULES)}")

    def gradient_passes(self, n_eval: int, n_fit: int) -> int:
        """One image per class per step (10 classes assumed; the count is not known before the fit)."""
        return self._params["steps"] * 10

    def fit(self, model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]], budget: Budget,
            *, seed: int) -> Fitted:
        self.check_budget_supported(budget)
        p = self._params
        device, x_fit, _, n_cls, _ = fit_inputs(model, loader, seed)
        mean = x_fit.mean(dim=(0, 2, 3), keepdim=True).expand(n_cls, *x_fit.shape[1:])
        z = nn.Parameter(torch.zeros_like(mean))
        classes = torch.arange(n_cls, device=device)

        def loss_fn(step: int) -> torch.Tensor:
            scores = model((mean + z).clamp(0, 1)).gather(1, classes[:, None]).squeeze(1)  # unnormalised scores of valid images
            return -scores.sum() + float(p["l2"]) * z.pow(2).sum()

        final = optimise([z], loss_fn, steps=p["steps"], lr=float(p["lr"]),
                         desc=f"fit class_viz eps={budget.eps:g}")
        with torch.no_grad():
            images = (mean + z).detach().clamp(0, 1)
            own = float((model(images).argmax(1) == classes).float().mean())  # each image seen as its class?
            deltas = fit_visualization(images, budget)
            best, rates = best_untargeted_class(model, x_fit[:256], n_cls, lambda xb, c: (xb + deltas[c]).clamp(0, 1))
        shown = (images - images.amin(dim=(1, 2, 3), keepdim=True))
        shown = shown / shown.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)  # for display only
        return Fitted(self.label, budget, {"deltas": deltas.cpu(), "visualizations": shown.cpu()},
                      {"final_loss": final, "untargeted_class": best, "visualization_accuracy": own,
                       "fit_fooling_by_class": [round(r, 4) for r in rates]})

    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        return apply_class_deltas(fitted, model, x, target, self._params["untargeted"])
