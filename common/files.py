"""Files written atomically, and safetensors weights with a JSON card holding their sha256.

Files are written to a temporary name in the same folder and renamed into place, so two runs
sharing a cache never see a torn file; the sha256 is checked on every load. Used by the zoo's
weight cache, the fit cache and the results store.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where weights are read or written: `bench report` never does
    import torch


class CorruptFile(ValueError):
    """A cached file is missing its card or does not match its sha256; rooms re-raise it as their own error."""


def cache_root(explicit: str | os.PathLike | None = None) -> Path:
    """The weights and fits cache: `explicit`, else $BENCH_CACHE, else ~/.cache/vizpert-bench."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get("BENCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "vizpert-bench"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, value: Any, **dumps: Any) -> None:
    """`value` as JSON (plus a final newline) written atomically; `dumps` go to json.dumps."""
    atomic_write_bytes(path, (json.dumps(value, **dumps) + "\n").encode())


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_weights(state: dict[str, torch.Tensor], weights: Path, card: dict[str, Any]) -> dict[str, Any]:
    """Save a state dict as safetensors plus `<name>.json` card with its sha256; return the card."""
    from safetensors.torch import save as st_save

    data = st_save({k: v.detach().cpu().contiguous() for k, v in state.items()})
    card = {**card, "sha256": sha256_bytes(data), "file": weights.name, "bytes": len(data)}
    atomic_write_bytes(weights, data)
    atomic_write_json(weights.with_suffix(".json"), card, indent=2, sort_keys=True)
    return card


def read_json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None when the file is missing, unreadable or holds something else."""
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def read_card(weights: Path) -> dict[str, Any] | None:
    """The JSON card beside `weights`, or None when either file is missing."""
    card_path = weights.with_suffix(".json")
    if not weights.is_file():
        return None
    return read_json_object(card_path)


def load_weights(weights: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load a cached state dict after checking its sha256 against the card."""
    card = read_card(weights)
    if card is None:
        raise CorruptFile(f"no cached weights at {weights}")
    data = weights.read_bytes()
    if sha256_bytes(data) != card.get("sha256"):
        raise CorruptFile(f"cached weights {weights} do not match the sha256 in their card (corrupt or truncated)")
    from safetensors.torch import load as st_load

    return st_load(data), card
