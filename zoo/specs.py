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
class AdversarialTraining:
    """How an `-at` model is trained: every batch replaced by PGD examples with a random start inside
    the Linf ball of `eps` (Madry et al. 2018). With steps=1 and alpha=1.25*eps this is the fast
    "FGSM with random start" variant of Wong et al. 2020."""

    eps: float = 0.1
    alpha: float = 0.125
    steps: int = 1

    @property
    def method(self) -> str:
        return "fgsm-rs (Wong et al. 2020)" if self.steps == 1 else f"pgd-{self.steps} (Madry et al. 2018)"

    def recipe(self) -> dict[str, object]:
        return {"method": self.method, "eps": self.eps, "alpha": self.alpha, "steps": self.steps}


@dataclass(frozen=True)
class MiniSpec:
    """One mini-zoo architecture: a small setting of one of timm's own model classes, trained
    normally or adversarially (`adversarial`)."""

    arch: str
    description: str
    build: Callable[[InputSpec], nn.Module]
    epochs: int = 4
    lr: float = 2e-3
    batch_size: int = 128
    adversarial: AdversarialTraining | None = None

    def recipe(self) -> dict[str, object]:
        """How the weights are trained (`zoo.train.fit_classifier`): part of their cache key, so a
        change of recipe never reuses weights trained by another."""
        out: dict[str, object] = {"arch": self.arch, "epochs": self.epochs, "lr": self.lr,
                                  "batch_size": self.batch_size, "optimizer": "adam+onecycle"}
        if self.adversarial is not None:  # absent for standard training: existing keys stay valid
            out["adversarial"] = self.adversarial.recipe()
        return out
