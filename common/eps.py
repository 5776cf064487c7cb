"""Budget norms and eps values as users write them, without torch: the run config checks them before
any heavy import (so `bench run --eps abc` answers at once); `attacks.budget` builds budgets on them."""
from __future__ import annotations

from fractions import Fraction

NORMS = ("linf", "l2")


def parse_eps(value: str | float | int) -> float:
    """Accept 0.1, "0.1" or "8/255" and return a float; a one-line ValueError otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(Fraction(str(value).strip()))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"eps {value!r} is not a number; write it as 0.03 or 8/255") from None
