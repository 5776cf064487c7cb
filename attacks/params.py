"""Attack parameters declared with their checks: type, range, choices and a one-line help.

An attack lists its parameters once (`Attack.params_spec`); the base constructor rejects unknown
names and bad values with one line naming the parameter, what it must be and what it got, and
`bench list attacks` prints the same declarations.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Mapping

from common.text import guess_in_parens

from .errors import AttackError

_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


@dataclass(frozen=True)
class Param:
    """One parameter: its default, accepted type, optional bounds or choices, and a help line.

    `kind` float accepts integers too; int and float reject booleans. `low`/`high` are inclusive
    unless `low_open`/`high_open`. `none_ok` lets None stand for "derived from other parameters".
    `fit` False marks a parameter only `perturb` reads: fits (their cache key and seed) ignore it.
    `keyed` False: added after results were stored, and at its default the attack does exactly what it
    did before; left out of the attack's keys and seeds at its default, so stored cells and fits stay valid."""

    default: Any
    help: str = ""
    kind: type | None = None
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    none_ok: bool = False
    fit: bool = True
    keyed: bool = True

    def expected(self) -> str:
        """What a valid value looks like, in words (for errors and `bench list attacks`)."""
        if self.choices:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            text = _TYPE_WORDS.get(self.kind, "any value") if self.kind is not None else "any value"
            if self.kind is int and self.low == 1 and self.high is None and not self.low_open:
                text = "a positive integer"
            elif self.low is not None and self.high is not None:
                text += f" in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
            elif self.low is not None:
                text += f" {'>' if self.low_open else '>='} {self.low:g}"
            elif self.high is not None:
                text += f" {'<' if self.high_open else '<='} {self.high:g}"
        return text + (" or none" if self.none_ok else "")

    def check(self, owner: str, name: str, value: Any) -> None:
        """Raise a one-line AttackError unless `value` is valid for this parameter."""
        if value is None and self.none_ok:
            return
        if not self._valid(value):
            raise AttackError(f"{owner} {name} must be {self.expected()}, got {value!r}")

    def _valid(self, value: Any) -> bool:
        if self.choices:
            return any(value == c and type(value) is type(c) for c in self.choices)
        if self.kind is not None:
            if isinstance(value, bool) and self.kind is not bool:
                return False
            accepted = (int, float) if self.kind is float else (self.kind,)
            if not isinstance(value, accepted):
                return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True

    def describe(self, name: str) -> str:
        """`name=default (what it must be): help`, for `bench list attacks`."""
        text = f"{name}={self.default!r} ({self.expected()})" + (f": {self.help}" if self.help else "")
        return text + ("" if self.fit else " [perturb only: variants share one fit]")


def positive_int(default: int | None, help: str = "", *, none_ok: bool = False) -> Param:
    """The commonest declaration: an integer >= 1 (step counts, batch sizes, widths)."""
    return Param(default, help, int, low=1, none_ok=none_ok)


def flag(default: bool, help: str = "") -> Param:
    return Param(default, help, bool)


def resolve(owner: str, spec: dict[str, Param], given: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in and every value checked; unknown names rejected with the list of known ones."""
    unknown = sorted(set(given) - set(spec))
    if unknown:
        allowed = ", ".join(sorted(spec)) or "none"
        hint = guess_in_parens(unknown[0], spec)
        raise AttackError(f"attack {owner!r} has no parameter {unknown[0]!r}{hint}; its parameters: {allowed}")
    values = {name: p.default for name, p in spec.items()}
    values.update(given)
    for name, p in spec.items():
        p.check(owner, name, values[name])
    return values


def missing_required(label: str, cls: type, given: Mapping[str, Any], *, skip: tuple[str, ...]) -> str | None:
    """The one-line error when `cls`'s constructor has arguments without a default (besides `skip`) that
    `given` lacks: a run would fail on every cell with the library's TypeError."""
    missing = [name for name, p in inspect.signature(cls).parameters.items()
               if p.default is inspect.Parameter.empty and name not in skip and name not in given
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not missing:
        return None
    example = ", ".join(f"{name}=..." for name in missing)
    return f"attack {label!r} needs {', '.join(missing)} (no default in the library): give it as '{label}[{example}]'"


def constructor_params(cls: type, *, skip: tuple[str, ...], source: str) -> dict[str, Param]:
    """A library class's constructor arguments as parameter declarations (its defaults, unchecked
    types: the library checks its own values)."""
    spec = {}
    for name, p in inspect.signature(cls).parameters.items():
        if name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = None if p.default is inspect.Parameter.empty else p.default
        spec[name] = Param(default, f"{source} default")
    return spec
