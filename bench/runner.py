"""The grid runner: for each attack x eps x source, fit once, perturb the eval split once, then
score the same adversarial images on every target model. One stored cell per targeted mode.
`group_events` computes one group and yields what the driver (`bench.driver`) stores; the
executors (`bench.executors`) decide where groups run.

Written by hand because no library runs a fit/perturb/transfer grid with resumable cells.
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import attacks
from attacks import Attack, Budget, BudgetViolation, PendingChecks
from common.machine import setup_text

from . import metrics
from .batching import BatchSizer
from .config import RunConfig
from .datatypes import Split
from .fitcache import fit_with_cache
from .plan import Cell, Group
from .targets import make_targets

RATE_COLUMNS = ("clean_acc", "fooling_rate", "success_on_correct", "targeted_success", "robust_acc")
PERCEPT_COLUMNS = ("linf_mean", "linf_max", "l2_mean", "ssim_mean", "psnr_mean", "n_changed")
CELL_ERRORS = (BudgetViolation, attacks.AttackError, metrics.NonFiniteOutput)
EXAMPLES = 6  # eval images kept per cell for the example grids
MAX_SHOWN_CLASSES = 20  # per-class visualizations/deltas kept for the report when a dataset has more


def derive_seed(*parts: Any) -> int:
    """A 31-bit seed from the run seed and a cell's identity (stable across processes)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


@dataclass
class CellFailure:
    cell: str
    error: str


@dataclass
class GridResult:
    computed: int = 0
    skipped: int = 0
    failures: list[CellFailure] = field(default_factory=list)
    batch_fallbacks: list[dict[str, Any]] = field(default_factory=list)  # out-of-memory halvings
    fit_seconds: float = 0.0  # fits run (not read from the cache) by this invocation, once per group
    perturb_seconds: float = 0.0  # perturbing the eval split, summed over the cells computed


@dataclass
class Artifact:
    """Tensors for the report (fitted images, examples) that the driver writes to the store."""

    name: str
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]


@dataclass
class CellDone:
    """A finished cell: its rows, for the driver to store."""

    cell: Cell
    rows: list[dict[str, Any]]


@dataclass
class GridContext:
    """What every group of a run needs, computed once by the driver (and shipped once to Ray workers)."""

    cfg: RunConfig
    models: dict[str, nn.Module]
    fit: Split
    eval_: Split
    targets: torch.Tensor
    clean_pred: dict[str, torch.Tensor]
    identity: dict[str, Any]
    fit_cache: Path | None
    device: torch.device
    example_idx: torch.Tensor
    shown_classes: torch.Tensor


Event = Artifact | CellDone | CellFailure


def make_context(cfg: RunConfig, models: dict[str, nn.Module], fit: Split, eval_: Split, num_classes: int, *,
                 device: torch.device, identity: dict[str, Any], fit_cache: Path | None) -> GridContext:
    """Targets, clean predictions and example indices: the parts of a run every group shares."""
    return GridContext(
        cfg=cfg, models=models, fit=fit, eval_=eval_,
        targets=make_targets(eval_.y, num_classes, derive_seed(cfg.seed, "targets")),
        clean_pred={name: metrics.predict(m, eval_.x, cfg.batch_size) for name, m in models.items()},
        identity=identity, fit_cache=fit_cache, device=device,
        example_idx=_example_indices(eval_.y, EXAMPLES), shown_classes=torch.unique(eval_.y)[:MAX_SHOWN_CLASSES])


def group_events(group: Group, todo: list[Cell], ctx: GridContext, sizer: BatchSizer, log=None) -> Iterator[Event]:
    """Compute the cells `todo` of one group (one fit, then each targeted mode), yielding what the
    driver stores as it comes: artifacts, finished cells and failures. Writes nothing itself, so the
    same code runs in the driver (local executor) and in Ray workers."""
    cfg, device = ctx.cfg, ctx.device
    attack, budget, source, label = group.attack, group.budget, group.source, group.spec.display
    model = ctx.models[source]
    fit_loader = DataLoader(TensorDataset(ctx.fit.x, ctx.fit.y), batch_size=cfg.batch_size, shuffle=False,
                            pin_memory=device.type == "cuda")
    try:
        fitted, fit_seconds, cached = fit_with_cache(
            attack, model, fit_loader, budget, seed=fit_seed(group), cache_dir=ctx.fit_cache,
            identity=fit_identity(ctx.identity, source), log=log, attack_seed=group.seed)
    except CELL_ERRORS as exc:
        for cell in todo:
            yield CellFailure(f"{group.where} targeted={cell.targeted}", str(exc))
        return
    if log and attack.learns:
        log(f"fit {group.where}: " + ("from the cache" if cached else f"{fit_seconds:.1f} s"))
    yield from _fitted_artifacts(fitted, label, budget, source, ctx.shown_classes)
    for cell in todo:
        try:
            rows, x_adv = _cell_rows(cfg, label, attack, fitted, budget, source, ctx.models, ctx.clean_pred,
                                     ctx.eval_, ctx.targets if cell.targeted else None, device, fit_seconds, cached,
                                     sizer, seed=group.seed, seed_parts=(group.seed, attack.config(), budget.eps,
                                                                         budget.norm, source, cell.targeted))
        except CELL_ERRORS as exc:
            yield CellFailure(f"{group.where} targeted={cell.targeted}", str(exc))
            continue
        yield _example_artifact(cell.key, label, budget, source, cell.targeted, ctx.eval_, x_adv, ctx.example_idx,
                                ctx.targets, ctx.clean_pred[source], model)
        yield CellDone(cell, rows)


