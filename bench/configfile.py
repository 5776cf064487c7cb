"""Run config files (TOML): every `bench run` option is a key (declared once, in `bench.config`);
unknown keys and wrong types are rejected with the key path and a "did you mean". Attacks are
names or tables with parameters:

    attacks = ["pgd", { name = "vizpert", label = "vizpert-input", label_injection = "input" }]
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping

from common.text import unknown_name_message

from .config import OPTIONS, RunConfig, attack_spec, toml_type
from .errors import BenchError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def read_config(path: str | Path) -> dict[str, Any]:
    """Parse a run config file and check each key's type; values keep the file's types (RunConfig
    checks and normalises them)."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise BenchError(f"config file {p} does not exist; pass the path of a .toml file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchError(f"cannot read config file {p}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"config file {p} is not valid TOML: {exc}") from None
    for key, value in raw.items():
        if key not in OPTIONS:
            raise BenchError(f"{p}: {unknown_name_message('key', key, OPTIONS, 'bench run --help')}")
        types, expected = toml_type(key)
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise BenchError(f"{p}: key {key!r} must be {expected}, got {type(value).__name__} {value!r}")
    if "attacks" in raw:
        raw["attacks"] = [attack_spec(a, f"{p}: attacks[{i}]") for i, a in enumerate(raw["attacks"])]
    if "models" in raw and not all(isinstance(m, str) for m in raw["models"]):
        raise BenchError(f"{p}: key 'models' must be a list of zoo names (strings)")
    for name, file in raw.get("checkpoints", {}).items():
        if not isinstance(file, str):
            raise BenchError(f"{p}: checkpoints.{name!r} must be a file path (string), got {type(file).__name__}")
    return raw


def resolve_config(file: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> RunConfig:
    """Defaults, then the TOML file's keys, then `overrides` (flags or API keywords), checked by RunConfig."""
    values: dict[str, Any] = dict(read_config(file)) if file else {}
    for key, value in (overrides or {}).items():
        if key not in OPTIONS:
            raise BenchError(unknown_name_message("run option", key, OPTIONS, "bench run --help"))
        if key == "checkpoints":
            value = {**values.get("checkpoints", {}), **value}
        values[key] = value
    return RunConfig(**values)
