"""Budget geometry shared by the learned attacks: directions to perturbations, projection onto the
ball, the point of the sphere in a direction, and a visualization scaled into the budget.

A "direction" is a tensor in [-1, 1] (a tanh output)."""
from __future__ import annotations

import torch

from common.norms import per_example_norm

from .budget import Budget


def _per_example(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return t.view(-1, *([1] * (like.dim() - 1)))


def scale_to_budget(directions: torch.Tensor, budget: Budget) -> torch.Tensor:
    """Directions in [-1, 1] -> perturbations: Linf eps * d; L2 eps * d / ||d|| (per example)."""
    if budget.norm == "linf":
        return budget.eps * directions
    norms = directions.flatten(1).norm(dim=1).clamp_min(1e-12)  # differentiable, unlike per_example_norm
    return budget.eps * directions / _per_example(norms, directions)


def fit_visualization(images: torch.Tensor, budget: Budget) -> torch.Tensor:
    """A visualization as a perturbation: centre each image, scale it to fill the budget exactly."""
    centred = images - images.mean(dim=tuple(range(1, images.dim())), keepdim=True)
    norms = per_example_norm(centred, budget.norm).clamp_min(1e-12)
    return budget.eps * centred / _per_example(norms, images)


def project(delta: torch.Tensor, budget: Budget) -> torch.Tensor:
    """Onto the budget ball, per example (Linf: clamp; L2: rescale when longer than eps)."""
    if budget.norm == "linf":
        return delta.clamp(-budget.eps, budget.eps)
    norms = per_example_norm(delta, "l2").clamp_min(1e-12)
    return delta * _per_example((budget.eps / norms).clamp(max=1.0), delta)


def to_sphere(r: torch.Tensor, budget: Budget) -> torch.Tensor:
    """Per example, the point of the budget's sphere in the steepest direction of `r` (Linf: eps
    times its sign; L2: r rescaled to norm eps)."""
    return scale_to_budget(r.sign() if budget.norm == "linf" else r, budget)
