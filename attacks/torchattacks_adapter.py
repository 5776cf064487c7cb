"""Attacks computed by torchattacks: FGSM, PGD (Linf and L2) and any `torchattacks:<Class>`.

The gradient loops are torchattacks'; this module only maps our budget and target protocol
onto its constructor arguments and its targeted-by-label mode.
"""
from __future__ import annotations

import functools
import inspect
import math
from typing import Any, ClassVar

import torch
import torchattacks
from torch import nn

from .base import Attack, Fitted
from .budget import Budget
from .errors import AttackError, library_errors
from .grey_rgb import perturb_as_rgb
from .library_cost import class_gradients, library_passes
from .library_norms import norm_mismatch, sibling_class
from .library_reach import reach_notes
from .params import Param, constructor_params, flag, missing_required, positive_int
from .projection import project

_TA_NORM = {"linf": "Linf", "l2": "L2"}


class TorchattacksAttack(Attack):
    """Base for attacks that build a torchattacks object per call (so nothing is mutated between calls)."""

    def _build(self, model: nn.Module, budget: Budget) -> torchattacks.attack.Attack:
        raise NotImplementedError

    def _build_for(self, model: nn.Module, budget: Budget, x: torch.Tensor) -> torchattacks.attack.Attack:
        """The torchattacks object for this batch (a subclass may size settings by the images)."""
        return self._build(model, budget)

    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        atk = self._build_for(model, fitted.budget, x)
        if target is None:
            return atk(x, y)
        if "targeted" not in atk.supported_mode:
            raise AttackError(f"attack {self.label!r} has no targeted mode in torchattacks; run it untargeted")
        atk.set_mode_targeted_by_label(quiet=True)
        return atk(x, target)


class FGSM(TorchattacksAttack):
    """Fast gradient sign method (Goodfellow et al. 2015); the L2 variant is one normalized step (FGM)."""

    name = "fgsm"

    def _build(self, model: nn.Module, budget: Budget) -> torchattacks.attack.Attack:
        if budget.norm == "linf":
            return torchattacks.FGSM(model, eps=budget.eps)
        return torchattacks.PGDL2(model, eps=budget.eps, alpha=budget.eps, steps=1, random_start=False)


class PGD(TorchattacksAttack):
    """Projected gradient descent (Madry et al. 2018), Linf or L2; step alpha defaults to 2.5*eps/steps."""

    name = "pgd"
    version = 2  # 2: random starts drawn per batch from the cell seed and the batch's first image (the runner)
    params_spec: ClassVar[dict[str, Param]] = {
        "steps": positive_int(10, "gradient steps"),
        "alpha": Param(None, "step size (none: 2.5 * eps / steps)", float, low=0, low_open=True, none_ok=True),
        "random_start": flag(True, "start from a uniform random point of the budget ball"),
    }

    def _build(self, model: nn.Module, budget: Budget) -> torchattacks.attack.Attack:
        p = self._params
        alpha = p["alpha"] if p["alpha"] is not None else 2.5 * budget.eps / p["steps"]
        cls = torchattacks.PGD if budget.norm == "linf" else torchattacks.PGDL2
        return cls(model, eps=budget.eps, alpha=alpha, steps=p["steps"], random_start=p["random_start"])


# torchattacks' JSMA builds several float32 maps of (values per image)^2 entries: 2^30 is 4 GiB each
JSMA_MAX_PAIRS = 2**30
# classes whose iterates move at most `alpha` a step (in the budget's norm) from the clean image when they
# start there (no random_start, or random_start=False): their reach is steps x alpha (TPGD: plus 0.001 noise)
REACH_CLASSES = ("BIM", "DIFGSM", "EOTPGD", "Jitter", "MIFGSM", "NIFGSM", "PGD", "PGDL2", "SINIFGSM", "TIFGSM",
                 "TPGD", "UPGD", "VMIFGSM", "VNIFGSM")
EPS_ARGS = ("eps", "max_epsilon")  # a class's budget radius (PI-FGSM calls it max_epsilon)
BUDGET_ARGS = (*EPS_ARGS, "norm")  # set from the run's budget, never by the user


