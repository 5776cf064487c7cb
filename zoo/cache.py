"""The weight cache: where it lives, and its files (safetensors + sha256 card, `common.files`)
loaded with the zoo's own error."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from common import files
from common.files import cache_root, read_card, save_weights

from .errors import ZooError

__all__ = ["cache_root", "load_weights", "read_card", "save_weights"]


def load_weights(weights: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """`common.files.load_weights`, with a missing or corrupt file raised as a ZooError."""
    try:
        return files.load_weights(weights)
    except files.CorruptFile as exc:
        raise ZooError(str(exc)) from None
