"""The perturbation budget (norm and eps on the [0, 1] pixel scale) and the check every batch passes."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import torch

from .errors import AttackError, BudgetViolation

NORMS = ("linf", "l2")
TOLERANCE = 1e-6


def parse_eps(value: str | float | int) -> float:
    """Accept 0.1, "0.1" or "8/255" and return a float."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(Fraction(str(value).strip()))
    except (ValueError, ZeroDivisionError):
        raise AttackError(f"eps {value!r} is not a number; write it as 0.03 or 8/255") from None


def per_example_norm(delta: torch.Tensor, norm: str) -> torch.Tensor:
    """Linf or L2 norm of each example of a batch of perturbations."""
    flat = delta.detach().flatten(1).float()
    if norm == "linf":
        return flat.abs().amax(dim=1)
    return flat.norm(p=2, dim=1)


@dataclass(frozen=True)
class Budget:
    """`norm` in {linf, l2} and `eps` >= 0 on the [0, 1] pixel scale."""

    norm: str
    eps: float

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise AttackError(f"unknown norm {self.norm!r}; use one of {', '.join(NORMS)}")
        if not (self.eps >= 0.0 and self.eps == self.eps):
            raise AttackError(f"eps must be >= 0, got {self.eps}")

    def check(self, x: torch.Tensor, x_adv: torch.Tensor, *, who: str = "attack") -> None:
        """Raise BudgetViolation unless every example is in [0, 1] and within eps (+1e-6) of x."""
        if x_adv.shape != x.shape:
            raise BudgetViolation(f"{who} returned shape {tuple(x_adv.shape)} for input {tuple(x.shape)}")
        dist = per_example_norm(x_adv - x, self.norm)
        # one host sync for all four numbers (a GPU would otherwise wait four times per batch)
        nonfinite, lo, hi, worst, bad = torch.stack([
            (~torch.isfinite(x_adv)).sum().float(), x_adv.detach().min().float(), x_adv.detach().max().float(),
            dist.max() if dist.numel() else dist.new_zeros(()), (dist > self.eps + TOLERANCE).sum().float(),
        ]).tolist()
        if nonfinite:
            raise BudgetViolation(f"{who} returned non-finite pixels")
        if lo < 0.0 or hi > 1.0:
            raise BudgetViolation(f"{who} left the [0, 1] image range (min {lo:.4g}, max {hi:.4g})")
        if worst > self.eps + TOLERANCE:
            raise BudgetViolation(
                f"{who} exceeded the {self.norm} budget eps={self.eps:g} on {int(bad)} of {dist.numel()} "
                f"examples (max {worst:.6g})")
