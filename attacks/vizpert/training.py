"""Training pieces shared by VizPert and its direct-optimisation twin `class_uap`.

A "direction" is a tensor in [-1, 1] (a tanh output); `scale_to_budget` turns directions into
perturbations inside the budget, `fit_visualization` turns a class visualization into one.
"""
from __future__ import annotations

import copy
from typing import Callable, Iterable

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..budget import Budget, per_example_norm


def gather(loader: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """All (x, y) of the fit loader as two tensors (fit splits are small)."""
    xs, ys = zip(*[(x, y) for x, y in loader]) if loader else ((), ())
    if not xs:
        raise ValueError("the fit split is empty")
    return torch.cat(xs), torch.cat(ys)


def num_classes_of(model: nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad():
        return int(model(x[:1]).shape[-1])


def scale_to_budget(directions: torch.Tensor, budget: Budget) -> torch.Tensor:
    """Directions in [-1, 1] -> perturbations: Linf eps * d; L2 eps * d / ||d|| (per example)."""
    if budget.norm == "linf":
        return budget.eps * directions
    norms = directions.flatten(1).norm(dim=1).clamp_min(1e-12)  # differentiable, unlike per_example_norm
    return budget.eps * directions / norms.view(-1, *([1] * (directions.dim() - 1)))


def fit_visualization(images: torch.Tensor, budget: Budget) -> torch.Tensor:
    """A visualization as a perturbation: centre each image, scale it to fill the budget exactly."""
    centred = images - images.mean(dim=tuple(range(1, images.dim())), keepdim=True)
    norms = per_example_norm(centred, budget.norm).clamp_min(1e-12)
    return budget.eps * centred / norms.view(-1, *([1] * (images.dim() - 1)))


def random_targets(y: torch.Tensor, num_classes: int, g: torch.Generator) -> torch.Tensor:
    """Targets different from y, as in the run's targeted protocol."""
    return (y + torch.randint(1, num_classes, y.shape, generator=g)) % num_classes


def guide_for(model: nn.Module, freeze: bool) -> nn.Module:
    """The classifier that guides training: the frozen model, or a trainable copy of it (ablation).

    The copy stays in eval mode (batch-norm statistics fixed); only its weights learn.
    """
    if freeze:
        return model
    guide = copy.deepcopy(model)
    for p in guide.parameters():
        p.requires_grad_(True)
    return guide


def optimise(params: list[nn.Parameter], loss_fn: Callable[[int], torch.Tensor], *, steps: int, lr: float,
             desc: str) -> float:
    """Adam with a cosine learning-rate decay over `params` for `steps` steps of `loss_fn(step)`;
    returns the last loss."""
    opt = torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    last = float("nan")
    bar = tqdm(range(steps), desc=desc, unit="step", leave=False)
    for step in bar:
        loss = loss_fn(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        last = float(loss.detach())
        if step % 10 == 0:
            bar.set_postfix(loss=f"{last:.3f}", refresh=False)
    bar.close()
    return last


def apply_class_deltas(fitted, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    """Class-universal perturbing: x + delta[target] (untargeted: the fitted best class); a lookup and an add."""
    c = target if target is not None else torch.full_like(y, int(fitted.meta["untargeted_class"]))
    key = ("deltas", x.device)
    if key not in fitted.runtime:
        fitted.runtime[key] = fitted.tensors["deltas"].to(x.device)
    return x + fitted.runtime[key][c]


def perturb_loss(guide: nn.Module, x: torch.Tensor, delta: torch.Tensor, target: torch.Tensor,
                 loss: str = "ce") -> torch.Tensor:
    """The `perturb` objective on D(clip(x + delta)): cross-entropy toward the target (the paper's
    loss), or the logit margin max_{j != t} z_j - z_t clipped at -5 (stops pushing won examples)."""
    logits = guide((x + delta).clamp(0.0, 1.0))
    if loss == "ce":
        return F.cross_entropy(logits, target)
    z_t = logits.gather(1, target[:, None]).squeeze(1)
    other = logits.masked_fill(F.one_hot(target, logits.shape[1]).bool(), float("-inf")).amax(1)
    return (other - z_t).clamp_min(-5.0).mean()


@torch.no_grad()
def best_untargeted_class(model: nn.Module, x: torch.Tensor, num_classes: int,
                          adversarial: Callable[[torch.Tensor, int], torch.Tensor], batch_size: int = 256) -> tuple[int, list[float]]:
    """The class whose perturbation fools `model` most often on `x`, and every class's fooling rate."""
    clean = torch.cat([model(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])
    rates = []
    for c in range(num_classes):
        adv = torch.cat([model(adversarial(x[i:i + batch_size], c)).argmax(1) for i in range(0, len(x), batch_size)])
        rates.append(float((adv != clean).float().mean()))
    return int(torch.tensor(rates).argmax()), rates
