"""The perturbation budget (norm and eps on the [0, 1] pixel scale) and the check every batch passes."""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from common.eps import NORMS, eps_text
from common.eps import parse_eps as common_parse_eps
from common.norms import per_example_norm

from .errors import AttackError, BudgetViolation

TOLERANCE = 1e-6  # absolute, on the [0, 1] pixel scale
# relative to eps: an attack that projects onto an L2 ball in float32 is off by float32 rounding of a sum
# over every pixel, which grows with the norm itself (measured 7e-5 relative on 3x224x224 at eps 10), so an
# absolute 1e-6 alone fails exact projections. The check itself measures in float64 (exact differences).
REL_TOLERANCE = 1e-4


def budget_limit(eps: float) -> float:
    """The largest distance the budget check accepts: eps plus float32 rounding slack."""
    return eps + TOLERANCE + REL_TOLERANCE * eps


def parse_eps(value: str | float | int) -> float:
    """Accept 0.1, "0.1" or "8/255" and return a float (`common.eps.parse_eps`, raising AttackError)."""
    try:
        return common_parse_eps(value)
    except ValueError as exc:
        raise AttackError(str(exc)) from None


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
        """Raise BudgetViolation unless every example is in [0, 1] and within `budget_limit(eps)` of x."""
        self.check_shape(x, x_adv, who=who)
        self.judge(self.measure(x, x_adv).tolist(), len(x), who=who)

    def check_shape(self, x: torch.Tensor, x_adv: torch.Tensor, *, who: str = "attack") -> None:
        """Raise BudgetViolation unless x_adv has x's shape (known on the host: no wait for a GPU)."""
        if x_adv.shape != x.shape:
            raise BudgetViolation(f"{who} returned shape {tuple(x_adv.shape)} for input {tuple(x.shape)}")

    def measure(self, x: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
        """The check's five numbers as one float64 tensor on x_adv's device, without waiting for it:
        non-finite pixels, min, max, largest distance, and examples over the limit (`judge` reads them)."""
        dist = per_example_norm(x_adv.double() - x.double(), self.norm, torch.float64)
        return torch.stack([
            (~torch.isfinite(x_adv)).sum().double(), x_adv.detach().min().double(), x_adv.detach().max().double(),
            dist.max() if dist.numel() else dist.new_zeros(()), (dist > budget_limit(self.eps)).sum().double(),
        ])

    def judge(self, numbers: Sequence[float], n: int, *, who: str = "attack") -> None:
        """Raise BudgetViolation if `measure`'s numbers (read back to the host) for `n` examples break the budget."""
        nonfinite, lo, hi, worst, bad = numbers
        limit = budget_limit(self.eps)
        if nonfinite:
            raise BudgetViolation(f"{who} returned non-finite pixels")
        if lo < 0.0 or hi > 1.0:
            raise BudgetViolation(f"{who} left the [0, 1] image range (min {lo:.4g}, max {hi:.4g})")
        if worst > limit:
            raise BudgetViolation(
                f"{who} exceeded the {self.norm} budget eps={eps_text(self.eps)} on {int(bad)} of {n} "
                f"examples (max {worst:.6g})")


class PendingChecks:
    """Budget checks whose numbers are read back late, so a GPU is never left idle between batches
    waiting for the host to read a check (the runner reads each batch's check after launching the next).

    Whoever passes one to `Attack.perturb` must `settle()` it before using or storing the images:
    that reads every pending check and raises the first violation.
    """

    def __init__(self) -> None:
        self._pending: deque[tuple[Budget, torch.Tensor, int, str]] = deque()

    def add(self, budget: Budget, x: torch.Tensor, x_adv: torch.Tensor, *, who: str = "attack") -> None:
        """Queue the check of one batch (the shape is checked now: it needs no wait)."""
        budget.check_shape(x, x_adv, who=who)
        self._pending.append((budget, budget.measure(x, x_adv), len(x), who))

    def settle(self, keep: int = 0) -> None:
        """Read and judge all pending checks but the newest `keep` (raising BudgetViolation on the first
        that fails)."""
        while len(self._pending) > keep:
            budget, numbers, n, who = self._pending.popleft()
            budget.judge(numbers.tolist(), n, who=who)

    def __len__(self) -> int:
        return len(self._pending)
