"""Which norm a torchattacks/foolbox class works in, and the one-line error when it is not the budget's,
naming the flag and the same attack's class for the budget's norm where the library has one."""
from __future__ import annotations

from typing import Iterable

# how the libraries spell a norm in class names (foolbox: L2PGD / LinfPGD; torchattacks: PGD / PGDL2)
_PREFIXES = {"linf": ("Linf", "LInf", "Linfinity"), "l2": ("L2",)}
_ALL_PREFIXES = ("Linfinity", "Linf", "LInf", "L2", "L1", "L0")  # longest first


def sibling_class(name: str, norm: str, names: Iterable[str]) -> str | None:
    """The class in `names` that is `name` for budget norm `norm` (L2PGD -> LinfPGD, PGD -> PGDL2), if any."""
    available = set(names)
    stem = next((name[len(p):] for p in _ALL_PREFIXES if name.startswith(p) and name[len(p):][:1].isupper()), None)
    candidates = [p + stem for p in _PREFIXES[norm]] if stem else []
    candidates += [name + "L2"] if norm == "l2" else ([name[:-2]] if name.endswith("L2") else [])
    return next((c for c in candidates if c in available and c != name), None)


def norm_mismatch(label: str, works_in: str, budget_norm: str, sibling: str | None, library: str) -> str:
    """`label` works in `works_in` ('Linf', 'L2', 'L1', ...) but the budget is `budget_norm`: what to do."""
    measured = {"Linf": "linf", "L2": "l2"}.get(works_in)
    if measured is None:
        return (f"{label} works in the {works_in} norm, which this benchmark's budgets are not (linf or l2); "
                f"pick a {library} class for {budget_norm}")
    use = f"use {library}:{sibling}" if sibling else f"pick a {library} class for {budget_norm}"
    return f"{label} works in the {works_in} norm, not {budget_norm}; pass --norm {measured}, or {use}"
