"""Attack plugins on one contract (see `attacks.base.Attack`), found by name in `REGISTRY`."""
from __future__ import annotations

from typing import Any

from .base import KINDS, Attack, Fitted
from .class_uap import ClassUAP
from .class_viz import ClassViz
from .budget import NORMS, Budget, PendingChecks, parse_eps, per_example_norm
from .errors import AttackError, BudgetViolation, UnknownAttackError
from .foolbox_adapter import FoolboxAttack
from .generative import GENERATIVE
from .registry import REGISTRY, Registry
from .noise import Noise
from .reference import AutoAttack
from .torchattacks_adapter import FGSM, PGD, GenericTorchattack
from .transfer_suite import TRANSFER_SUITE
from .uap import SGDUAP, UAP
from .vizpert import VizPert

REGISTRY.register("fgsm", FGSM, "FGSM (Linf) / FGM (L2), one gradient step, via torchattacks")
REGISTRY.register("pgd", PGD, "PGD, Linf or L2, 10 steps with random start, via torchattacks")
REGISTRY.register("vizpert", VizPert, "VizPert (arXiv 2409.13559): label-conditioned generator vs a frozen guide")
REGISTRY.register("class_uap", ClassUAP, "one universal perturbation per target class, optimised directly")
REGISTRY.register("uap", UAP, "universal perturbation, batched DeepFool steps (Moosavi-Dezfooli 2017); targeted=true: per class")
REGISTRY.register("sgd_uap", SGDUAP, "universal perturbation by projected sign-gradient steps (Shafahi 2020); targeted=true: per class")
REGISTRY.register("class_viz", ClassViz, "class-model visualization (Simonyan 2014) scaled to the budget, per class")
REGISTRY.register("autoattack", AutoAttack, "AutoAttack (Croce & Hein 2020), the robust-accuracy reference, via torchattacks; untargeted")
REGISTRY.register("noise", Noise, "random sign (Linf) or gaussian (L2) noise of the full budget: the floor to beat")
GENERATIVE_SUMMARY = {
    "gap": "GAP (Poursaeed 2018): generator G(x) or universal G(z); untargeted, targeted=true conditional",
    "cda": "CDA (Naseer 2019): generator trained with the relativistic CE, output projected into the budget",
    "bia": "BIA (Zhang 2022): generator that disrupts the source's mid-layer features (timm feature_info)",
    "ttp": "TTP (Naseer 2021): targeted generator matching the target class's output distribution",
}
for _cls in GENERATIVE:
    REGISTRY.register(_cls.name, _cls, GENERATIVE_SUMMARY[_cls.name])
for _cls in TRANSFER_SUITE:
    REGISTRY.register(_cls.name, _cls, (_cls.__doc__ or "").strip().splitlines()[0].rstrip(".") + " (transfer suite, via torchattacks)")
REGISTRY.register_prefix("torchattacks", GenericTorchattack, "any torchattacks class, eps from the budget "
                         "(one without eps, e.g. CW or DeepFool: its output projected onto the budget); "
                         "`bench list torchattacks` shows each class's norms, modes and parameters")
REGISTRY.register_prefix("foolbox", FoolboxAttack, "any foolbox attack class whose norm matches the budget; "
                         "`bench list foolbox` shows each class's norms, modes and parameters")


def create(name: str, **params: Any) -> Attack:
    """Make an attack by name, e.g. `create("pgd", steps=20)` or `create("torchattacks:MIFGSM")`."""
    return REGISTRY.create(name, **params)


__all__ = [
    "Attack", "AttackError", "Budget", "BudgetViolation", "Fitted", "KINDS", "NORMS", "PendingChecks", "REGISTRY",
    "Registry", "UnknownAttackError", "create", "parse_eps", "per_example_norm",
]
