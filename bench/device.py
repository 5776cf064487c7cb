"""Device choice: `auto` takes CUDA when there is one, the CPU otherwise."""
from __future__ import annotations

import torch

from .errors import BenchError


def resolve_device(name: str) -> torch.device:
    """`auto`, `cpu`, `cuda` or `cuda:<i>` -> a usable torch.device, or a one-line error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise BenchError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:<index>") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise BenchError(f"device {name!r} asked for, but torch sees no CUDA GPU; use --device cpu or auto")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BenchError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s); "
                             "use an index below that")
    elif dev.type != "cpu":
        raise BenchError(f"device {name!r} is not supported; use auto, cpu, cuda or cuda:<index>")
    return dev
