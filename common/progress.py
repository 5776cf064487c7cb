"""Progress bars and status lines for every room: bars are tqdm's (a notebook gets widgets), and a
process that logs to a file (a batch job, CI) turns them off, so its log holds one line per event
instead of hundreds of kilobytes of carriage-return repaints.

`show_bars(False)` is a process-wide display setting (the CLI calls it when stderr is not a
terminal, or with --quiet); it changes no result."""
from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm

_state = {"bars": True}


def show_bars(on: bool) -> None:
    """Turn every progress bar of this process on or off."""
    _state["bars"] = bool(on)


def bars_shown() -> bool:
    return _state["bars"]


def progress(*args: Any, **kwargs: Any) -> tqdm:
    """`tqdm(...)`, disabled while bars are off."""
    kwargs.setdefault("disable", not _state["bars"])
    return tqdm(*args, **kwargs)


def status(msg: str) -> None:
    """One status line on stderr, printed above any active bar (so the bar is not torn)."""
    if _state["bars"]:
        tqdm.write(msg, file=sys.stderr)
    else:
        print(msg, file=sys.stderr, flush=True)
