"""Training pieces shared by VizPert and its direct-optimisation twin `class_uap`.

A "direction" is a tensor in [-1, 1] (a tanh output); `scale_to_budget` turns directions into
perturbations inside the budget, `fit_visualization` turns a class visualization into one.
"""
from __future__ import annotations

import contextlib
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


def fit_inputs(model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
               seed: int) -> tuple[torch.device, torch.Tensor, torch.Tensor, int, torch.Generator]:
    """What every learned fit starts from: the model's device, the fit split on it, the number of
    classes and a seeded sampling generator (the global torch RNG is seeded too, for weight init)."""
    device = next(model.parameters()).device
    x_fit, y_fit = (t.to(device) for t in gather(loader))
    torch.manual_seed(seed)
    return device, x_fit, y_fit, num_classes_of(model, x_fit), torch.Generator().manual_seed(seed)


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
    returns the last loss.

    Runs with deterministic algorithms on: the class lookup `deltas[c]` back-propagates through a
    multi-threaded scatter-add whose summation order (hence the fitted result) varies run to run.
    """
    with deterministic_algorithms():
        return _optimise(params, loss_fn, steps=steps, lr=lr, desc=desc)


@contextlib.contextmanager
def deterministic_algorithms():
    """Deterministic torch kernels inside the block (class lookups back-propagate through a
    scatter-add whose summation order otherwise varies run to run), the old setting after it."""
    was = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was)


def _optimise(params: list[nn.Parameter], loss_fn: Callable[[int], torch.Tensor], *, steps: int, lr: float,
              desc: str) -> float:
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


UNTARGETED_RULES = ("best_class", "best_other")


def untargeted_classes(fitted, model: nn.Module, x: torch.Tensor, rule: str) -> torch.Tensor:
    """The class whose perturbation each image gets in untargeted use.

    `best_class` (the issue's rule): the one class that fooled most on the fit split, for every image.
    `best_other`: the same, except that images the model already labels as that class get the
    runner-up class (a perturbation toward their own label cannot fool); costs one forward pass.
    """
    rates = torch.tensor(fitted.meta["fit_fooling_by_class"])
    first, second = (int(i) for i in rates.topk(2).indices)
    c = torch.full((len(x),), first, dtype=torch.long, device=x.device)
    if rule == "best_other":
        with torch.no_grad():
            c[model(x).argmax(1) == first] = second
    return c


def apply_class_deltas(fitted, model: nn.Module, x: torch.Tensor, target: torch.Tensor | None,
                       rule: str = "best_class") -> torch.Tensor:
    """Class-universal perturbing: x + delta[target], or the untargeted rule's class; a lookup and an add."""
    c = target if target is not None else untargeted_classes(fitted, model, x, rule)
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
