"""The machine a result was computed on, as far as its floats depend on it.

Trained weights (and so every rate measured on them) change bit for bit with the torch thread count
and the CPU's instruction set, because both change the order of float sums (measured in
`benchmarks/zoo_drift.py`); run manifests and zoo cards record them so that a difference can be traced.
"""
from __future__ import annotations

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
