"""The run manifest: config, seed, package versions, git commit, device, weight hashes, wall time."""
from __future__ import annotations

import importlib.metadata
import subprocess
from pathlib import Path
from typing import Any


PACKAGES = ("vizpert-bench", "torch", "torchvision", "timm", "torchattacks", "foolbox", "scikit-image",
            "numpy", "pandas", "safetensors")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    return versions


def git_commit(where: Path) -> str | None:
    """The commit of the checkout holding the code, if it is one (None for an installed wheel)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def merge_shard_manifests(parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One manifest for a grid computed in shards, from each shard's (by file name): the first shard's
    fields, the cells and times of all, `devices`, each shard's machine (shards on machines with
    another thread count or instruction set compute other floats: README, reproducibility)."""
    first = next(iter(parts.values()))
    return {**first, "shard": "merged", "shards": list(parts),
            "cells": {"computed": sum(p["cells"]["computed"] for p in parts.values()),
                      "failed": [f for p in parts.values() for f in p["cells"]["failed"]]},
            "wall_seconds": [p["wall_seconds"] for p in parts.values()],
            "phase_seconds": [p.get("phase_seconds", {}) for p in parts.values()],
            "devices": {name: p.get("device", {}) for name, p in parts.items()}}


def build_manifest(**fields: Any) -> dict[str, Any]:
    """Everything needed to reproduce a run, plus what is measured about it."""
    return {"versions": package_versions(), "git_commit": git_commit(Path(__file__).resolve().parent), **fields}
