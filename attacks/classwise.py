"""Class-universal attacks (one perturbation per target class: VizPert's G(c), class_uap, class_viz,
the targeted uap/sgd_uap): how the untargeted class is chosen, how class deltas are applied, and
how a fit is packaged, in one place so that every such attack chooses and applies alike.

The untargeted class is chosen on the fit split with the images clamped to [0, 1], exactly as
they are evaluated, and the whole ranking is stored: `perturb` reads it back instead of
re-deriving it from rounded rates (which may tie differently).
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from .base import Fitted
from .budget import Budget
from .fitting import generator_forward_seconds

UNTARGETED_RULES = ("best_class", "best_other")
RANK_IMAGES = 256  # fit images the untargeted ranking is measured on
# With many classes (ImageNet: 1000 x 256 forward passes per fit, most of an ImageNet fit's time) every
# class is first screened on the first SCREEN_IMAGES images and only the SCREEN_KEEP best are measured
# on all of them. Up to SCREEN_KEEP classes nothing is screened: the ranking is exactly the full one.
SCREEN_IMAGES = 32
SCREEN_KEEP = 32


@torch.no_grad()
def rank_classes(model: nn.Module, x: torch.Tensor, num_classes: int,
                 adversarial: Callable[[torch.Tensor, int], torch.Tensor],
                 batch_size: int = 256) -> tuple[list[int], list[float]]:
    """Classes ordered by how often their perturbation fools `model` on `x` (ties: lower class first),
    and every class's fooling rate. `adversarial(xb, c)` may leave [0, 1]; it is clamped here, as in
    evaluation. Above SCREEN_KEEP classes, the classes outside the screen's best SCREEN_KEEP keep
    their rate on the first SCREEN_IMAGES images and rank below the re-measured ones."""
    def labels(xs: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        return torch.cat([model(fn(xs[i:i + batch_size]).clamp(0.0, 1.0)).argmax(1)
                          for i in range(0, len(xs), batch_size)])

    def rates_on(xs: torch.Tensor, classes: list[int]) -> dict[int, float]:
        """Each class's fooling rate on `xs`; with few images, several classes share one forward pass
        (1000 passes of 32 images are launch-bound on a GPU: most of an ImageNet fit's ranking)."""
        clean = labels(xs, lambda xb: xb)
        per = max(1, batch_size // len(xs))
        rates: dict[int, float] = {}
        for k in range(0, len(classes), per):
            chunk = classes[k:k + per]
            if len(chunk) == 1:
                fooled = [(labels(xs, lambda xb, c=chunk[0]: adversarial(xb, c)) != clean).float().mean()]
            else:
                adv = torch.cat([adversarial(xs, c) for c in chunk]).clamp(0.0, 1.0)
                fooled = (model(adv).argmax(1).view(len(chunk), len(xs)) != clean).float().mean(1)
            rates.update(zip(chunk, torch.stack(list(fooled)).tolist()))
        return rates

    everyone = list(range(num_classes))
    if num_classes <= SCREEN_KEEP or len(x) <= SCREEN_IMAGES:
        rates = rates_on(x, everyone)
        return sorted(everyone, key=lambda c: (-rates[c], c)), [rates[c] for c in everyone]
    screened = rates_on(x[:SCREEN_IMAGES], everyone)
    best = sorted(everyone, key=lambda c: (-screened[c], c))[:SCREEN_KEEP]
    full = rates_on(x, best)
    order = sorted(best, key=lambda c: (-full[c], c)) + [c for c in sorted(everyone, key=lambda c: (-screened[c], c))
                                                         if c not in full]
    return order, [full.get(c, screened[c]) for c in everyone]


def ranking_images(n_fit: int, num_classes: int) -> tuple[int, int]:
    """(clean, perturbed) images `rank_classes` passes through the model on a fit of `n_fit` images:
    what a dry run counts for a fit that ranks its classes (`Attack.ranks_classes`)."""
    n = min(RANK_IMAGES, n_fit)
    if num_classes <= SCREEN_KEEP or n <= SCREEN_IMAGES:
        return n, n * num_classes
    return SCREEN_IMAGES + n, SCREEN_IMAGES * num_classes + n * SCREEN_KEEP


def ranking_generator_seconds(image_step_seconds: float, num_classes: int, n_fit: int | None = None) -> float:
    """Seconds a generator's forward passes take while its classes are ranked (G(x, c), conditional
    generators) on a fit split of `n_fit` images (None: RANK_IMAGES, the most a ranking uses), from its
    measured training step per image."""
    return generator_forward_seconds(image_step_seconds, ranking_images(n_fit or RANK_IMAGES, num_classes)[1])


def untargeted_meta(order: list[int], rates: list[float]) -> dict[str, Any]:
    """The ranking as stored in a fit's metadata."""
    return {"untargeted_class": order[0], "untargeted_order": order,
            "fit_fooling_by_class": [round(r, 4) for r in rates]}


def untargeted_classes(fitted: Fitted, model: nn.Module, x: torch.Tensor, rule: str) -> torch.Tensor:
    """The class whose perturbation each image gets in untargeted use.

    `best_class`: the stored best class (most fooling on the fit split), for every image.
    `best_other`: the same, except that images the model already labels as that class get the
    runner-up (a perturbation toward their own label cannot fool); costs one forward pass.
    """
    order = fitted.meta["untargeted_order"]
    c = torch.full((len(x),), int(order[0]), dtype=torch.long, device=x.device)
    if rule == "best_other" and len(order) > 1:
        with torch.no_grad():
            c[model(x).argmax(1) == int(order[0])] = int(order[1])
    return c


def apply_class_deltas(fitted: Fitted, model: nn.Module, x: torch.Tensor, target: torch.Tensor | None,
                       rule: str = "best_other") -> torch.Tensor:
    """Class-universal perturbing: x + delta[target], or the untargeted rule's class; a lookup and an add."""
    c = target if target is not None else untargeted_classes(fitted, model, x, rule)
    key = ("deltas", x.device)
    if key not in fitted.runtime:
        fitted.runtime[key] = fitted.tensors["deltas"].to(x.device)
    return x + fitted.runtime[key][c]


def package_class_deltas(label: str, budget: Budget, model: nn.Module, x_fit: torch.Tensor, deltas: torch.Tensor,
                         meta: dict[str, Any], extra: dict[str, torch.Tensor] | None = None) -> Fitted:
    """A class-universal fit: the per-class deltas (plus `extra` tensors, e.g. visualizations) and
    the untargeted ranking measured on the first fit images."""
    order, rates = rank_classes(model, x_fit[:RANK_IMAGES], len(deltas), lambda xb, c: xb + deltas[c])
    tensors = {"deltas": deltas.detach().cpu(), **{k: v.detach().cpu() for k, v in (extra or {}).items()}}
    return Fitted(label, budget, tensors, {**meta, **untargeted_meta(order, rates)})
