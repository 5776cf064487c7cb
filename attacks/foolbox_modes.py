"""Which criteria a foolbox attack accepts, found by calling it on a stand-in model that stops it at its
first forward pass: foolbox declares no modes, and its classes differ (FGSM refuses a target, GenAttack
needs one, DeepFool takes one but never reads it).

Written by hand: foolbox has no API for this; reading the source alone misjudged FGSM (its signature
names TargetedMisclassification in a type annotation, then its body refuses it).
"""
from __future__ import annotations

import inspect
from typing import Any, NamedTuple

from common.text import first_line


class Modes(NamedTuple):
    """What a class does with each criterion; `problem`: the library's reason it cannot run at all."""

    untargeted: bool
    targeted: bool
    problem: str | None = None


class _Reached(Exception):
    """Raised by the stand-in model: the attack got past its criterion checks to its first forward."""


def _stand_in() -> Any:
    import foolbox

    class StandIn(foolbox.models.Model):
        data_format = "channels_first"

        @property
        def bounds(self) -> Any:
            return foolbox.types.Bounds(0, 1)

        def __call__(self, inputs: Any) -> Any:
            raise _Reached

        def transform_bounds(self, bounds: Any) -> Any:
            return self
    return StandIn()


def _accepts(attack: Any, criterion: Any) -> bool | str:
    """True when `attack` runs up to a forward pass under `criterion`, False when it refuses the criterion,
    else the first line of the error it raised first."""
    import torch

    try:
        attack(_stand_in(), torch.zeros(2, 1, 8, 8), criterion, epsilons=0.1)
    except _Reached:
        return True
    except Exception as exc:  # noqa: BLE001 - any error of the library's code is the answer
        text = first_line(exc)
        return False if "unsupported criterion" in text else text
    return True


def _reads_targets(cls: type) -> bool:
    """Whether some `run` in the class's MRO reads the criterion's `.target_classes` (DeepFool and the
    noise and decision-based attacks take a target criterion but only stop if they happen to hit it)."""
    for klass in cls.__mro__:
        run = klass.__dict__.get("run")
        if run is None:
            continue
        try:
            if ".target_classes" in inspect.getsource(run):
                return True
        except (OSError, TypeError):  # no source: undecided, so trust the probe
            return True
    return False


def criterion_modes(attack: Any) -> Modes:
    """The modes of a built foolbox attack: untargeted if it runs under Misclassification, targeted if it
    runs under TargetedMisclassification and reads the targets; a problem if it fails under both for
    another reason than the criterion (DatasetAttack needs `feed()`, BinarizationRefinement starting points)."""
    import foolbox
    import torch

    labels = torch.zeros(2, dtype=torch.long)
    untargeted = _accepts(attack, foolbox.criteria.Misclassification(labels))
    targeted = _accepts(attack, foolbox.criteria.TargetedMisclassification(labels + 1))
    if isinstance(untargeted, str) and isinstance(targeted, str):
        return Modes(False, False, untargeted)
    return Modes(untargeted is not False, targeted is not False and _reads_targets(type(attack)))
