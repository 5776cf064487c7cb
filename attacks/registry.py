"""The attack registry: explicit table, library prefixes (torchattacks:, foolbox:) and plugins.

Third-party packages register attacks through the `vizpert_bench.attacks` entry-point group:
each entry point loads an Attack subclass (or a factory) and is registered under its name.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable

from common.text import close_names, first_line

from .base import Attack
from .errors import UnknownAttackError

ENTRY_POINT_GROUP = "vizpert_bench.attacks"

AttackFactory = Callable[..., Attack]


@dataclass(frozen=True)
class Entry:
    name: str
    factory: AttackFactory
    description: str


class Registry:
    """Name -> attack factory, with prefix factories for whole libraries (`torchattacks:<Class>`)."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._prefixes: dict[str, tuple[Callable[..., Attack], str]] = {}
        self._plugins_loaded = False

    def register(self, name: str, factory: AttackFactory, description: str) -> None:
        if name in self._entries:
            raise ValueError(f"attack {name!r} is registered twice")
        self._entries[name] = Entry(name, factory, description)

    def register_prefix(self, prefix: str, factory: Callable[..., Attack], description: str) -> None:
        """`prefix:<Class>` names are created by `factory(class_name, **params)`."""
        self._prefixes[prefix] = (factory, description)

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in self._entries:
                continue
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - any failure of foreign code: skip that plugin only
                package = getattr(getattr(ep, "dist", None), "name", None) or ep.value.split(":")[0]
                warnings.warn(f"attack plugin {ep.name!r} from package {package!r} failed to load and is skipped "
                              f"({type(exc).__name__}: {first_line(exc)}); fix or uninstall {package}",
                              RuntimeWarning, stacklevel=2)
                continue
            self.register(ep.name, obj, (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else "")

    def create(self, name: str, **params: Any) -> Attack:
        """Make an attack by registry name (or `library:Class`), with its parameters."""
        prefix, sep, rest = name.partition(":")
        if sep and prefix in self._prefixes:
            return self._prefixes[prefix][0](rest, **params)
        self._load_plugins()
        if name not in self._entries:
            raise UnknownAttackError(self._bracket_hint(name) or self._unknown_message(name))
        return self._entries[name].factory(**params)

    def _unknown_message(self, name: str) -> str:
        """The unknown name with what it may have meant: the registered names that read the same (`PGD`), else
        those that look like it and the library classes that read the same (`deepfool`: `torchattacks:DeepFool`)."""
        from .library_catalogue import library_names_like, name_key

        names, key = self.names(), name_key(name)
        meant = [n for n in names if name_key(n) == key] or close_names(name, names) + library_names_like(name)
        hint = f"; did you mean {' or '.join(map(repr, meant))}?" if meant else ""
        return f"unknown attack {name!r}{hint} (`bench list attacks` shows all)"

    def _bracket_hint(self, name: str) -> str:
        """For `pgd:steps=20` or `pgd(steps=20)`, a known attack with its parameters written another
        way: the error that shows the bracket form; "" for any other unknown name."""
        m = re.fullmatch(r"([\w-]+)\s*[:(]\s*([^\[\]]*=[^\[\]]*?)\)?", name)
        if not m or m.group(1) not in self._entries:
            return ""
        return (f"unknown attack {name!r}; an attack's parameters go in brackets: "
                f"'{m.group(1)}[{m.group(2).strip()}]' (`bench list attacks` shows each one's)")

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def parameters(self, name: str) -> dict[str, Any]:
        """The declared parameters (`attacks.params.Param`) of a registered attack; {} for factories
        that declare none (library prefixes resolve theirs per class)."""
        self._load_plugins()
        factory = self._entries[name].factory
        return dict(getattr(factory, "params_spec", {}) or {})

    def describe(self) -> list[tuple[str, str]]:
        """(name, one-line description) for every attack and library prefix."""
        self._load_plugins()
        rows = [(e.name, e.description) for e in sorted(self._entries.values(), key=lambda e: e.name)]
        rows += [(f"{p}:<Class>", d) for p, (_, d) in sorted(self._prefixes.items())]
        return rows


REGISTRY = Registry()
