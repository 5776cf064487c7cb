"""The grid runner: for each attack x eps x source, fit once, perturb the eval split once, then
score the same adversarial images on every target model. One stored cell per targeted mode.

Written by hand because no library runs a fit/perturb/transfer grid with resumable cells.
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

import attacks
from attacks import Attack, Budget, BudgetViolation

from . import metrics
from .config import RunConfig
from .data import Split
from .store import Store, cell_key
from .targets import make_targets

RATE_COLUMNS = ("clean_acc", "fooling_rate", "success_on_correct", "targeted_success")
PERCEPT_COLUMNS = ("linf_mean", "linf_max", "l2_mean", "ssim_mean", "psnr_mean")
TIMING_COLUMNS = ("fit_seconds", "perturb_seconds", "images_per_second")


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


def _batches(x: torch.Tensor, *others: torch.Tensor, size: int):
    for i in range(0, len(x), size):
        yield (x[i:i + size],) + tuple(o[i:i + size] for o in others)


def _adversarial(attack: Attack, fitted: attacks.Fitted, model: nn.Module, split: Split,
                 target: torch.Tensor | None, batch_size: int, device: torch.device) -> torch.Tensor:
    """Perturb the whole eval split batch by batch; the budget is checked on every batch."""
    out = []
    tgt = target if target is not None else split.y
    for xb, yb, tb in _batches(split.x, split.y, tgt, size=batch_size):
        xb, yb, tb = xb.to(device), yb.to(device), tb.to(device)
        x_adv = attack.perturb(fitted, model, xb, yb, tb if target is not None else None)
        fitted.budget.check(xb, x_adv, who=f"attack {attack.label!r}")  # the runner's own check
        out.append(x_adv.cpu())
    return torch.cat(out)


def run_grid(cfg: RunConfig, models: dict[str, nn.Module], fit: Split, eval_: Split, num_classes: int,
             store: Store, *, device: torch.device, identity: dict[str, Any],
             on_cell: Callable[[str], None] | None = None) -> GridResult:
    """Compute every missing cell of the grid into `store`; failed cells are reported, not stored.

    `identity` (dataset, split sizes, seed, model weight hashes) goes into every cell key, so a
    cell computed under another configuration is never mistaken for this one.
    """
    result = GridResult()
    targets = make_targets(eval_.y, num_classes, derive_seed(cfg.seed, "targets"))
    clean_pred = {name: metrics.predict(m, eval_.x, cfg.batch_size) for name, m in models.items()}
    fit_loader = DataLoader(TensorDataset(fit.x, fit.y), batch_size=cfg.batch_size, shuffle=False)
    names = list(models)
    total = len(cfg.attacks) * len(cfg.eps) * len(names) * len(cfg.targeted)
    bar = tqdm(total=total, desc="grid", unit="cell")
    for ai, spec in enumerate(cfg.attacks):
        attack = attacks.create(spec.name, **spec.params)
        for ei, budget in enumerate(cfg.budgets()):
            for si, source in enumerate(names):
                model = models[source]
                cells = []
                for ti, targeted in enumerate(cfg.targeted):
                    ident = {**identity, "attack": attack.config(), "norm": budget.norm, "eps": budget.eps,
                             "targeted": targeted, "source": source, "targets": names}
                    cells.append((ti, targeted, cell_key(ident)))
                todo = [c for c in cells if not store.has(c[2])]
                result.skipped += len(cells) - len(todo)
                bar.update(len(cells) - len(todo))
                if not todo:
                    continue
                label = f"{attack.label} {budget.norm} eps={budget.eps:g} source={source}"
                try:
                    t0 = time.perf_counter()
                    fitted = attack.fit(model, fit_loader, budget, seed=derive_seed(cfg.seed, attack.config(), source))
                    fit_seconds = time.perf_counter() - t0
                except (BudgetViolation, attacks.AttackError) as exc:
                    for _, targeted, _ in todo:
                        result.failures.append(CellFailure(f"{label} targeted={targeted}", str(exc)))
                    bar.update(len(todo))
                    continue
                for ti, targeted, key in todo:
                    bar.set_postfix_str(f"{attack.label} {source} {'T' if targeted else 'U'}", refresh=False)
                    try:
                        rows = _cell_rows(cfg, attack, fitted, budget, source, models, clean_pred, eval_,
                                          targets if targeted else None, device, fit_seconds, seed_parts=(
                                              cfg.seed, attack.config(), budget.eps, budget.norm, source, targeted))
                    except (BudgetViolation, attacks.AttackError) as exc:
                        result.failures.append(CellFailure(f"{label} targeted={targeted}", str(exc)))
                        bar.update(1)
                        continue
                    store.put(key, (ai, ei, si, ti), rows)
                    result.computed += 1
                    bar.update(1)
                    if on_cell:
                        on_cell(key)
    bar.close()
    return result


def _cell_rows(cfg: RunConfig, attack: Attack, fitted: attacks.Fitted, budget: Budget, source: str,
               models: dict[str, nn.Module], clean_pred: dict[str, torch.Tensor], eval_: Split,
               target: torch.Tensor | None, device: torch.device, fit_seconds: float,
               seed_parts: tuple) -> list[dict[str, Any]]:
    torch.manual_seed(derive_seed(*seed_parts))
    t0 = time.perf_counter()
    x_adv = _adversarial(attack, fitted, models[source], eval_, target, cfg.batch_size, device)
    perturb_seconds = time.perf_counter() - t0
    percept = metrics.perceptibility(eval_.x, x_adv)
    rows = []
    for name, model in models.items():
        pred_adv = metrics.predict(model, x_adv, cfg.batch_size)
        pc = clean_pred[name]
        rows.append({
            "attack": attack.label, "kind": attack.kind, "params": _params_text(attack.params),
            "norm": budget.norm, "eps": budget.eps, "targeted": target is not None,
            "source": source, "target": name, "whitebox": name == source, "n": len(eval_),
            "clean_acc": metrics.clean_accuracy(pc, eval_.y),
            "fooling_rate": metrics.fooling_rate(pc, pred_adv),
            "success_on_correct": metrics.success_on_correct(eval_.y, pc, pred_adv, target),
            "targeted_success": metrics.targeted_success(pred_adv, target) if target is not None else math.nan,
            **percept,
            "fit_seconds": round(fit_seconds, 4), "perturb_seconds": round(perturb_seconds, 4),
            "images_per_second": round(len(eval_) / max(perturb_seconds, 1e-9), 1),
        })
    return rows


def _params_text(params: dict[str, Any]) -> str:
    return ";".join(f"{k}={v}" for k, v in sorted(params.items()))
