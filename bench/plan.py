"""The grid plan: every cell of a run with its key, grouped by (attack, eps, source) so that one fit
serves both targeted modes; shards take whole groups.

Written by hand: the plan is what resume, sharding, `--dry-run` and `bench merge` all agree on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import attacks
from attacks import Attack, Budget
from common.eps import eps_text

from .config import AttackSpec, RunConfig, Shard, parse_shard
from .store import cell_key

__all__ = ["Cell", "Group", "Shard", "all_keys", "parse_shard", "plan_grid", "run_identity"]


@dataclass(frozen=True)
class Cell:
    order: tuple[int, ...]  # (attack, eps, source, seed, mode) indices: the table's row order
    targeted: bool
    key: str


@dataclass(frozen=True)
class Group:
    """The cells that share one fit: one attack, one budget, one source model."""

    index: int
    spec: AttackSpec
    attack: Attack
    budget: Budget
    source: str
    cells: tuple[Cell, ...]
    seed: int = 0  # the attack seed: fits and random starts
    several_seeds: bool = False  # the run repeats attacks over seeds (names say which)

    @property
    def where(self) -> str:
        seed = f" seed={self.seed}" if self.several_seeds else ""
        return f"{self.spec.display} {self.budget.norm} eps={eps_text(self.budget.eps)} source={self.source}{seed}"


def run_identity(cfg: RunConfig, transform: dict[str, Any] | None = None,
                 fingerprint: str | None = None) -> dict[str, Any]:
    """What every cell of a run depends on besides its own attack and models: dataset (and, where the
    name does not identify the content, a fingerprint of it), split sizes, seed, the images' eval
    transform (imagefolder) and autocast; the weight hashes are added once the models are loaded.
    Defaults are left out, so older run folders keep their keys."""
    ident: dict[str, Any] = {"dataset": cfg.dataset, "n": cfg.n, "n_fit": cfg.n_fit, "seed": cfg.seed}
    if fingerprint is not None:
        ident["data_fingerprint"] = fingerprint
    if transform is not None:
        ident["transform"] = transform
    if cfg.amp != "none":
        ident["amp"] = cfg.amp
    return ident


def plan_grid(cfg: RunConfig, identity: dict[str, Any]) -> list[Group]:
    """All groups of the grid in config order (untargeted-only attacks get no targeted cells; each
    attack runs on `cfg.sources_of(spec)`, every model is scored); `identity` (dataset, split sizes,
    seed, weight hashes) goes into every cell key, so a cell computed under another configuration never matches. With
    several attack seeds each seed is a group of its own; a seed equal to the run's `seed` keeps the
    key it has in a single-seed run, so adding seeds reuses the cells already computed."""
    names = list(cfg.models)
    seeds = cfg.attack_seeds
    source_rows = cfg.all_sources  # each source's row index in the tables, the same for every attack
    groups = []
    for ai, spec in enumerate(cfg.attacks):
        attack = attacks.create(spec.name, **spec.params)
        modes = [(ti, t) for ti, t in enumerate(cfg.targeted) if attack.runs_in(t)]
        if not modes:
            continue  # an untargeted-only attack in a targeted-only grid (or the reverse): nothing to compute
        for ei, budget in enumerate(cfg.budgets()):
            for source in cfg.sources_of(spec):
                si = source_rows.index(source)
                for ki, seed in enumerate(seeds):
                    cells = []
                    for ti, targeted in modes:
                        ident = {**identity, "attack": attack.config(), "label": spec.display, "norm": budget.norm,
                                 "eps": budget.eps, "targeted": targeted, "source": source, "targets": names}
                        if seed != cfg.seed:
                            ident["attack_seed"] = seed
                        cells.append(Cell((ai, ei, si, ki, ti), targeted, cell_key(ident)))
                    groups.append(Group(len(groups), spec, attack, budget, source, tuple(cells), seed, len(seeds) > 1))
    return groups


def all_keys(groups: list[Group]) -> list[str]:
    return [c.key for g in groups for c in g.cells]
