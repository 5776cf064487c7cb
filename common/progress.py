"""Progress bars and status lines for every room: bars are tqdm's (a notebook gets widgets), and a
process that logs to a file (a batch job, CI) turns them off, so its log holds one line per event
instead of hundreds of kilobytes of carriage-return repaints.

`show_bars(False)` is a process-wide display setting (the CLI calls it when stderr is not a
terminal, or with --quiet); it changes no result."""
from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterator

from tqdm.std import tqdm as plain_tqdm

_state = {"bars": True}


def show_bars(on: bool) -> None:
    """Turn every progress bar of this process on or off."""
    _state["bars"] = bool(on)


def bars_shown() -> bool:
    return _state["bars"]


@contextlib.contextmanager
def bars(on: bool) -> Iterator[None]:
    """Bars on or off inside the block, as they were after it (`bench.run(log=None)` is quiet)."""
    was = _state["bars"]
    _state["bars"] = bool(on)
    try:
        yield
    finally:
        _state["bars"] = was


def progress(*args: Any, **kwargs: Any) -> plain_tqdm:
    """`tqdm(...)` (widgets in a notebook), or a disabled plain one while bars are off; tqdm.auto is
    imported only when a bar is drawn."""
    if not _state["bars"]:
        return plain_tqdm(*args, **{**kwargs, "disable": True})
    from tqdm.auto import tqdm

    return tqdm(*args, **kwargs)


def status(msg: str) -> None:
    """One status line on stderr, printed above any active bar (so the bar is not torn)."""
    if _state["bars"]:
        plain_tqdm.write(msg, file=sys.stderr)
    else:
        print(msg, file=sys.stderr, flush=True)
