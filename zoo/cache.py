"""The weight cache: where it lives, and its files (safetensors + sha256 card, `common.files`)
loaded with the zoo's own error."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from common import files
from common.files import read_card, save_weights

from .errors import ZooError

__all__ = ["cache_root", "load_weights", "read_card", "save_weights"]


def cache_root(explicit: str | os.PathLike | None = None) -> Path:
    """`explicit`, else $BENCH_CACHE, else ~/.cache/vizpert-bench."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get("BENCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "vizpert-bench"


def load_weights(weights: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """`common.files.load_weights`, with a missing or corrupt file raised as a ZooError."""
    try:
        return files.load_weights(weights)
    except files.CorruptFile as exc:
        raise ZooError(str(exc)) from None
