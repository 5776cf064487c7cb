"""`bench run --executor ray`: each (attack, eps, source) group of the grid is one Ray task, so a
fitted attack serves all its targets and modes inside the task. Ray is an optional extra
(`pip install vizpert-bench[ray]`, imported only when a run uses it); `bench.executors` lists it.

The driver ships the run's shared context (models on the CPU, the fit and eval splits, targets,
clean predictions) once through Ray's object store; fitted attacks go through the fit cache, a
path every worker must see (the same machine, or a shared file system). Tasks return their events
(cells, artifacts, failures) and only the driver writes the store. A task whose worker dies or
that raises is retried by Ray up to RAY_MAX_RETRIES times; after that its cells are recorded as
failed with the error and the worker that ran it, the rest of the grid goes on, and the next
`bench run` computes only the failed or missing cells.
"""
from __future__ import annotations

import copy
import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import torch

from common.text import first_line

from .batching import BatchSizer
from .config import ray_host_port
from .errors import BenchError
from .plan import Cell, Group
from .runner import CellFailure, Event, GridContext, group_events

RAY_MAX_RETRIES = 2
FAULT_ENV = "BENCH_FAULT_TASK"  # test hook: "<attack label>:once" or "<attack label>:always", comma-separated
FAULT_DIR_ENV = "BENCH_FAULT_DIR"  # where "once" faults remember that they happened


def require_ray():
    try:
        import ray
    except ImportError:
        raise BenchError("--executor ray needs Ray: pip install 'vizpert-bench[ray]' (or pip install ray)") from None
    return ray


def check_address(address: str | None) -> None:
    """Fail in one line, before any data is loaded, when a Ray address does not answer (ray.init
    itself would retry for minutes). None and "auto" are left to Ray."""
    hostport = ray_host_port(address)
    if hostport is None:
        return
    try:
        socket.create_connection(hostport, timeout=5).close()
    except OSError as exc:
        raise _unreachable(address, exc) from None


def _unreachable(address: str | None, exc: BaseException) -> BenchError:
    return BenchError(f"cannot reach the Ray cluster at {address} ({first_line(exc)}); check --ray-address "
                      "(ray://host:10001 or host:6379), or leave it out for a local instance")


def _injected_fault(group: Group) -> None:
    """Test hook (FAULT_ENV): kill this worker on a group's first attempt ("once"), or fail every
    attempt ("always"). Does nothing unless the variable names this group's attack label."""
    for spec in filter(None, os.environ.get(FAULT_ENV, "").split(",")):
        label, _, how = spec.rpartition(":")
        if label != group.spec.display:
            continue
        if how == "always":
            raise RuntimeError(f"injected fault in {group.where} (every attempt)")
        marker = Path(os.environ.get(FAULT_DIR_ENV, ".")) / f"fault-{group.index}"
        if how == "once" and not marker.exists():
            marker.write_text("failed once\n")
            os._exit(1)  # the worker process dies, as on a lost node: Ray retries the task


def _run_group(group: Group, todo: list[Cell], ctx: GridContext, threads: int) -> tuple[list[Event], list]:
    """The Ray task: one group's events and the batch-size fallbacks."""
    torch.set_num_threads(threads)  # the CPUs Ray gave the task (1 thread or 2 gave identical results.csv)
    _injected_fault(group)
    if ctx.device.type == "cuda":
        ctx = replace(ctx, models={n: m.to(ctx.device) for n, m in ctx.models.items()})
    sizer = BatchSizer(ctx.cfg.batch_size)
    return list(group_events(group, todo, ctx, sizer)), sizer.fallbacks


def _failure_text(exc: BaseException) -> str:
    """One line: the error, and the worker it happened on when Ray says."""
    cause = getattr(exc, "cause", None) or exc
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[-1][:200]
    where = f" (worker pid {exc.pid} on {exc.ip})" if getattr(exc, "pid", None) else ""
    return f"{type(cause).__name__} after {RAY_MAX_RETRIES} retries{where}: {first}"


def ray_events(work: list[tuple[Group, list[Cell]]], ctx: GridContext, *, fallbacks: list,
               log=None, address: str | None = None) -> Iterator[Event]:
    """Run each group as a Ray task (GPU tasks ask for one GPU, CPU tasks for one CPU) and yield
    their events as tasks finish. Without `address`, a local Ray instance is started."""
    ray = require_ray()
    log = log or (lambda _msg: None)
    started_here = not ray.is_initialized()
    if started_here:
        env = {"env_vars": {"TQDM_DISABLE": "1"}}  # one progress bar, the driver's
        try:
            ray.init(address=address, include_dashboard=False, runtime_env=env, log_to_driver=True,
                     configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise _unreachable(address, exc) from None
        log(f"ray: {'local instance' if address is None else address}, resources {ray.cluster_resources()}")
    try:
        shipped = replace(ctx, models={n: copy.deepcopy(m).cpu() for n, m in ctx.models.items()},
                          device=torch.device(ctx.device.type if ctx.device.type == "cpu" else "cuda"))
        ctx_ref = ray.put(shipped)
        gpu = ctx.device.type == "cuda"
        task = ray.remote(num_gpus=1 if gpu else 0, num_cpus=1, max_retries=RAY_MAX_RETRIES,
                          retry_exceptions=True)(_run_group)
        threads = 1  # each task asks Ray for one CPU
        pending: dict[Any, tuple[Group, list[Cell]]] = {
            task.remote(group, todo, ctx_ref, threads): (group, todo) for group, todo in work}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            group, todo = pending.pop(done[0])
            try:
                events, group_fallbacks = ray.get(done[0])
            except ray.exceptions.RayError as exc:
                text = _failure_text(exc)
                log(f"task for {group.where} failed: {text}")
                for cell in todo:
                    yield CellFailure(f"{group.where} targeted={cell.targeted}", text)
                continue
            fallbacks.extend(group_fallbacks)
            yield from events
    finally:
        if started_here:
            ray.shutdown()
