"""Cache of fitted attacks (safetensors + JSON card with sha256), so repeated and resumed runs do not refit.

The key hashes everything a fit depends on: attack config, source weights, fit split, budget, seed.
The card also says, for `bench cache list`, which dataset, source model and seed the fit is for
(`fit_for`); the card's modification time is when the fit was last used.
"""
from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from attacks import Attack, Budget, Fitted
from common.files import CorruptFile, load_weights, read_card, save_weights
from common.machine import setup_text

from .store import cell_key


def fit_path(attack: Attack, budget: Budget, *, seed: int, identity: dict[str, Any], cache_dir: Path) -> Path:
    """Where the fit of `attack` under `budget` for this identity and seed is cached (present or not)."""
    key = cell_key({**identity, "attack": attack.fit_config(), "norm": budget.norm, "eps": budget.eps, "fit_seed": seed})
    return cache_dir / "fitted" / f"{key}.safetensors"


def is_cached(attack: Attack, budget: Budget, *, seed: int, identity: dict[str, Any], cache_dir: Path | None) -> bool:
    """True when `fit_with_cache` would read this fit from the cache (its card is there; the weights'
    sha256 is checked only on loading)."""
    return (attack.learns and cache_dir is not None
            and read_card(fit_path(attack, budget, seed=seed, identity=identity, cache_dir=cache_dir)) is not None)


def fit_with_cache(attack: Attack, model: nn.Module, loader: Iterable, budget: Budget, *, seed: int,
                   identity: dict[str, Any], cache_dir: Path | None, log=None,
                   attack_seed: int | None = None) -> tuple[Fitted, float, bool]:
    """(fitted, fit seconds, came from cache). Attacks that learn nothing are never cached. A learned
    fit's meta names the setup that fitted it (`fit_machine`): a cached fit may come from another one.
    `seed` is the fit's own (derived) seed; `attack_seed`, the run's seed it came from, is what
    `bench cache list` shows."""
    if not attack.learns or cache_dir is None:
        return _fit(attack, model, loader, budget, seed) + (False,)
    path = fit_path(attack, budget, seed=seed, identity=identity, cache_dir=cache_dir)
    if read_card(path) is not None:
        try:
            tensors, card = load_weights(path)
            mark_used(path)
            return Fitted(card["attack"], budget, tensors, card["meta"]), float(card["fit_seconds"]), True
        except CorruptFile as exc:
            if log:
                log(f"refitting {attack.label}: {exc}")
    fitted, seconds = _fit(attack, model, loader, budget, seed)
    save_weights({k: v.contiguous() for k, v in fitted.tensors.items()}, path,
                 {"attack": fitted.attack, "config": attack.fit_config(), "budget": [budget.norm, budget.eps],
                  "meta": dict(fitted.meta), "fit_seconds": round(seconds, 3), "torch": torch.__version__,
                  "fit_for": {"dataset": identity.get("dataset"), "source": identity.get("source"), "seed": seed,
                              **({} if attack_seed is None else {"attack_seed": attack_seed})}})
    return fitted, seconds, False


def mark_used(path: Path) -> None:
    """Stamp a cached fit's card with the time it was last read, which `bench cache prune --older-than`
    goes by; a read-only cache keeps the time it was written."""
    try:
        os.utime(path.with_suffix(".json"))
    except OSError:
        pass


def _fit(attack: Attack, model: nn.Module, loader: Iterable, budget: Budget, seed: int) -> tuple[Fitted, float]:
    """`attack.fit`, timed; a learned fit's meta gets the setup that computed it."""
    t0 = time.perf_counter()
    fitted = attack.fit(model, loader, budget, seed=seed)
    seconds = time.perf_counter() - t0
    if attack.learns:
        device = next(model.parameters(), torch.empty(0)).device
        fitted = replace(fitted, meta={**fitted.meta, "fit_machine": setup_text(device)})
    return fitted, seconds
