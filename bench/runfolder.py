"""A run folder's identity: `run.json` records the resolved config and every cell key of the grid,
so that resuming, sharding and merging never mix cells of two different configurations.

Layout: run.json, cells/*.json (the store), artifacts/, manifest.json (or manifest.shard-i-of-n.json),
the tables and plots written by `reports`.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from common.files import atomic_write_bytes, atomic_write_json

from .errors import BenchError
from .store import Store

RUN_FILE = "run.json"
# config keys that do not change results: a run may be resumed with other values
NOT_LOCKED = ("device", "batch_size", "channels_last", "workers", "executor", "ray_address")
# keys added later: left out of the comparison at their defaults, so older run folders still resume
LATER_DEFAULTS = {"pretrained": False, "checkpoints": {}, "amp": "none", "zoo_seed": 0, "compile": False}
GENERATED = ("cells", "artifacts", "plots")


def locked_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config as compared between a run folder and a resumed/sharded/merged run (JSON types)."""
    kept = {k: v for k, v in config.items()
            if k not in NOT_LOCKED and not (k in LATER_DEFAULTS and v == LATER_DEFAULTS[k])}
    return json.loads(json.dumps(kept, default=str))


def read_run(run_dir: Path) -> dict[str, Any] | None:
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BenchError(f"{path} is unreadable ({exc}); start over with --fresh") from None


def claim(run_dir: Path, config: dict[str, Any], identity: dict[str, Any], keys: list[str]) -> None:
    """Write run.json, or check that the existing one describes the same grid (same config and weights)."""
    record = {"config": locked_config(config), "identity": json.loads(json.dumps(identity, default=str)),
              "cells": keys}
    old = read_run(run_dir)
    if old is not None:
        diff = _first_difference(old, record)
        if diff:
            raise BenchError(f"run folder {run_dir} holds another configuration ({diff}); use another --run-id, "
                             "or --fresh to discard its results")
    if old is None or old.get("cells") != keys:  # new, or a new code version of an attack: cells recomputed
        atomic_write_json(Path(run_dir) / RUN_FILE, record, indent=1, sort_keys=True)


def _first_difference(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    for part in ("config", "identity"):
        a, b = old.get(part, {}), new.get(part, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                what = "model weights" if key == "weights" else f"{key}"
                return f"{what}: stored {_short(a.get(key))}, now {_short(b.get(key))}"
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def fresh(run_dir: Path) -> None:
    """Remove what earlier runs computed in `run_dir` (cells, artifacts, plots, run.json)."""
    run_dir = Path(run_dir)
    for name in GENERATED:
        shutil.rmtree(run_dir / name, ignore_errors=True)
    (run_dir / RUN_FILE).unlink(missing_ok=True)


def grid_keys(run_dir: Path) -> set[str] | None:
    """The cell keys of the folder's grid (None for a folder without run.json): stored cells outside
    it (left by an older attack version) are not results of this run."""
    run = read_run(run_dir)
    return None if run is None else set(run["cells"])


def require_stored(run_dir: Path) -> None:
    """A one-line error unless `run_dir` is a run folder with stored cells (what `bench report` and
    `load_run` read): a path that is not there is told apart from a folder that holds no run."""
    if not run_dir.is_dir():
        raise BenchError(f"run folder {run_dir} does not exist; `bench list runs [--output DIR]` lists the runs")
    if not Store(run_dir).keys():
        raise BenchError(runs_inside(run_dir) or f"no stored results in {run_dir}/cells; pass a run folder made by "
                         "`bench run`")


LATEST = "latest"  # the link in an --output folder to its newest run


def resolve_run_id(output: Path, run_id: str | None) -> str | None:
    """`run_id`, with "latest" read as the run its link points at: resuming through the link once
    pointed the link at itself and failed with a traceback."""
    if run_id != LATEST:
        return run_id
    link = output / LATEST
    if not link.is_symlink():
        raise BenchError(f"--run-id latest resumes the newest run, but {output} has no run yet (no {link} link); "
                         "leave --run-id out for a new run, or name a run folder (`bench list runs`)")
    return Path(os.readlink(link)).name


def runs_inside(folder: Path) -> str | None:
    """When `folder` is an --output folder given where one of its runs was meant: a line naming its runs
    and one to pass; else None."""
    runs = sorted(p.name for p in folder.iterdir() if (p / "cells").is_dir() and not p.is_symlink())
    if not runs:
        return None
    example = LATEST if (folder / LATEST).is_symlink() else runs[-1]
    return (f"{folder} holds run folders ({', '.join(runs[:5])}{', ...' if len(runs) > 5 else ''}); "
            f"pass one, e.g. {folder / example}")


def stored_rows(run_dir: Path) -> list[dict[str, Any]]:
    """The stored rows of the folder's grid (all rows for a folder without run.json), in grid order."""
    return Store(run_dir).rows(grid_keys(run_dir))


def missing_cells(run_dir: Path, stored: set[str]) -> list[str]:
    """Keys of run.json's grid that have no stored cell."""
    run = read_run(run_dir)
    if run is None:
        return []
    return [k for k in run["cells"] if k not in stored]


def merge_into(dest: Path, sources: list[Path]) -> int:
    """Copy the cells and artifacts of `sources` (shard run folders of the same grid) into `dest`;
    return how many cells were new. Refuses folders whose run.json describes another grid."""
    dest = Path(dest)
    mine = read_run(dest)
    if mine is None:
        raise BenchError(f"{dest} has no {RUN_FILE}; pass a run folder made by `bench run`")
    added = 0
    for src in map(Path, sources):
        theirs = read_run(src)
        if theirs is None:
            raise BenchError(f"{src} has no {RUN_FILE}; pass run folders made by `bench run`")
        diff = _first_difference(mine, theirs)
        if diff or theirs.get("cells") != mine.get("cells"):
            raise BenchError(f"{src} is a run of another grid than {dest} ({diff or 'other cells'}); "
                             "merge only shards of one config")
        for sub in ("cells", "artifacts"):
            for f in sorted((src / sub).glob("*")) if (src / sub).is_dir() else []:
                target = dest / sub / f.name
                if f.is_file() and not f.name.startswith(".") and not target.exists():
                    atomic_write_bytes(target, f.read_bytes())
                    added += sub == "cells"
        for m in sorted(src.glob("manifest*.json")):
            if not (dest / m.name).exists():
                atomic_write_bytes(dest / m.name, m.read_bytes())
    return added
