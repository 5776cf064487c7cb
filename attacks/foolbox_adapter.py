"""Any foolbox attack as `foolbox:<Class>`: foolbox runs the attack, we map budget and criterion."""
from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from .base import Attack, Fitted
from .budget import Budget
from .errors import AttackError, library_errors
from .foolbox_modes import criterion_modes
from .library_cost import class_gradients, library_passes
from .library_norms import norm_mismatch, sibling_class
from .library_reach import reach_notes
from .params import constructor_params, missing_required

_FB_P = {"linf": float("inf"), "l2": 2.0}


class FoolboxAttack(Attack):
    """Wraps `foolbox.attacks.<Class>(**params)`; the attack's own distance must match the budget norm."""

    version = 2  # 2: random draws per batch from the cell seed (the runner); parameters resolved with defaults

    def __init__(self, class_name: str, **params: Any) -> None:
        import foolbox

        cls = getattr(foolbox.attacks, class_name, None)
        if cls is None or not isinstance(cls, type):
            from common.text import unknown_name_message

            names = [n for n in dir(foolbox.attacks) if n[:1].isupper()]
            raise AttackError(unknown_name_message("foolbox attack", class_name, names,
                                                   "python -c 'import foolbox; print(dir(foolbox.attacks))'"))
        self._label = f"foolbox:{class_name}"
        # a flexible-distance class (GaussianBlur, ContrastReduction, ...) measures in the norm it is given:
        # the budget's, per call (`_attack_for`; without one, foolbox fails when it restricts to epsilons)
        self._flexible = issubclass(cls, foolbox.attacks.base.FlexibleDistanceMinimizationAttack)
        _refuse_unusable(self._label, cls, params, self._flexible)
        self.params_spec = constructor_params(cls, skip=("self", "distance") if self._flexible else ("self",),
                                              source="foolbox")
        super().__init__(**params)
        self._given = dict(params)
        self._cls = cls
        self._attack = _built(self._label, cls, params)
        self._modes = criterion_modes(self._attack_for(Budget("l2", 1.0)))
        if self._modes.problem:
            raise AttackError(f"{self._label} cannot run: foolbox says {self._modes.problem!r} when tried on a "
                              "stand-in; check the parameters in its brackets, or pick another attack (some "
                              "classes need inputs a run cannot give)")

    @property
    def label(self) -> str:
        return self._label

    @property
    def supports_targeted(self) -> bool:  # type: ignore[override]
        """Whether the class steers toward a target label (`foolbox_modes`): PGD, CW, EAD, DDN, FMN,
        GenAttack do; FGSM refuses a target, and DeepFool and the noise and decision-based attacks take one
        but only stop when they happen to hit it, so the grid gives them untargeted cells only."""
        return self._modes.targeted

    @property
    def supports_untargeted(self) -> bool:  # type: ignore[override]
        """False for a targeted-only class (GenAttack): the grid gives it targeted cells only."""
        return self._modes.untargeted

    @property
    def passes_bound(self) -> bool:  # type: ignore[override]
        """Its count is a worst case when it stops early: DeepFool on fooled images, CW and EAD's abort_early."""
        return self._deepfool or self._params.get("abort_early") is True

    @property
    def _deepfool(self) -> bool:
        import foolbox

        return isinstance(self._attack, foolbox.attacks.deepfool.DeepFoolAttack)

    def gradient_passes(self, n_eval: int, n_fit: int, num_classes: int,
                        n_features: int | None = None) -> int:
        """The class's own loops (steps times CW/EAD's binary search steps); a DeepFool step
        differentiates `candidates` class scores."""
        return library_passes(self._params, n_eval, per_step=class_gradients(self._params, num_classes)
                              if self._deepfool else 1)

    def budget_notes(self, budget: Budget) -> list[str]:
        """A gradient-descent class (BIM, PGD) without a random start moves at most `steps` x its step
        (`abs_stepsize`, else `rel_stepsize` x eps) from the image (`library_reach`): foolbox's defaults
        reach the edge, fewer steps may not (`LinfBasicIterativeAttack[steps=3]`: 60%)."""
        import foolbox

        p = self._params
        if not isinstance(self._attack, foolbox.attacks.gradient_descent_base.BaseGradientDescent) \
                or p.get("random_start") or not p.get("steps"):
            return []
        if p.get("abs_stepsize"):
            return reach_notes(self.label, self._given, p["steps"], p["abs_stepsize"], "abs_stepsize", budget,
                               ("abs_stepsize", budget.eps / p["steps"]))
        return reach_notes(self.label, self._given, p["steps"], p["rel_stepsize"] * budget.eps,
                           "rel_stepsize x eps", budget, ("rel_stepsize", 1 / p["steps"]))

    def check_budget_supported(self, budget: Budget) -> None:
        """foolbox classes carry their norm (`distance.p`): another than the budget's is a one-line error
        naming `--norm` and the class for the budget's norm (L2DeepFoolAttack -> LinfDeepFoolAttack)."""
        import foolbox

        if self._flexible:
            return  # measured in the budget's norm (`_attack_for`)
        p = getattr(getattr(self._attack, "distance", None), "p", None)
        if p is not None and float(p) != _FB_P[budget.norm]:
            works_in = "Linf" if float(p) == float("inf") else f"L{float(p):g}"
            name = self._label.split(":", 1)[1]
            if "constraint" in self.params_spec:  # HopSkipJump: one class, its norm a parameter
                other = f"{name}[constraint={budget.norm}]"
            else:
                other = sibling_class(name, budget.norm, dir(foolbox.attacks))
            raise AttackError(norm_mismatch(self.label, works_in, budget.norm, other, "foolbox"))

    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        import foolbox

        self.check_budget_supported(fitted.budget)
        fmodel = foolbox.PyTorchModel(model, bounds=(0, 1), device=x.device)
        criterion = (foolbox.criteria.Misclassification(y) if target is None
                     else foolbox.criteria.TargetedMisclassification(target))
        with library_errors(self.label, "foolbox"):
            _, clipped, _ = self._attack_for(fitted.budget)(fmodel, x, criterion, epsilons=fitted.budget.eps)
        return clipped

    def _attack_for(self, budget: Budget) -> Any:
        """The foolbox attack for `budget`: a flexible-distance class built with the budget's distance."""
        import foolbox

        if not self._flexible:
            return self._attack
        return self._cls(**self._params, distance=getattr(foolbox.distances, budget.norm))


