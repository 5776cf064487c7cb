"""`class_uap`: one universal perturbation per target class, optimised directly (no generator).

VizPert's `perturb` objective with the generator replaced by free parameters: delta_c = eps *
tanh(w_c) (Linf) or eps * w_c / ||w_c|| (L2), Adam on the same loss, fit images, steps and batch
size. It is the baseline that tells whether the generator itself helps.
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterable

import torch
from torch import nn

from .base import Attack, Fitted
from .budget import Budget
from .errors import AttackError
from .vizpert.training import (UNTARGETED_RULES, apply_class_deltas, best_untargeted_class, fit_inputs, optimise,
                               perturb_loss, random_targets, scale_to_budget)


class ClassUAP(Attack):
    """Per-class universal perturbations by direct optimisation (VizPert's no-generator twin)."""

    name = "class_uap"
    kind = "class_universal"
    learns = True
    version = 3  # 2: cosine learning-rate decay; 3: deterministic fits
    defaults: ClassVar[dict[str, Any]] = {"steps": 300, "batch_size": 128, "lr": 0.2,  # lr tuned, see README
                                          "untargeted": "best_class"}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self._params["untargeted"] not in UNTARGETED_RULES:
            raise AttackError(f"class_uap untargeted={self._params['untargeted']!r} is not one of "
                              f"{', '.join(UNTARGETED_RULES)}")
        for key in ("steps", "batch_size"):
            if not isinstance(self._params[key], int) or self._params[key] < 1:
                raise AttackError(f"class_uap {key} must be a positive integer, got {self._params[key]!r}")

    def fit(self, model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]], budget: Budget,
            *, seed: int) -> Fitted:
        self.check_budget_supported(budget)
        p = self._params
        device, x_fit, y_fit, n_cls, g = fit_inputs(model, loader, seed)
        w = nn.Parameter(torch.zeros(n_cls, *x_fit.shape[1:], device=device))
        if budget.norm == "l2":
            nn.init.normal_(w, std=1e-3)  # a zero vector has no L2 direction

        def directions() -> torch.Tensor:
            return torch.tanh(w) if budget.norm == "linf" else w

        def loss_fn(step: int) -> torch.Tensor:
            idx = torch.randint(len(x_fit), (p["batch_size"],), generator=g).to(device)
            c = random_targets(y_fit[idx].cpu(), n_cls, g).to(device)
            return perturb_loss(model, x_fit[idx], scale_to_budget(directions(), budget)[c], c)

        final_loss = optimise([w], loss_fn, steps=p["steps"], lr=p["lr"], desc=f"fit class_uap eps={budget.eps:g}")
        with torch.no_grad():
            deltas = scale_to_budget(directions(), budget)
            best, rates = best_untargeted_class(model, x_fit[:256], n_cls, lambda xb, c: xb + deltas[c])
        return Fitted(self.label, budget, {"deltas": deltas.cpu()},
                      {"final_loss": final_loss, "untargeted_class": best,
                       "fit_fooling_by_class": [round(r, 4) for r in rates]})

    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        return apply_class_deltas(fitted, model, x, target, self._params["untargeted"])
