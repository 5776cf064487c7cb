"""Where the groups of a grid run: a table of executor name -> function, all of one shape:
`fn(work, ctx, *, fallbacks, log, address) -> Iterator[Event]`, where `work` is a list of
(group, cells to compute), events are what `bench.runner.group_events` yields, and every
out-of-memory batch halving is appended to `fallbacks`. Only the driver writes the store."""
from __future__ import annotations

from typing import Callable, Iterator

from .batching import BatchSizer
from .plan import Cell, Group
from .ray_executor import ray_events
from .runner import Event, GridContext, group_events


def local_events(work: list[tuple[Group, list[Cell]]], ctx: GridContext, *, fallbacks: list,
                 log: Callable[[str], None] | None = None, address: str | None = None) -> Iterator[Event]:
    """The local executor: groups one after another in this process (`address` is unused)."""
    del address
    sizer = BatchSizer(ctx.cfg.batch_size, fallbacks=fallbacks)
    for group, todo in work:
        yield from group_events(group, todo, ctx, sizer, log)


# the names are `bench.config.EXECUTORS` (the --executor choices); tests check the two agree
EXECUTOR_TABLE: dict[str, Callable[..., Iterator[Event]]] = {"local": local_events, "ray": ray_events}
