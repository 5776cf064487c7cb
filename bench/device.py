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


def amp_warning(amp: str, device: torch.device) -> str | None:
    """One line when `--amp bf16` would run emulated: on a CPU without native bf16 (AVX2 only, say)
    oneDNN emulates it, and PGD on the mini zoo ran 2.7 to 6.9 times slower than float32
    (benchmarks/results/cpu_bf16.json)."""
    if amp != "bf16" or device.type != "cpu" or native_cpu_bf16():
        return None
    return (f"--amp bf16 on this CPU ({torch.backends.cpu.get_cpu_capability()}, no native bf16) is emulated and "
            "runs several times slower than float32; use --amp none on it (bf16 is for GPUs and CPUs with native bf16)")


def native_cpu_bf16() -> bool:
    """Whether oneDNN runs bf16 natively here; unknown (a torch without the check) counts as yes."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return True
