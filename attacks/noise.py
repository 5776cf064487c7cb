"""`noise`: random perturbations of the full budget, the floor every attack must beat (a transfer
rate below it means the perturbation carries nothing model-specific across)."""
from __future__ import annotations

import torch
from torch import nn

from .base import Attack, Fitted
from .budget import per_example_norm


class Noise(Attack):
    """Linf: eps * random signs per pixel; L2: a gaussian direction scaled to length eps. Targets
    are ignored (a random baseline for both modes); the runner seeds the draws per batch."""

    name = "noise"
    kind = "per_input"
    version = 2  # 2: drawn per batch from the cell seed and the batch's first image (the runner)

    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        eps = fitted.budget.eps
        if fitted.budget.norm == "linf":
            signs = torch.randint(0, 2, x.shape, device="cpu").to(x.device, x.dtype) * 2 - 1
            return x + eps * signs
        d = torch.randn(x.shape, device="cpu").to(x.device, x.dtype)
        return x + eps * d / per_example_norm(d, "l2").clamp_min(1e-12).view(-1, *[1] * (x.dim() - 1))

    def gradient_passes(self, n_eval: int, n_fit: int, num_classes: int,
                        n_features: int | None = None) -> int:
        return 0
