"""The driver of a grid: plans the groups of this shard, skips the stored cells, hands the rest to
an executor (`bench.executors`) and is the only writer of the store, whatever the executor."""
from __future__ import annotations

import math
import os
import signal
from pathlib import Path
from typing import Any

import torch
from torch import nn
from common.eps import eps_text
from common.outcomes import headline_rate
from common.progress import progress
from common.text import speed_text

from .config import RunConfig, Shard
from .datatypes import Split
from .executors import EXECUTOR_TABLE
from .plan import Group, plan_grid
from .runner import Artifact, CellFailure, GridResult, make_context
from .store import Store


def run_grid(cfg: RunConfig, models: dict[str, nn.Module], fit: Split, eval_: Split, num_classes: int,
             store: Store, *, device: torch.device, identity: dict[str, Any], groups: list[Group] | None = None,
             shard: Shard = Shard(), fit_cache: Path | None = None, log=None) -> GridResult:
    """Compute every missing cell of this shard's groups into `store`; failed cells are reported, not stored.

    `groups` is the plan (`plan_grid(cfg, identity)` when None). Fitted attacks are cached under
    `fit_cache` (None: no caching). A cell fails (and is retried by the next run) on a budget
    violation, an attack error or NaN/inf model outputs. `cfg.executor` picks where groups run
    (`bench.executors`); either way only this process writes the store.
    """
    result = GridResult()
    groups = plan_grid(cfg, identity) if groups is None else groups
    mine = [g for g in groups if shard.takes(g)]
    ctx = make_context(cfg, models, fit, eval_, num_classes, device=device, identity=identity, fit_cache=fit_cache)
    bar = progress(total=sum(len(g.cells) for g in mine), desc="grid" if shard.count == 1 else f"grid {shard}",
                   unit="cell")
    work = []
    for group in mine:
        todo = [c for c in group.cells if not store.has(c.key)]
        result.skipped += len(group.cells) - len(todo)
        bar.update(len(group.cells) - len(todo))
        if todo:
            work.append((group, todo))
    events = EXECUTOR_TABLE[cfg.executor](work, ctx, fallbacks=result.batch_fallbacks,
                                          log=log, address=cfg.ray_address)
    fitted_groups: set[tuple] = set()
    for event in events:
        if isinstance(event, Artifact):
            store.put_artifact(event.name, event.tensors, event.meta)
        elif isinstance(event, CellFailure):
            result.failures.append(event)
            if log:
                log(f"cell failed: {event.cell}: {event.error}")
            bar.update(1)
        else:
            store.put(event.cell.key, event.cell.order, event.rows)
            result.computed += 1
            _book_times(result, event.rows[0], fitted_groups)
            if log:
                log(cell_line(event.rows))
            bar.set_postfix_str(f"{event.rows[0]['attack']} {event.rows[0]['source']} "
                                f"{'T' if event.cell.targeted else 'U'}", refresh=False)
            bar.update(1)
            _fault_point(result.computed)
    bar.close()
    return result


def _book_times(result: GridResult, row: dict[str, Any], fitted_groups: set[tuple]) -> None:
    """Add a computed cell's perturbation time, and its group's fit time the first time the group
    is seen (both modes of a group share one fit), unless the fit came from the cache."""
    result.perturb_seconds += row["perturb_seconds"]
    group = (row["attack"], row["norm"], row["eps"], row["source"], row["seed"])
    if group not in fitted_groups:
        fitted_groups.add(group)
        if not row["fit_cached"]:
            result.fit_seconds += row["fit_seconds"]


def _fault_point(computed: int) -> None:
    """Test hook: with BENCH_FAULT_AFTER_CELLS=k the process kills itself (SIGKILL) after storing k
    cells, so tests can check resume at an exact point. Does nothing otherwise."""
    after = os.environ.get("BENCH_FAULT_AFTER_CELLS")
    if after and computed >= int(after):
        os.kill(os.getpid(), signal.SIGKILL)


def cell_line(rows: list[dict[str, Any]]) -> str:
    """One log line for a finished cell: its key numbers (white-box and mean transfer rate, speed). A rate
    over no image (untargeted success on a model that classifies none of the images correctly, as a
    random-init one) says so instead of "nan%"; the transfer mean is over the targets that have one."""
    first = rows[0]
    rate = headline_rate(bool(first["targeted"]))
    white = [r[rate] for r in rows if r["whitebox"]]
    transfer = [r[rate] for r in rows if not r["whitebox"] and not math.isnan(r[rate])]
    undefined = sum(1 for r in rows if not r["whitebox"]) - len(transfer)
    what = "targeted success" if first["targeted"] else "success on correct"
    text = (f"cell {first['attack']} {first['norm']} eps={eps_text(first['eps'])} "
            f"{'targeted' if first['targeted'] else 'untargeted'} source={first['source']}: "
            f"white-box {what} " + ("n/a (no image correct)" if math.isnan(white[0]) else f"{100 * white[0]:.1f}%"))
    if transfer:
        text += f", mean transfer {100 * sum(transfer) / len(transfer):.1f}% over {len(transfer)}"
        text += f" ({undefined} more with no image correct)" if undefined else ""
    elif undefined:
        text += f", mean transfer n/a (no image correct on {undefined} target{'s' if undefined > 1 else ''})"
    return text + f", {speed_text(first['images_per_second'])} images/s"
