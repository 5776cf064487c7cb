"""`bench list runs`: the run folders under an output folder, newest first, one line each: what the run
computes and whether it is complete, from run.json, the stored cells and the manifest (no torch import).

A folder's time is its last invocation's: the newest of run.json and the manifests.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.files import read_json_object
from common.text import age_text, aligned, param_text

from . import runfolder
from .config import AttackSpec
from .store import Store


@dataclass(frozen=True)
class RunInfo:
    """One run folder: its grid (run.json's config), cells stored of the grid's, failures and time."""

    path: Path
    config: dict[str, Any]
    total: int
    stored: int
    failed: int
    merged: bool  # manifest.json exists (a sharded grid has one only once `bench merge` ran)
    sharded: bool
    when: float
    wall_seconds: float | None

    @property
    def status(self) -> str:
        missing = self.total - self.stored
        if missing == 0:
            return "complete" if self.merged or not self.sharded else "complete, not merged (bench merge)"
        parts = [f"{missing} missing"] + ([f"{self.failed} failed"] * bool(self.failed))
        if not self.merged and not self.sharded:
            parts.append("running or stopped")
        return ", ".join(parts) + " (bench run --run-id resumes)"


def find_runs(output: Path) -> list[RunInfo]:
    """Every run folder (one holding run.json) directly under `output`, the latest invocation first;
    the `latest` link is not listed twice."""
    if not output.is_dir():
        return []
    runs = []
    for path in sorted(p for p in output.iterdir() if p.is_dir() and not p.is_symlink()):
        run = read_json_object(path / runfolder.RUN_FILE)
        if run is None:
            continue
        manifest_path = path / "manifest.json"
        manifest = read_json_object(manifest_path) or {}
        shards = sorted(path.glob("manifest.shard-*.json"))
        grid = run.get("cells", [])
        stored = len(Store(path).keys() & set(grid))
        times = [p.stat().st_mtime for p in [path / runfolder.RUN_FILE, manifest_path, *shards] if p.is_file()]
        wall = manifest.get("wall_seconds")
        failed = len(manifest.get("cells", {}).get("failed", []))
        runs.append(RunInfo(path, run.get("config", {}), len(grid), stored, failed, manifest_path.is_file(),
                            bool(shards), max(times), sum(wall) if isinstance(wall, list) else wall))
    return sorted(runs, key=lambda r: -r.when)


def runs_table(runs: list[RunInfo], now: float | None = None) -> str:
    """One aligned line per run: id, when, dataset, models, attacks, eps, cells stored of the grid, wall
    time of the last invocation (summed over shards once merged) and status."""
    now = time.time() if now is None else now
    rows = [("run", "when", "dataset", "models", "attacks", "eps", "cells", "wall", "status")]
    for r in runs:
        c = r.config
        attacks = [AttackSpec(a.get("name", "?"), a.get("params") or {}, a.get("label") or "").display
                   for a in c.get("attacks", []) if isinstance(a, dict)]  # as results label them
        rows.append((r.path.name, f"{age_text(now - r.when)} ago", str(c.get("dataset", "?")),
                     _few(c.get("models", [])), _few(attacks),
                     f"{c.get('norm', '')} " + ",".join(param_text(e) for e in c.get("eps", [])),
                     f"{r.stored}/{r.total}", "-" if r.wall_seconds is None else f"{r.wall_seconds:.0f} s", r.status))
    return aligned(rows)


def _few(names: list[str], at_most: int = 3) -> str:
    """"a,b,c" or "a,b,c +2": long lists cut so that each run stays one line."""
    shown = ",".join(names[:at_most])
    return shown + (f" +{len(names) - at_most}" if len(names) > at_most else "")