def _adversarial(attack: Attack, fitted: attacks.Fitted, model: nn.Module, split: Split,
                 target: torch.Tensor | None, sizer: BatchSizer, key: str, device: torch.device,
                 cell_seed: int = 0) -> torch.Tensor:
    """Perturb the whole eval split batch by batch (halving the batch on out-of-memory); the budget
    is checked on every batch. Random draws (random starts, noise) are seeded per batch from
    `cell_seed` and the batch's first image, so a batch's draws do not depend on what ran before
    it: other cells, earlier batches' data-dependent draws, or an attempt that ran out of memory.
    The adversarial images stay on the GPU when they take under a quarter of its free memory
    (they are scored there next); otherwise, and on the CPU, they come back to host memory.

    Nothing here waits for the GPU between batches: each batch's budget check is read after the next
    batch is launched, and all of them before the images are returned (a violation still raises
    before anything is scored or stored)."""
    tgt = target if target is not None else split.y
    out = _output_buffer(split.x, device)
    checks = PendingChecks()
    # Attack.perturb (final by contract) ends with the budget check; an attack that overrides it anyway
    # is checked here, so every batch is checked exactly once
    final = type(attack).perturb is Attack.perturb

    def one(i: int, j: int) -> None:
        torch.manual_seed(derive_seed(cell_seed, i))
        xb, yb = split.x[i:j].to(device, non_blocking=True), split.y[i:j].to(device, non_blocking=True)
        tb = tgt[i:j].to(device, non_blocking=True) if target is not None else None
        if final:
            x_adv = attack.perturb(fitted, model, xb, yb, tb, checks=checks)
        else:
            x_adv = attack.perturb(fitted, model, xb, yb, tb)
            checks.add(fitted.budget, xb, x_adv, who=f"attack {attack.label!r}")
        out[i:j].copy_(x_adv, non_blocking=True)
        checks.settle(keep=1)  # the previous batch's check: its numbers are ready, this batch is queued

    sizer.map(key, len(split), one)
    checks.settle()
    if out.device.type == "cpu" and device.type == "cuda":
        torch.cuda.synchronize(device)  # the last copies into pinned memory were asynchronous
    return out


