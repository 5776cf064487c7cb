"""Batch sizes that shrink on out-of-memory: a batch that does not fit is halved and retried, and
the smaller size is kept for that model for the rest of the run (recorded for the manifest)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

OOM_ERRORS = (torch.OutOfMemoryError,)


@dataclass
class BatchSizer:
    """Per-key (model) batch sizes starting at `default`; `fallbacks` records every halving."""

    default: int
    sizes: dict[str, int] = field(default_factory=dict)
    fallbacks: list[dict[str, Any]] = field(default_factory=list)

    def size(self, key: str) -> int:
        return self.sizes.get(key, self.default)

    def map(self, key: str, n: int, fn: Callable[[int, int], Any]) -> list[Any]:
        """`fn(start, stop)` over [0, n) in batches, halving the batch on OOM (until a batch of 1 fails)."""
        out, start = [], 0
        while start < n:
            size = self.size(key)
            try:
                out.append(fn(start, min(start + size, n)))
            except OOM_ERRORS:
                if size == 1:
                    raise
                self.sizes[key] = size // 2
                self.fallbacks.append({"model": key, "from": size, "to": size // 2})
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            start += size
        return out
