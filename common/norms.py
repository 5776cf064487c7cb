"""Per-example norms of perturbation batches: what budgets (attacks) and metrics (bench) both measure."""
from __future__ import annotations

import torch


def per_example_norm(delta: torch.Tensor, norm: str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Linf or L2 norm of each example of a batch of perturbations, computed in `dtype` (float32 for
    metrics; float64 where the measurement itself must not round, as in the budget check)."""
    flat = delta.detach().flatten(1).to(dtype)
    if norm == "linf":
        return flat.abs().amax(dim=1)
    return flat.norm(p=2, dim=1)
