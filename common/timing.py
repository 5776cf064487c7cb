"""Timing one step of GPU or CPU work for cost estimates (`bench run --dry-run`)."""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def step_seconds(step: Callable[[], object], device: torch.device, *, repeats: int = 1) -> float:
    """Seconds of one call of `step`: the median of `repeats` timed calls after one warm-up, waiting for
    the GPU to finish each (CUDA runs asynchronously)."""
    times = []
    for _ in range(1 + repeats):
        t0 = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])