class GenericTorchattack(TorchattacksAttack):
    """Any torchattacks class by name; eps (and norm, where the class takes one) come from the budget.
    A class with no budget (minimum-norm attacks: CW, DeepFool, EAD, SparseFool, JSMA, OnePixel, Pixle)
    has its perturbation projected onto the budget ball, as foolbox does for its minimisation attacks,
    so that its cells measure success within the same budget as the others. Its parameters are the
    class's constructor arguments, with torchattacks' defaults."""

    # 3: a class without eps is projected onto the budget (it failed the budget check before); 4: n_classes
    # from the model, a seed left None from the runner's per-batch generator; 5: grey images as RGB for classes
    # with 3-channel kernels (PI-FGSM, TI-FGSM: their cells failed), JSMA untargeted aims within the model's classes
    version = 5

    def __init__(self, class_name: str, **params: Any) -> None:
        cls = getattr(torchattacks, class_name, None)
        if not (inspect.isclass(cls) and issubclass(cls, torchattacks.attack.Attack)):
            from common.text import unknown_name_message

            raise AttackError(unknown_name_message("torchattacks class", class_name, torchattacks_classes(),
                                                   "python -c 'import torchattacks; print(dir(torchattacks))'"))
        self._cls = cls
        self._label = f"torchattacks:{class_name}"
        if cls.__module__.startswith("torchattacks.wrappers"):  # MultiAttack, LGV
            raise AttackError(f"{self._label} is a torchattacks wrapper (of other attacks, or of a training "
                              "loader), not an attack a run can build from a model and a budget; list the "
                              "attacks themselves in --attacks")
        for name in BUDGET_ARGS:
            if name in params:
                raise AttackError(f"{self._label} takes {name} from the run's budget (--eps, --norm); "
                                  f"drop the {name} parameter")
        self.params_spec = constructor_params(cls, skip=("model", *BUDGET_ARGS), source="torchattacks")
        missing = missing_required(self._label, cls, params, skip=("model", *BUDGET_ARGS))
        if missing:
            raise AttackError(missing)
        self._given = dict(params)
        super().__init__(**params)
        self._targeted = _has_targeted_mode(cls, self._given)

    @property
    def supports_targeted(self) -> bool:  # type: ignore[override]
        """Whether torchattacks gives the class a targeted mode (DeepFool, APGD, TPGD have none): the
        grid leaves out its targeted cells instead of failing them."""
        return self._targeted

    @property
    def label(self) -> str:
        return self._label

    @property
    def minimum_norm(self) -> bool:
        """Whether the class takes no budget radius: its output is projected onto the budget."""
        return not any(a in inspect.signature(self._cls).parameters for a in EPS_ARGS)

    def check_budget_supported(self, budget: Budget) -> None:
        """A class with a budget radius and no `norm` argument works in the one norm its docstring's
        "Distance Measure" names (PGD, MI-FGSM: Linf; PGDL2: L2): another budget norm is a one-line error
        naming `--norm` and the class for the budget's norm, not cells that fail the budget check. Classes
        projected onto the budget (minimum-norm ones) and those taking `norm` work under either."""
        if self.minimum_norm or "norm" in inspect.signature(self._cls).parameters:
            return
        works_in = _distance_measure(self._cls)
        if works_in is not None and _TA_NORM[budget.norm] != works_in:
            name = self._cls.__name__
            raise AttackError(norm_mismatch(self.label, works_in, budget.norm,
                                            sibling_class(name, budget.norm, dir(torchattacks)), "torchattacks"))

    def budget_notes(self, budget: Budget) -> list[str]:
        """A class in `REACH_CLASSES` without a random start moves at most `steps` x `alpha` from the image:
        torchattacks' default alpha 2/255 over 10 steps is 0.078, under the quickstart's eps 0.1, so such a
        cell spends less budget than `pgd` (alpha 2.5 eps/steps) or the transfer suite (eps/steps) do
        (`library_reach`)."""
        name = self._cls.__name__
        alpha, steps = self._params.get("alpha"), self._params.get("steps")
        if name not in REACH_CLASSES or self._params.get("random_start") or not alpha or not steps:
            return []
        return reach_notes(self.label, self._given, steps, alpha, "alpha", budget, ("alpha", budget.eps / steps))

    @property
    def passes_bound(self) -> bool:  # type: ignore[override]
        """Its count is a worst case when it stops early: DeepFool and SparseFool on fooled images, EAD's
        abort_early, a restart only on the images still robust (APGD, FAB, Square)."""
        return self.one_image_at_a_time or self._params.get("abort_early") is True or "n_restarts" in self._params

    @property
    def one_image_at_a_time(self) -> bool:  # type: ignore[override]
        """torchattacks' DeepFool, SparseFool and JSMA loop over the batch's images."""
        return issubclass(self._cls, (torchattacks.DeepFool, torchattacks.SparseFool, torchattacks.JSMA))

    def gradient_passes(self, n_eval: int, n_fit: int, num_classes: int,
                        n_features: int | None = None) -> int:
        """The class's own loops (steps, binary searches, restarts); a DeepFool step takes the Jacobian of
        every class score, a SparseFool step a whole DeepFool run (torchattacks' default steps) plus one,
        and JSMA a Jacobian for each pair of pixels it changes, up to `gamma` of the image's `n_features`
        (unknown without them: counted as one pair)."""
        per_step = 1
        if issubclass(self._cls, torchattacks.DeepFool):
            per_step = class_gradients(self._params, num_classes)
        elif issubclass(self._cls, torchattacks.JSMA):
            pairs = math.ceil(n_features * self._params["gamma"] / 2) if n_features else 1
            per_step = max(pairs, 1) * class_gradients({}, num_classes)
        elif issubclass(self._cls, torchattacks.SparseFool):
            inner = inspect.signature(torchattacks.DeepFool).parameters["steps"].default
            per_step = inner * class_gradients({}, num_classes) + 1
        return library_passes(self._params, n_eval, per_step=per_step)

    def _build(self, model: nn.Module, budget: Budget, given: dict[str, Any] | None = None
               ) -> torchattacks.attack.Attack:
        """The class built on `model` with the user's parameters (or `given`) and the budget's radius/norm."""
        sig = inspect.signature(self._cls).parameters
        kwargs = dict(self._given if given is None else given)
        kwargs.update({a: budget.eps for a in EPS_ARGS if a in sig})
        if "norm" in sig:
            kwargs["norm"] = _TA_NORM[budget.norm]
        return self._cls(model, **kwargs)

    def _build_for(self, model: nn.Module, budget: Budget, x: torch.Tensor) -> torchattacks.attack.Attack:
        """As `autoattack` does: a class's `n_classes` (torchattacks' default 10) from the model's output
        unless given, and a seed left None (AutoAttack: seeded by the clock, so never the same twice) from
        torch's generator, which the runner seeds per batch."""
        sig = inspect.signature(self._cls).parameters
        given = dict(self._given)
        if "n_classes" in sig and "n_classes" not in given:
            with torch.no_grad():
                given["n_classes"] = int(model(x[:1]).shape[-1])
        if "seed" in sig and self._params.get("seed") is None:
            given["seed"] = int(torch.randint(0, 2**31 - 1, (1,)))
        return self._build(model, budget, given)

    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        """The class's attack, grey images as RGB for classes with 3-channel kernels (PI-FGSM, TI-FGSM),
        and JSMA's untargeted mode aimed at the next class of the model's (torchattacks: of 10)."""
        if issubclass(self._cls, torchattacks.JSMA):
            target = self._jsma_target(model, x, y, target)

        def attack(m: nn.Module, xx: torch.Tensor) -> torch.Tensor:
            return super(GenericTorchattack, self)._perturb(fitted, m, xx, y, target)

        with library_errors(self.label, "torchattacks"):
            x_adv = perturb_as_rgb(self.label, attack, model, x) if _rgb_kernels(self._cls) else attack(model, x)
        if not self.minimum_norm:
            return x_adv  # a class that takes eps keeps it itself; the runner's check holds it to that
        return (x + project(x_adv - x, fitted.budget)).clamp(0.0, 1.0)  # clamping only shortens it


    def _jsma_target(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                     target: torch.Tensor | None) -> torch.Tensor:
        """JSMA's target: the given one, else label + 1 mod the model's classes (torchattacks' untargeted
        mode: mod 10); images too large for its (values per image)^2 maps are one line, not an allocator
        error."""
        values = x[0].numel()
        if values**2 > JSMA_MAX_PAIRS:
            raise AttackError(f"{self.label} scores every pair of an image's {values:,} values "
                              f"({values**2 * 4 / 2**30:,.0f} GiB a map); run it on images of at most "
                              f"{math.isqrt(JSMA_MAX_PAIRS):,} values (Fashion-MNIST, CIFAR)")
        if target is not None:
            return target
        with torch.no_grad():
            return (y + 1) % model(x[:1]).shape[-1]


