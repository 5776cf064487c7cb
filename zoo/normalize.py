"""Normalization as a layer (RobustBench style): zoo models take [0, 1] images, never mean/std."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class Normalized(nn.Module):
    """Wrap a classifier so that it takes [0, 1] NCHW input and normalizes inside.

    The wrapper is frozen and always in eval mode: `train()` is a no-op, so no attack
    or library call can switch batch norm or dropout back into training behaviour.
    """

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float], *,
                 name: str = "", weights_sha256: str | None = None) -> None:
        super().__init__()
        self.model = model
        self.zoo_name = name
        self.weights_sha256 = weights_sha256
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))
        for p in self.model.parameters():
            p.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> "Normalized":  # noqa: ARG002 - frozen by contract
        """Stay in eval mode whatever is asked: the zoo contract."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model((x - self.mean) / self.std)
