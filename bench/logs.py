"""Status lines: to stderr (stdout carries only the summary), or nowhere (`log=None` in the API)."""
from __future__ import annotations

import sys
from typing import Callable

Log = Callable[[str], None]


def log_stderr(msg: str) -> None:
    """Status lines go to stderr, so stdout carries only the summary."""
    print(msg, file=sys.stderr, flush=True)