def torchattacks_classes() -> list[str]:
    """The names of torchattacks' attack classes, sorted: what `torchattacks:<Class>` may name."""
    return sorted(n for n in dir(torchattacks) if inspect.isclass(getattr(torchattacks, n))
                  and issubclass(getattr(torchattacks, n), torchattacks.attack.Attack))


@functools.lru_cache(maxsize=None)
def _rgb_kernels(cls: type) -> bool:
    """Whether the class convolves with a 3-channel depthwise kernel (`groups=3`: PI-FGSM, PI-FGSM++,
    TI-FGSM), which fails on grey images."""
    try:
        return "groups=3" in inspect.getsource(cls)
    except (OSError, TypeError):
        return False


def _distance_measure(cls: type) -> str | None:
    """The norm torchattacks documents for `cls` ("Distance Measure : Linf"), when it names exactly one."""
    for line in (cls.__doc__ or "").splitlines():
        if "Distance Measure" in line:
            measure = line.split(":", 1)[-1].strip()
            return measure if measure in ("Linf", "L2", "L1", "L0") else None
    return None


def _has_targeted_mode(cls: type, params: dict[str, Any]) -> bool:
    """torchattacks sets a class's modes when it is built: build it on a stand-in model to read them
    (True when the class cannot be built so: the perturb-time error then says so)."""
    try:
        return "targeted" in cls(nn.Sequential(nn.Flatten(), nn.Linear(1, 2)), **params).supported_mode
    except Exception:  # noqa: BLE001 - foreign constructors (LGV needs a loader): undecided, not broken
        return True
