"""What a model needs to know about its input, and the table of mini-zoo architectures."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn


@dataclass(frozen=True)
class InputSpec:
    """Shape, classes and normalization of the images a model is built for.

    `dataset` names the data the mini zoo is trained on, so weights for different
    datasets never share a cache entry.
    """

    dataset: str
    channels: int
    height: int
    width: int
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True)
class MiniSpec:
    """One mini-zoo architecture: a small setting of one of timm's own model classes."""

    arch: str
    description: str
    build: Callable[[InputSpec], nn.Module]
    epochs: int = 4
    lr: float = 2e-3
    batch_size: int = 128

    def recipe(self) -> dict[str, object]:
        """How the weights are trained (`zoo.train.fit_classifier`): part of their cache key, so a
        change of recipe never reuses weights trained by another."""
        return {"arch": self.arch, "epochs": self.epochs, "lr": self.lr, "batch_size": self.batch_size,
                "optimizer": "adam+onecycle"}
