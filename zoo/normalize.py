"""Normalization as a layer (RobustBench style): zoo models take [0, 1] images, never mean/std."""
from __future__ import annotations

from typing import Sequence

import torch
import torch._functorch.config as functorch_config
from torch import nn

from common.quiet import import_cpp_extension_quietly


AMP_DTYPES = {"none": None, "bf16": torch.bfloat16}


# torch.compile's mode for `compile=True`: "default" on every device until a GPU measurement picks
# another (`benchmarks/throughput_224.py --compile-modes` times each). "reduce-overhead" records CUDA
# graphs per batch shape (a cell's last batch is smaller) and the max-autotune modes spend minutes
# tuning kernels before the first batch.
COMPILE_MODE = "default"


class Normalized(nn.Module):
    """Wrap a classifier so that it takes [0, 1] NCHW input and normalizes inside.

    The wrapper is frozen and always in eval mode: `train()` is a no-op, so no attack
    or library call can switch batch norm or dropout back into training behaviour.
    `amp` ("bf16") runs the network under autocast and returns float32 logits, so attacks and
    metrics see the same dtype either way; `channels_last` feeds the network NHWC memory;
    `compile` runs the network through torch.compile (True: `COMPILE_MODE`, a string:
    that mode; compiled on first call, per device, grad mode and batch shape; `self.model` stays the
    plain network, so timm's feature API still reaches it).
    """

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float], *,
                 name: str = "", weights_sha256: str | None = None, amp: str = "none",
                 channels_last: bool = False, compile: bool | str = False) -> None:
        super().__init__()
        if amp not in AMP_DTYPES:
            raise ValueError(f"amp {amp!r} is not one of {', '.join(AMP_DTYPES)}")
        self.model = model
        self.zoo_name = name
        self.weights_sha256 = weights_sha256
        self.amp = amp
        self.channels_last = channels_last
        self.compile = compile
        self._compiled: dict[str, object] = {}  # device type -> compiled callable; a dict so nn.Module skips it
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))
        for p in self.model.parameters():
            p.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> "Normalized":  # noqa: ARG002 - frozen by contract
        """Stay in eval mode whatever is asked: the zoo contract."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.mean) / self.std
        if self.channels_last:
            z = z.contiguous(memory_format=torch.channels_last)
        net = self._network(z.device) if self.compile else self.model
        dtype = AMP_DTYPES[self.amp]
        if dtype is None:
            return net(z)
        with torch.autocast(device_type=z.device.type, dtype=dtype):
            out = net(z)
        return out.float()

    def __getstate__(self) -> dict:
        """Copies and pickles (Ray, VizPert's unfrozen guide) leave the compiled callables behind: they
        hold the original network, so a copy compiles its own on first call."""
        state = dict(super().__getstate__())
        state["_compiled"] = {}
        return state

    def _network(self, device: torch.device):
        """The compiled network for `device` (compiled lazily: torch.compile itself does the work on
        the first call)."""
        if device.type not in self._compiled:
            # Process-wide, read when a backward compiles and again when it runs: a compiled backward that
            # reuses its saved tensors' memory ("donated buffers") refuses `retain_graph=True` once a plain
            # backward ran (a PGD cell), and DeepFool (ours, inside UAP's fit; torchattacks'), FAB and JSMA
            # take several gradients from one forward. Seen under bf16 autocast on CPU (torch 2.14) and on
            # an H200 (torch 2.11, `configs/imagenet.toml --compile`). The backward keeps those tensors
            # apart instead: memory, not a different result.
            functorch_config.donated_buffer = False
            if device.type == "cpu":
                import_cpp_extension_quietly()  # inductor's import of it logs "No CUDA runtime is found"
            mode = self.compile if isinstance(self.compile, str) else COMPILE_MODE
            self._compiled[device.type] = torch.compile(self.model, mode=mode)
        return self._compiled[device.type]
