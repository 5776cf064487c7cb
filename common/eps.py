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


def pixel_fraction(value: float) -> str | None:
    """"k/255" when `value` is exactly k/255 (k pixel levels, as `parse_eps` reads "k/255") and that is
    shorter than its digits, else None."""
    if isinstance(value, float) and value > 0 and not value.is_integer():
        k = round(value * 255)
        if float(k) / 255.0 == value and len(f"{k}/255") < len(repr(value)):
            return f"{k}/255"
    return None


def eps_text(value: float) -> str:
    """A budget as logs, progress bars and titles show it: 8/255, or its number (0.1)."""
    return pixel_fraction(value) or f"{value:g}"
