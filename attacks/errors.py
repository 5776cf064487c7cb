"""Exceptions of the attacks package: user-fixable errors vs. broken attack contracts."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

from common.text import first_line


class AttackError(ValueError):
    """A user-fixable attack problem (unknown name, unsupported norm, bad parameter); one line."""


class UnknownAttackError(AttackError, LookupError):
    """No attack is registered under that name; the message lists close matches."""


class BudgetViolation(RuntimeError):
    """An attack returned images outside [0, 1] or outside its budget: a bug, never clipped away."""


@contextmanager
def library_errors(label: str, library: str) -> Iterator[None]:
    """A library's own error while it attacks (a parameter value it never checks, e.g. `c=abc`) as a
    one-line AttackError, so that the cell is reported failed and the grid goes on instead of a
    traceback ending the run; our errors and running out of memory (the batch sizer halves) pass."""
    try:
        yield
    except (AttackError, BudgetViolation, torch.OutOfMemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - any error of the library's code, quoted in one line
        raise AttackError(f"{label} failed inside {library}: {type(exc).__name__}: {first_line(exc, 200)}; "
                          "check the parameters in its brackets") from exc
