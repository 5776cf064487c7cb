"""The results store: one JSON file per finished cell, written atomically, in `<run>/cells/`.

A cell is (attack, eps, norm, targeted, source) and holds one row per target model. Because
each cell lands by a rename, a crash loses at most the cell in flight, and a run started again
in the same folder skips every cell already there.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:  # only annotations: `bench report` reads the store without importing torch
    import torch

from common.files import atomic_write_json, save_weights


def cell_key(identity: dict[str, Any]) -> str:
    """A short stable hash of everything that determines a cell's result."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Store:
    """Finished cells of one run folder."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = Path(run_dir) / "cells"

    def _path(self, key: str) -> Path:
        return self.dir / f"{key}.json"

    def has(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self) -> set[str]:
        """Keys of every stored cell."""
        return {p.stem for p in self.dir.glob("*.json")} if self.dir.is_dir() else set()

    def put(self, key: str, order: Iterable[int], rows: list[dict[str, Any]]) -> None:
        """Store one finished cell (its rows for every target) in one atomic write."""
        record = {"key": key, "order": list(order), "rows": rows}
        atomic_write_json(self._path(key), record, sort_keys=True)

    def put_artifact(self, name: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
        """Tensors the reports draw (visualizations, example images): `<run>/artifacts/<name>.safetensors`."""
        safe = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in name)
        path = self.dir.parent / "artifacts" / f"{safe}.safetensors"
        save_weights({k: v.detach().cpu() for k, v in tensors.items()}, path, meta)
        return path

    def rows(self, keys: set[str] | None = None) -> list[dict[str, Any]]:
        """Stored rows (of the cells in `keys`, or all) in grid order (the config's, not completion's)."""
        records = []
        for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            if keys is not None and path.stem not in keys:
                continue
            try:
                records.append(json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError):
                continue  # cannot happen with atomic writes; a foreign file is not a result
        records.sort(key=lambda r: r["order"])
        return [row for r in records for row in r["rows"]]
