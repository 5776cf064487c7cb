"""The targeted protocol: one target per image, (y + k) mod C with k seeded in [1, C-1]."""
from __future__ import annotations

import torch


def make_targets(y: torch.Tensor, num_classes: int, seed: int) -> torch.Tensor:
    """Targets that differ from the true labels, the same for every attack under the same seed."""
    if num_classes < 2:
        raise ValueError("targeted attacks need at least 2 classes")
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(1, num_classes, (len(y),), generator=g)
    return (y + k) % num_classes
