"""The machine a result was computed on, as far as its floats depend on it.

Trained weights (and so every rate measured on them) change bit for bit with the torch thread count
and the CPU's instruction set, because both change the order of float sums (measured in
`benchmarks/zoo_drift.py`); run manifests and zoo cards record them so that a difference can be traced.
"""
from __future__ import annotations

import os
import platform
from typing import Any

import torch


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


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the OS says, else the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def busy_note() -> str | None:
    """A line for measurements that scale with the machine's load (the dry run's estimate), when more
    threads were runnable than there are CPUs over the last minute; else None. Measured: a dry run
    beside a 2-thread training job on 2 cores estimated 21.6 s for what takes 0.4 s idle (torch's
    OpenMP threads wait on each other when the cores are oversubscribed)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this OS
        return None
    cpus = usable_cpus()
    if load <= cpus:
        return None
    return (f"note: the machine was busy while this was measured (1-minute load {load:.1f} on {cpus} CPUs); "
            "the estimate may be too high, so rerun it on an idle machine")
