"""`bench list torchattacks` / `bench list foolbox`: every class a library offers as `<library>:<Class>`, with
the budget norms it runs under here, its modes and its parameters, read from the adapters themselves (so
the listing says what a run would do, not what the library's docs say)."""
from __future__ import annotations

import inspect
import re
from typing import NamedTuple

from common.eps import pixel_fraction

from .base import Attack
from .budget import Budget
from .errors import AttackError

LIBRARIES = ("torchattacks", "foolbox")
_BUDGETS = (Budget("linf", 0.1), Budget("l2", 1.0))


class LibraryClass(NamedTuple):
    """One row of the catalogue; `problem` is the one-line reason when the class cannot run here."""

    name: str
    norms: str
    modes: str
    params: str
    problem: str = ""


def _class_names(library: str) -> list[str]:
    if library == "torchattacks":
        from .torchattacks_adapter import torchattacks_classes

        return torchattacks_classes()
    import foolbox

    base = foolbox.attacks.base.Attack
    return sorted(n for n in dir(foolbox.attacks) if n[:1].isupper() and inspect.isclass(getattr(foolbox.attacks, n))
                  and issubclass(getattr(foolbox.attacks, n), base) and not inspect.isabstract(getattr(foolbox.attacks, n)))


def name_key(name: str) -> str:
    """What a class name reads as without case, punctuation, a norm in front or behind, or "Attack" at the end:
    `L2DeepFoolAttack`, `DeepFool` and `deep-fool` all read `deepfool`, `LinfPGD` and `PGDL2` read `pgd`."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    key = re.sub(r"attack$", "", key)
    return re.sub(r"^(linf|l[012])(?=[a-z])|(?<=[a-z])(linf|l[012])$", "", key)


def library_names_like(name: str) -> list[str]:
    """`library:Class` for every library class that reads as `name` (`name_key`): the names to suggest when
    a library attack is written without its prefix (`deepfool`). A library that is not installed offers none."""
    key = name_key(name)
    found: list[str] = []
    for library in LIBRARIES if key else ():
        try:
            classes = _class_names(library)
        except ImportError:
            continue
        found += [f"{library}:{c}" for c in classes if name_key(c) == key]
    return found


def modes_text(attack: Attack) -> str:
    """'both', 'untargeted' or 'targeted': the cells the grid plans for `attack`."""
    if attack.supports_targeted and attack.supports_untargeted:
        return "both"
    return "targeted" if attack.supports_targeted else "untargeted"


def catalogue(library: str) -> list[LibraryClass]:
    """Each class of `library` ('torchattacks' or 'foolbox') as the adapter sees it: the norms among
    linf and l2 whose budget it accepts ('projected' where its minimum-norm output is projected onto the
    budget), its modes (`modes_text`), and its parameters with the library's defaults."""
    from . import create

    if library not in LIBRARIES:
        raise AttackError(f"no library {library!r}: the adapters are for {', '.join(LIBRARIES)}")
    rows = []
    for name in _class_names(library):
        label = f"{library}:{name}"
        try:
            attack = create(label)
        except AttackError as exc:
            rows.append(LibraryClass(label, "", "", "", str(exc).removeprefix(f"attack {label!r} ")))
            continue
        norms, refusals = [], []
        for budget in _BUDGETS:
            try:
                attack.check_budget_supported(budget)
                norms.append(budget.norm)
            except AttackError as exc:
                refusals.append(str(exc))
        projected = " (projected)" if getattr(attack, "minimum_norm", False) else ""
        params = ", ".join(f"{k}={pixel_fraction(v) or repr(v)}" for k, v in attack.params.items())
        rows.append(LibraryClass(label, ", ".join(norms) + projected, modes_text(attack), params,
                                 "" if norms else refusals[0]))
    return rows