def _refuse_unusable(label: str, cls: type, params: dict[str, Any], flexible: bool) -> None:
    """One-line errors for classes no budget can bound (SpatialAttack measures no distance; PointwiseAttack
    takes none), a distance given by hand, and required arguments not given."""
    import foolbox

    if not issubclass(cls, foolbox.attacks.base.AttackWithDistance):
        raise AttackError(f"{label} measures no distance (it rotates and translates images), so no budget can "
                          "bound it; pick a foolbox class with an L2 or Linf distance")
    if flexible and "distance" in params:
        raise AttackError(f"{label} takes its distance from the run's budget (--norm); drop the distance parameter")
    if flexible and "distance" not in inspect.signature(cls).parameters:
        raise AttackError(f"{label} takes no distance, so foolbox cannot hold it to a budget; pick a foolbox "
                          "class with an L2 or Linf distance")
    missing = missing_required(label, cls, params, skip=("self", "distance"))
    if missing:
        raise AttackError(missing)


def _built(label: str, cls: type, params: dict[str, Any]) -> Any:
    """`cls(**params)`, its constructor's errors as one line (a missing optional package named)."""
    try:
        return cls(**params)
    except TypeError as exc:
        raise AttackError(f"{label}: {exc}") from None
    except ImportError as exc:  # e.g. the Brendel-Bethge attacks import numba, which foolbox does not require
        missing = exc.name or str(exc)
        raise AttackError(f"{label} needs the package {missing!r}, which is not installed; pip install "
                          f"{missing.split('.')[0]} (into this environment), or pick another attack") from None
