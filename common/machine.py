"""The machine a result was computed on, as far as its floats depend on it.

Trained weights (and so every rate measured on them) change bit for bit with the torch thread count
and the CPU's instruction set, because both change the order of float sums (measured in
`benchmarks/zoo_drift.py`); run manifests and zoo cards record them so that a difference can be traced.
A timing is measured on the machine as it is: `cpu_share` tells when it shared the cores with another job.
"""
from __future__ import annotations

import os
import platform
import time
from functools import lru_cache
from typing import Any, Callable, TypeVar

import torch

from .text import machine_text

T = TypeVar("T")


def device_info(device: torch.device | str) -> dict[str, Any]:
    """Device, torch threads, CPU instruction set torch dispatches to (or the GPU's name), platform."""
    device = torch.device(device)
    info: dict[str, Any] = {"device": str(device), "torch_threads": torch.get_num_threads(),
                            "platform": platform.platform(), "python": platform.python_version()}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    else:
        info["cpu"] = platform.processor() or platform.machine()
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return info


def setup_text(device: torch.device | str) -> str:
    """`machine_text` of this process's setup for `device` now ("cpu, 2 torch threads, AVX2"): what each
    computed cell records, where it ran (a Ray worker's threads are its own)."""
    return _setup_text(str(torch.device(device)), torch.get_num_threads())


@lru_cache(maxsize=None)
def _setup_text(device: str, threads: int) -> str:
    del threads  # part of the cache key: device_info reads it
    return machine_text(device_info(device))


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the OS says, else the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


BUSY_SHARE = 0.8  # below this share of its threads' CPU time, a timing measured the machine's load too


def cpu_share(fn: Callable[[], T]) -> tuple[T, float]:
    """`fn()` and the share of CPU time its torch threads got while it ran: process CPU seconds over wall
    seconds x torch threads. Measured on 2 cores with 2 threads (`benchmarks/dryrun_load.py`): 0.96 to 1.02
    idle, 0.61 to 0.74 beside a 1-thread job, 0.50 beside a 2-thread one, where the dry run's estimate
    reached 100x its idle value (torch's threads wait on each other when the cores are oversubscribed)."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    wall = time.perf_counter() - wall
    return out, (time.process_time() - cpu) / max(wall * torch.get_num_threads(), 1e-9)


def busy_note(share: float) -> str | None:
    """A line for a timing measured while the machine was busy (`cpu_share` below BUSY_SHARE), else None."""
    if share >= BUSY_SHARE:
        return None
    return (f"note: the machine was busy: the measurement got {share:.0%} of its {torch.get_num_threads()} "
            "threads' CPU time, so the estimate may be far too high; rerun it on an idle machine")