def _output_buffer(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Where a cell's adversarial images go: on the GPU if they fit easily (no copies back and forth:
    measured 16% of PGD-10's time on resnet50 at 224x224, benchmarks/throughput_224.py), else in
    host memory (page-locked when a GPU fills it)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if x.numel() * x.element_size() < free // 4:
            return torch.empty(x.shape, dtype=x.dtype, device=device)
        return torch.empty(x.shape, dtype=x.dtype, pin_memory=True)
    return torch.empty_like(x)


def _fitted_artifacts(fitted: attacks.Fitted, label: str, budget: Budget, source: str,
                      shown: torch.Tensor) -> list[Artifact]:
    """What a fit learned that is worth looking at (class visualizations, universal deltas), for the
    report's image grids. With more than MAX_SHOWN_CLASSES classes (ImageNet: 1000 images of
    3x224x224 per fit) only the classes `shown` are kept, with their indices."""
    meta = {"attack": label, "norm": budget.norm, "eps": budget.eps, "source": source}
    tag = f"{label}_{budget.norm}_eps{budget.eps:g}_{source}"
    out = []

    def kept(key: str, t: torch.Tensor) -> dict[str, torch.Tensor]:
        """`t` whole, or only its `shown` rows with their class indices (a single delta is never cut)."""
        return {key: t} if len(t) <= MAX_SHOWN_CLASSES else {key: t[shown], "classes": shown}

    if "visualizations" in fitted.tensors:
        out.append(Artifact(f"classviz_{tag}", kept("visualizations", fitted.tensors["visualizations"]), meta))
    for name, per_class in (("deltas", True), ("delta", False)):
        if name in fitted.tensors:
            out.append(Artifact(f"deltas_{tag}", kept("deltas", fitted.tensors[name]),
                                {**meta, "per_class": per_class}))
    return out


def fit_seed(group: Group) -> int:
    """The seed of a group's fit: from the run seed, what identifies the fit and the source model."""
    return derive_seed(group.seed, group.attack.fit_config(), group.source)


def fit_identity(identity: dict[str, Any], source: str) -> dict[str, Any]:
    """What a fit depends on: the run identity minus the eval size and the other models' weights,
    plus the source's weights."""
    ident = {k: v for k, v in identity.items() if k not in ("weights", "n")}
    return {**ident, "source": source, "source_weights": identity.get("weights", {}).get(source)}


def _example_indices(y: torch.Tensor, k: int) -> torch.Tensor:
    """The first eval image of each of the first `k` classes present (a fixed, varied set)."""
    idx: list[int] = []
    for c in torch.unique(y).tolist()[:k]:
        idx.append(int((y == c).nonzero()[0]))
    return torch.tensor(idx, dtype=torch.long)


def _example_artifact(key: str, label: str, budget: Budget, source: str, targeted: bool, eval_: Split,
                      x_adv: torch.Tensor, idx: torch.Tensor, targets: torch.Tensor, clean_pred: torch.Tensor,
                      model: nn.Module) -> Artifact:
    """A few clean/adversarial pairs with their labels for the report's example grids (the clean
    labels are the source's clean predictions the metrics use, not predicted again)."""
    xa = x_adv[idx]
    tensors = {"x": eval_.x[idx], "x_adv": xa.cpu(), "y": eval_.y[idx], "pred_clean": clean_pred[idx],
               "pred_adv": metrics.predict(model, xa)}
    if targeted:
        tensors["target"] = targets[idx]
    return Artifact(f"examples_{key}", tensors, {"attack": label, "norm": budget.norm, "eps": budget.eps,
                                                 "source": source, "targeted": targeted})


def _cell_rows(cfg: RunConfig, label: str, attack: Attack, fitted: attacks.Fitted, budget: Budget, source: str,
               models: dict[str, nn.Module], clean_pred: dict[str, torch.Tensor], eval_: Split,
               target: torch.Tensor | None, device: torch.device, fit_seconds: float, fit_cached: bool,
               sizer: BatchSizer, seed: int, seed_parts: tuple) -> tuple[list[dict[str, Any]], torch.Tensor]:
    t0 = time.perf_counter()
    x_adv = _adversarial(attack, fitted, models[source], eval_, target, sizer, source, device,
                         cell_seed=derive_seed(*seed_parts))
    perturb_seconds = time.perf_counter() - t0
    percept = metrics.perceptibility(eval_.x, x_adv, device)
    preds = {name: metrics.predict(model, x_adv, cfg.batch_size) for name, model in models.items()}
    score_seconds = time.perf_counter() - t0 - perturb_seconds  # every model's predictions and the distances
    setup = setup_text(device)  # where this cell's floats were computed (a Ray worker: its own threads)
    rows = []
    for name, pred_adv in preds.items():
        pc = clean_pred[name]
        rows.append({
            "attack": label, "method": attack.label, "kind": attack.kind, "params": _params_text(attack.params),
            "norm": budget.norm, "eps": budget.eps, "targeted": target is not None,
            "source": source, "target": name, "whitebox": name == source, "seed": seed, "n": len(eval_),
            "clean_acc": metrics.clean_accuracy(pc, eval_.y),
            "fooling_rate": metrics.fooling_rate(pc, pred_adv),
            "success_on_correct": metrics.success_on_correct(eval_.y, pc, pred_adv, target),
            "targeted_success": metrics.targeted_success(pred_adv, target) if target is not None else math.nan,
            "robust_acc": metrics.clean_accuracy(pred_adv, eval_.y),
            **percept,
            "fit_seconds": round(fit_seconds, 4), "perturb_seconds": round(perturb_seconds, 4),
            "images_per_second": images_per_second(len(eval_), perturb_seconds),
            "score_seconds": round(score_seconds, 4),
            "fit_cached": fit_cached, "machine": setup, "fit_machine": fitted.meta.get("fit_machine"),
            "outcomes": metrics.outcome_masks(eval_.y, pc, pred_adv, target),
        })
    return rows, x_adv


def images_per_second(images: int, seconds: float) -> float:
    """A cell's speed as stored: one decimal, or three significant digits under 1 image/s (5 images in two
    minutes, compiling included, are 0.0417, where one decimal stored 0.0 and the log said "0 images/s")."""
    rate = images / max(seconds, 1e-9)
    return round(rate, 1) if rate >= 1 else float(f"{rate:.3g}")


def _params_text(params: dict[str, Any]) -> str:
    return ";".join(f"{k}={v}" for k, v in sorted(params.items()))
