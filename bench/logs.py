"""Status lines: to stderr (stdout carries only the summary), or nowhere (`--quiet`, `log=None` in the API)."""
from __future__ import annotations

from typing import Callable

from common.progress import status

Log = Callable[[str], None]


def log_stderr(msg: str) -> None:
    """Status lines go to stderr (above any progress bar), so stdout carries only the summary."""
    status(msg)


def quiet(msg: str) -> None:
    """Drops status lines (`bench --quiet`, `bench.run(log=None)`); errors still reach the user."""
    del msg
