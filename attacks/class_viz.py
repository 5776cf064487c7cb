"""`class_viz`: class-model visualization by gradient ascent on the input (Simonyan et al. 2014,
"Deep Inside Convolutional Networks"), used as a perturbation exactly like VizPert's `visualize`
objective: each class's image is centred, scaled to fill the budget and added. The ascent starts
from a constant image per channel, the fit split's channel mean (not the mean image).

The optimisation twin of VizPert's generator: it answers the paper's open question of how
generator visualizations compare with existing visualization techniques (fooling rate, fit time).
"""
from __future__ import annotations

from typing import ClassVar, Iterable

import torch
from torch import nn

from common.eps import eps_text

from .base import Attack, Fitted
from .budget import Budget
from .classwise import UNTARGETED_RULES, apply_class_deltas, package_class_deltas
from .fitting import fit_inputs, optimise
from .params import Param, positive_int
from .projection import fit_visualization


class ClassViz(Attack):
    """argmax_I S_c(I) - l2 * ||I - m||^2 for every class c at once, where m is the fit split's
    per-channel mean as a constant image (the start)."""

    name = "class_viz"
    kind = "class_universal"
    learns = True
    # 2: perturb uses the stored ranking of classes (ties no longer re-derived from rounded rates)
    version = 2
    params_spec: ClassVar[dict[str, Param]] = {
        "steps": positive_int(200, "gradient-ascent steps (Adam)"),
        "lr": Param(0.05, "Adam learning rate", float, low=0, low_open=True),
        "l2": Param(0.01, "weight of the L2 penalty on the distance from the start image", float, low=0),
        "untargeted": Param("best_other", "untargeted use: the best class for every image, or the runner-up "
                            "for images already labelled as it", choices=UNTARGETED_RULES, fit=False),
    }

    def gradient_passes(self, n_eval: int, n_fit: int, num_classes: int,
                        n_features: int | None = None) -> int:
        """One image per class per step."""
        return self._params["steps"] * num_classes

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
                         desc=f"fit class_viz eps={eps_text(budget.eps)}")
        with torch.no_grad():
            images = (mean + z).detach().clamp(0, 1)
            own = float((model(images).argmax(1) == classes).float().mean())  # each image seen as its class?
            deltas = fit_visualization(images, budget)
            shown = (images - images.amin(dim=(1, 2, 3), keepdim=True))
            shown = shown / shown.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)  # for display only
            return package_class_deltas(self.label, budget, model, x_fit, deltas,
                                        {"final_loss": final, "visualization_accuracy": own},
                                        {"visualizations": shown})

    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        return apply_class_deltas(fitted, model, x, target, self._params["untargeted"])
