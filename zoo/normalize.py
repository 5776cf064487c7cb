"""Normalization as a layer (RobustBench style): zoo models take [0, 1] images, never mean/std."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


AMP_DTYPES = {"none": None, "bf16": torch.bfloat16}


class Normalized(nn.Module):
    """Wrap a classifier so that it takes [0, 1] NCHW input and normalizes inside.

    The wrapper is frozen and always in eval mode: `train()` is a no-op, so no attack
    or library call can switch batch norm or dropout back into training behaviour.
    `amp` ("bf16") runs the network under autocast and returns float32 logits, so attacks and
    metrics see the same dtype either way; `channels_last` feeds the network NHWC memory.
    """

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float], *,
                 name: str = "", weights_sha256: str | None = None, amp: str = "none",
                 channels_last: bool = False) -> None:
        super().__init__()
        if amp not in AMP_DTYPES:
            raise ValueError(f"amp {amp!r} is not one of {', '.join(AMP_DTYPES)}")
        self.model = model
        self.zoo_name = name
        self.weights_sha256 = weights_sha256
        self.amp = amp
        self.channels_last = channels_last
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))
        for p in self.model.parameters():
            p.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> "Normalized":  # noqa: ARG002 - frozen by contract
        """Stay in eval mode whatever is asked: the zoo contract."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.mean) / self.std
        if self.channels_last:
            z = z.contiguous(memory_format=torch.channels_last)
        dtype = AMP_DTYPES[self.amp]
        if dtype is None:
            return self.model(z)
        with torch.autocast(device_type=z.device.type, dtype=dtype):
            out = self.model(z)
        return out.float()
