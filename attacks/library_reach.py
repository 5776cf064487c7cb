"""Whether a library class's step schedule can reach the budget's edge: an iterative attack that starts at
the image (no random start) and moves a fixed step each iteration gets at most steps x step from it.

torchattacks' default alpha 2/255 over 10 steps is 0.078; at eps 0.1 such a cell spends 78% of the budget
that `pgd` and the transfer suite spend, and a table would credit the schedule to the attack.
"""
from __future__ import annotations

from typing import Any, Mapping

from .budget import Budget


def reach_notes(label: str, given: Mapping[str, Any], steps: int, step: float, step_name: str,
                budget: Budget, fix: tuple[str, float]) -> list[str]:
    """One warning when `steps` x `step` falls short of `budget.eps`, naming the parameter `fix` (name,
    value) that reaches it, written in the bracket form with the user's other parameters; else none."""
    reach = steps * step
    if reach >= budget.eps * (1 - 1e-6):
        return []
    brackets = ",".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in {**given, fix[0]: fix[1]}.items())
    return [f"{label} moves at most steps x {step_name} = {steps} x {step:.4g} = {reach:.3g} from an image, "
            f"{reach / budget.eps:.0%} of the budget ({budget.norm} eps {budget.eps:g}) other attacks may use; "
            f"pass {label}[{brackets}] to reach its edge"]
