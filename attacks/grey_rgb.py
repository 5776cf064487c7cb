"""Grey images through attacks that assume three channels (torchattacks' TI-FGSM and PI-FGSM build
3-channel depthwise kernels): the image goes in as three identical channels, the model gets their mean."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .errors import AttackError


class GreyAsRGB(nn.Module):
    """A grey-image model that takes three identical channels (their mean)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.mean(1, keepdim=True))


def perturb_as_rgb(label: str, perturb: Callable[[nn.Module, torch.Tensor], torch.Tensor],
                   model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """`perturb(model, x)` for an attack that needs RGB images: a grey batch runs as three identical
    channels through `GreyAsRGB`; the channels get identical gradients and steps, so their mean is the
    grey adversarial image (within the same Linf or smaller L2 distance). Other channel counts: one line."""
    if x.shape[1] == 3:
        return perturb(model, x)
    if x.shape[1] != 1:
        raise AttackError(f"{label} runs on 1- or 3-channel images, not {x.shape[1]}")
    return perturb(GreyAsRGB(model), x.expand(-1, 3, -1, -1).contiguous()).mean(1, keepdim=True)
