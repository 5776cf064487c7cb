"""Run config files (TOML): every `bench run` option is a key (declared once, in `bench.config`);
unknown keys and wrong types are rejected with the key path and a "did you mean". Attacks are
names or tables with parameters:

    attacks = ["pgd", { name = "vizpert", label = "vizpert-input", label_injection = "input" }]
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Mapping

from common.text import param_text

from .config import MODES, OPTIONS, RunConfig, attack_spec, split_csv, toml_type, unknown_option_message
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
        if key not in OPTIONS and isinstance(value, dict) and value and set(value) <= set(OPTIONS):
            raise BenchError(f"{p}: run options are top-level keys, not a [{key}] table; remove the [{key}] "
                             f"line above {', '.join(value)}")  # a section header, as other tools' configs have
        if key not in OPTIONS:
            raise BenchError(f"{p}: {unknown_option_message('key', key)}")
        types, expected = toml_type(key)
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            fix = (f"; write {key} = {_as_list(value, OPTIONS[key].metadata['kind'])}"
                   if isinstance(value, str) and list in types else "")
            raise BenchError(f"{p}: key {key!r} must be {expected}, got {type(value).__name__} {value!r}{fix}")
    if "attacks" in raw:
        raw["attacks"] = [attack_spec(a, f"{p}: attacks[{i}]") for i, a in enumerate(raw["attacks"])]
    if "models" in raw and not all(isinstance(m, str) for m in raw["models"]):
        raise BenchError(f"{p}: key 'models' must be a list of zoo names (strings)")
    for name, file in raw.get("checkpoints", {}).items():
        if not isinstance(file, str):
            raise BenchError(f"{p}: checkpoints.{name!r} must be a file path (string), got {type(file).__name__}")
    return raw


def _as_list(text: str, kind: str) -> str:
    """The command line's comma list `text` written as the TOML list a config file needs (integers
    unquoted for a list of integers)."""
    items: list[Any] = split_csv(text)
    if kind == "ints" and all(re.fullmatch(r"-?\d+", i) for i in items):
        items = [int(i) for i in items]
    return json.dumps(items)


def check_option_names(options: Mapping[str, Any]) -> None:
    """A one-line error for the first key of `options` (flags or API keywords) that is no run option."""
    for key in options:
        if key not in OPTIONS:
            raise BenchError(unknown_option_message("run option", key))


def resolve_config(file: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> RunConfig:
    """Defaults, then the TOML file's keys, then `overrides` (flags or API keywords), checked by RunConfig."""
    values: dict[str, Any] = dict(read_config(file)) if file else {}
    check_option_names(overrides or {})
    for key, value in (overrides or {}).items():
        if key == "checkpoints":
            value = {**values.get("checkpoints", {}), **value}
        values[key] = value
    return RunConfig(**values)


BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# where a run computes, not what: left out of a run folder's config.toml so that a rerun picks its own
WHERE_KEYS = ("device", "executor", "ray_address", "workers")
CONFIG_FILE = "config.toml"


def config_toml(cfg: RunConfig, header: str = "") -> str:
    """`cfg` as a run config file that `bench run --config` reads back to the same grid: every recorded
    option written out (defaults too, so a later version's defaults do not change the rerun), except
    where it runs (`WHERE_KEYS`). Written by hand because tomllib only reads, and the values are a few
    plain types (checked by a round-trip test)."""
    values = cfg.to_dict()
    targeted = tuple(values.pop("targeted"))
    values["mode"] = next(m for m, t in MODES.items() if t == targeted)
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for key, value in values.items():
        if key in WHERE_KEYS or value is None:
            continue
        if key == "attacks":
            value = [_attack_item(a) for a in value]
        if key == "eps":  # 8/255 as written ("8/255"), which reads back to the same float
            value = [text if "/" in (text := param_text(e)) else e for e in value]
        lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _attack_item(a: Mapping[str, Any]) -> Any:
    """A recorded attack as a config file gives it: its name alone, or a table with label, sources and
    parameters (parameters set to none are left out: none is every parameter's default or invalid)."""
    table = {"name": a["name"], **({"label": a["label"]} if a.get("label") else {}),
             **({"sources": list(a["sources"])} if a.get("sources") else {}),
             **{k: v for k, v in a["params"].items() if v is not None}}
    return table if len(table) > 1 else a["name"]


def _toml(value: Any) -> str:
    """One TOML value: a string, bool, int, float, list or inline table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML's (non-ASCII stays as is)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = (f"{k if BARE_KEY.fullmatch(k) else _toml(k)} = {_toml(v)}" for k, v in value.items() if v is not None)
        return "{ " + ", ".join(items) + " }" if value else "{}"
    raise BenchError(f"cannot write {value!r} ({type(value).__name__}) to a config file")
