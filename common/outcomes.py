"""Per-image outcomes of a cell, kept compactly in the store: one bit per eval image (numpy's
packbits, base64 text in JSON), so that `bench report` can recompute any statistic (intervals,
paired tests, bootstraps) without rerunning attacks. 1000 images take 168 characters a mask."""
from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # `bench report` reads masks without importing torch (about 1.5 s)
    import torch

# what each stored mask says about an eval image
MASKS = {
    "clean_correct": "the target model labels the clean image correctly",
    "adv_correct": "the target model labels the adversarial image correctly (robust accuracy)",
    "fooled": "the label changes under the perturbation (fooling rate)",
    "hit": "the adversarial image is labelled as its assigned target (targeted cells only)",
}


def headline_rate(targeted: bool) -> str:
    """The rate every table and log line leads with for a mode: targeted success (target hits), or,
    untargeted, success on the images the target classified correctly (the README's option b)."""
    return "targeted_success" if targeted else "success_on_correct"


def pack_mask(mask: torch.Tensor | np.ndarray) -> str:
    """A boolean vector as base64 text of its packed bits."""
    bits = np.asarray(mask.cpu() if hasattr(mask, "cpu") else mask, dtype=bool)  # a tensor, on any device
    return base64.b64encode(np.packbits(bits).tobytes()).decode("ascii")


def unpack_mask(text: str, n: int) -> np.ndarray:
    """The boolean vector of `n` entries that `pack_mask` encoded."""
    raw = np.frombuffer(base64.b64decode(text), dtype=np.uint8)
    if len(raw) * 8 < n:
        raise ValueError(f"an outcome mask holds {len(raw) * 8} bits, fewer than the {n} images of its cell")
    return np.unpackbits(raw)[:n].astype(bool)
