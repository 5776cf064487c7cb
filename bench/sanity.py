"""Model sanity checks before a run, in the spirit of AutoAttack's: a model in train mode, a
non-deterministic forward pass, or zero / non-finite input gradients make attack numbers
meaningless (robustness by gradient masking), and so does a model at chance (untrained weights), so
the report must say so.

Each check returns warnings (dicts with `model`, `check`, `message`); none of them stops the run.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from zoo.defenses import base_name

ZERO_GRAD_SHARE = 0.1  # warn when more than this share of images has an all-zero input gradient
CHANCE_P = 0.01  # warn when a uniform guesser gets the check batch's correct count this often or more


def chance_tail(correct: int, n: int, num_classes: int) -> float:
    """P(at least `correct` of `n` right) for a model guessing uniformly among `num_classes` (binomial tail)."""
    p = 1.0 / num_classes
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(correct, n + 1))


def _warning(model: str, check: str, message: str) -> dict[str, Any]:
    return {"model": model, "check": check, "message": message}


def _chance_cause(name: str) -> str:
    """The likely cause of a model at chance: its defense, when it has one (noise of sigma 0.25 leaves a model
    never trained on noise at chance), else its weights."""
    base = base_name(name)
    random = "`timm:` models are random unless --pretrained or --checkpoint gives them weights"
    if base == name:
        return f"untrained weights? ({random}.)"
    return (f"a defense too strong for {base}'s weights ({name[len(base) + 1:]})? Try a weaker setting, or weights "
            "trained under it (a model trained on clean images may not read images this noisy or degraded)."
            + (f" Or untrained weights ({random})." if base.startswith("timm:") else ""))


def check_model(name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[dict[str, Any]]:
    """Run every check on one batch `x, y` (already on the model's device)."""
    out = []
    training = [n or type(model).__name__ for n, m in model.named_modules() if m.training]
    if training:
        out.append(_warning(name, "eval_mode", f"{name}: {len(training)} module(s) in train mode "
                                                f"(e.g. {training[0]}); call model.eval() before attacking"))
    with torch.no_grad():
        a, b = model(x), model(x)
    correct = int((a.argmax(1) == y).sum())
    if a.shape[1] > 1 and chance_tail(correct, len(y), a.shape[1]) > CHANCE_P:
        out.append(_warning(name, "chance_accuracy", f"{name}: {correct} of {len(y)} check images correct, no "
                                                      f"better than chance for {a.shape[1]} classes "
                                                      f"({1 / a.shape[1]:.1%}): {_chance_cause(name)} Its attack "
                                                      "rates mean little"))
    declared = bool(getattr(model, "randomized", False))
    if declared or not torch.allclose(a, b, rtol=1e-4, atol=1e-5):
        flips = float((a.argmax(1) != b.argmax(1)).float().mean())
        why = "its defense draws noise at prediction time; " if declared else ""
        out.append(_warning(name, "random_output", f"{name}: randomized predictions ({why}two identical forward "
                                                    f"passes differ by up to {float((a - b).abs().max()):.3g} in "
                                                    f"the logits and {flips:.0%} of the check batch's labels "
                                                    "change); its white-box numbers need EOT attacks "
                                                    "(autoattack[version=rand]) and may overstate robustness"))
    xg = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(xg), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, xg)
    flat = grad.flatten(1)
    if not bool(torch.isfinite(flat).all()):
        out.append(_warning(name, "nonfinite_gradient", f"{name}: non-finite input gradients on the check batch"))
    zero = float((flat.abs().amax(1) == 0).float().mean())
    if zero > ZERO_GRAD_SHARE:
        out.append(_warning(name, "zero_gradient", f"{name}: input gradient is exactly zero for {zero:.0%} of the "
                                                    "check batch (gradient masking?); gradient attacks may fail"))
    return out


def check_models(models: dict[str, nn.Module], x: torch.Tensor, y: torch.Tensor,
                 device: torch.device, size: int = 64) -> list[dict[str, Any]]:
    """`check_model` for every model on the first `size` eval images."""
    xb, yb = x[:size].to(device), y[:size].to(device)
    return [w for name, m in models.items() for w in check_model(name, m, xb, yb)]


def check_attacks(groups: Iterable[Any], left_out: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Each planned (attack, budget)'s `budget_notes` once, as warnings (model None): a grid whose
    attacks spend different shares of the budget compares step schedules, not attacks; and the attacks
    the grid's mode leaves out (`RunConfig.check_names` returns them), which would otherwise just be missing."""
    notes = dict.fromkeys(n for g in groups for n in g.attack.budget_notes(g.budget))
    return ([{"model": None, "check": "attack_mode", "message": n} for n in left_out]
            + [{"model": None, "check": "attack_budget", "message": n} for n in notes])
