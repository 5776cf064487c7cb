"""`class_uap`: one universal perturbation per target class, optimised directly (no generator).

VizPert's `perturb` objective with the generator replaced by free parameters: delta_c = eps *
tanh(w_c) (Linf) or eps * w_c / ||w_c|| (L2), Adam on the same loss, fit images, steps and batch
size. It is the baseline that tells whether the generator itself helps.
"""
from __future__ import annotations

from typing import ClassVar, Iterable

import torch
from torch import nn

from common.eps import eps_text

from .base import Attack, Fitted
from .budget import Budget
from .classwise import UNTARGETED_RULES, apply_class_deltas, package_class_deltas
from .fitting import fit_inputs, optimise, perturb_loss, random_targets
from .params import Param, positive_int
from .projection import scale_to_budget


class ClassUAP(Attack):
    """Per-class universal perturbations by direct optimisation (VizPert's no-generator twin)."""

    name = "class_uap"
    kind = "class_universal"
    learns = True
    # 2: cosine learning-rate decay; 3: deterministic fits
    # 4: the untargeted class is ranked on clamped images, and perturb uses the stored ranking
    version = 4
    params_spec: ClassVar[dict[str, Param]] = {
        "steps": positive_int(300, "Adam steps"),
        "batch_size": positive_int(128, "fit images per step"),
        "lr": Param(0.2, "Adam learning rate (tuned, see README)", float, low=0, low_open=True),
        "untargeted": Param("best_other", "untargeted use: the best class for every image, or the runner-up "
                            "for images already labelled as it", choices=UNTARGETED_RULES, fit=False),
    }

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

        final_loss = optimise([w], loss_fn, steps=p["steps"], lr=p["lr"], desc=f"fit class_uap eps={eps_text(budget.eps)}")
        with torch.no_grad():
            deltas = scale_to_budget(directions(), budget)
            return package_class_deltas(self.label, budget, model, x_fit, deltas, {"final_loss": final_loss})

    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        return apply_class_deltas(fitted, model, x, target, self._params["untargeted"])
