"""The Attack contract: stateless attacks whose final `perturb` clips to [0, 1] and checks the budget.

Per-input attacks have a trivial `fit`; universal and class-universal attacks learn a delta or
a generator in `fit` and return it as a `Fitted` artifact (what was learned lives there, not on
the attack object, so one attack object serves every source model and budget).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Mapping

import torch
from torch import nn

from .budget import NORMS, Budget, PendingChecks
from .errors import AttackError
from .params import Param, resolve

KINDS = ("per_input", "universal", "class_universal")


@dataclass(frozen=True)
class Fitted:
    """What `fit` learned for one (source model, budget): tensors plus JSON-able metadata."""

    attack: str
    budget: Budget
    tensors: Mapping[str, torch.Tensor] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    # modules rebuilt from `tensors` on first use (e.g. a generator on a device); never saved
    runtime: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class Attack(ABC):
    """Base class of every attack plugin.

    Subclasses set `name`, `kind`, `norms`, `supports_targeted` and `params_spec` (each parameter
    declared once with its checks, `attacks.params.Param`), and implement `_perturb`. Parameters
    are fixed at construction; nothing mutates afterwards.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "per_input"
    learns: ClassVar[bool] = False  # True when `fit` trains something worth caching
    passes_bound: ClassVar[bool] = False  # True when `gradient_passes` is a worst case the attack stops short of
    one_image_at_a_time: ClassVar[bool] = False  # True when its passes run on single images (dry-run cost)
    version: ClassVar[int] = 1  # bump when results change for the same parameters (invalidates caches)
    norms: ClassVar[tuple[str, ...]] = NORMS
    supports_targeted: ClassVar[bool] = True
    supports_untargeted: ClassVar[bool] = True  # False for a targeted-only attack (foolbox's GenAttack)
    params_spec: ClassVar[Mapping[str, Param]] = {}

    def __init__(self, **params: Any) -> None:
        self._params = resolve(self.label, dict(self.params_spec), params)

    @property
    def label(self) -> str:
        """The registry name this attack was created under."""
        return self.name

    @property
    def params(self) -> dict[str, Any]:
        """The attack's resolved parameters (defaults filled in); a copy."""
        return dict(self._params)

    def config(self) -> dict[str, Any]:
        """Name, code version and parameters: what identifies this attack in cache and cell keys."""
        spec = self.params_spec
        return {"attack": self.label, "version": self.version,
                **{k: v for k, v in self.params.items() if k not in spec or spec[k].keyed or v != spec[k].default}}

    def fit_config(self) -> dict[str, Any]:
        """`config()` with every perturb-only parameter (`Param.fit` False) at its default: what
        identifies a fit (its cache key and seed), so variants that differ only in how the fit is used
        share one fit. Kept at the default rather than dropped so that default attacks keep their
        existing cache keys and seeds."""
        spec = self.params_spec
        return {**self.config(), **{k: spec[k].default for k in self.params if k in spec and not spec[k].fit}}

    def gradient_passes(self, n_eval: int, n_fit: int, num_classes: int,
                        n_features: int | None = None) -> int:
        """Rough cost in model forward+backward passes over single images (for `bench run --dry-run`):
        `steps` passes per fit image drawn (learned attacks, `batch_size` per step) or per eval image.
        `n_features` (values per image, when the caller knows them) serves attacks whose loop length
        scales with the image (torchattacks' JSMA)."""
        steps = self._params.get("steps")
        steps = steps if isinstance(steps, int) and steps > 0 else 1
        if self.learns:
            return steps * min(int(self._params.get("batch_size") or n_fit), n_fit)
        return steps * n_eval

    def fit_extra_seconds(self, x: torch.Tensor, num_classes: int, n_fit: int | None = None) -> float:
        """Measured seconds a fit on `n_fit` images (None: as many as a ranking uses) spends beyond the
        source model's `gradient_passes` (a generator's own forward and backward passes), on inputs
        shaped like `x` (for `bench run --dry-run`); 0 when none."""
        del x, num_classes, n_fit
        return 0.0

    def ranks_classes(self) -> bool:
        """True when a fit ranks every class on the fit split for untargeted use (`classwise.rank_classes`:
        forward passes a dry run counts); class-universal learned attacks do."""
        return self.learns and self.kind == "class_universal"

    def check_budget_supported(self, budget: Budget) -> None:
        """Raise a one-line AttackError if this attack cannot work under `budget`'s norm."""
        if budget.norm not in self.norms:
            raise AttackError(
                f"attack {self.label!r} supports norm {', '.join(self.norms)}, not {budget.norm}; "
                "choose another norm or attack")

    def runs_in(self, targeted: bool) -> bool:
        """Whether the attack has cells in this mode (the grid leaves it out of the other)."""
        return self.supports_targeted if targeted else self.supports_untargeted

    def budget_notes(self, budget: Budget) -> list[str]:
        """Warnings, not errors, about running at `budget` (a step schedule that cannot reach the budget's
        edge, so its cells spend less than the others'): shown before the grid and in the report."""
        del budget
        return []

    def fit(self, model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]], budget: Budget,
            *, seed: int) -> Fitted:
        """Learn what the attack needs from the fit split; per-input attacks learn nothing."""
        del model, loader, seed
        self.check_budget_supported(budget)
        return Fitted(self.label, budget)

    def perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                target: torch.Tensor | None = None, *, checks: PendingChecks | None = None) -> torch.Tensor:
        """Adversarial images for a batch: clipped to [0, 1] and checked against the budget.

        `target` (one class per image) makes the attack targeted; None means untargeted. With `checks`,
        the budget check is queued there instead of read now (the caller settles it before using the
        images; on a GPU that saves a wait per batch). Do not override: implement `_perturb`.
        """
        if target is not None and not self.supports_targeted:
            raise AttackError(f"attack {self.label!r} is untargeted only; run it with targeted off")
        if target is None and not self.supports_untargeted:
            raise AttackError(f"attack {self.label!r} is targeted only; run it with --mode targeted")
        if fitted.budget.eps == 0.0:  # the only image within distance 0 of x is x itself
            return x.detach().clone()
        x_adv = self._perturb(fitted, model, x, y, target).detach().clamp(0.0, 1.0)
        who = f"attack {self.label!r}"
        if checks is None:
            fitted.budget.check(x, x_adv, who=who)
        else:
            checks.add(fitted.budget, x, x_adv, who=who)
        return x_adv

    @abstractmethod
    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        """Return x_adv for the batch (the caller clips and checks)."""
