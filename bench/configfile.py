"""Run config files (TOML): every `bench run` option has a key; unknown keys and wrong types are
rejected with the key path and a "did you mean". Attacks are names or tables with parameters:

    attacks = ["pgd", { name = "vizpert", label = "vizpert-input", label_injection = "input" }]
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from attacks.registry import unknown_name_message

from .config import AttackSpec
from .errors import BenchError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# key -> (accepted python types, description of the expected value)
KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "dataset": ((str,), "a dataset name"),
    "models": ((list,), "a list of zoo names"),
    "attacks": ((list,), "a list of attack names or tables"),
    "eps": ((list, int, float, str), "a number, \"8/255\" or a list of them"),
    "norm": ((str,), "\"linf\" or \"l2\""),
    "mode": ((str,), "\"both\", \"untargeted\" or \"targeted\""),
    "n": ((int,), "an integer"),
    "n_fit": ((int,), "an integer"),
    "seed": ((int,), "an integer"),
    "batch_size": ((int,), "an integer"),
    "device": ((str,), "auto, cpu, cuda or cuda:<i>"),
    "output": ((str,), "a folder"),
    "run_id": ((str,), "a folder name"),
    "data_dir": ((str,), "a folder"),
    "download": ((bool,), "true or false"),
    "cache_dir": ((str,), "a folder"),
    "fresh": ((bool,), "true or false"),
    "dry_run": ((bool,), "true or false"),
    "shard": ((str,), "\"i/n\", e.g. \"1/4\""),
    "pretrained": ((bool,), "true or false"),
    "checkpoints": ((dict,), "a table of zoo name = weights file"),
    "amp": ((str,), "\"none\" or \"bf16\""),
    "channels_last": ((bool,), "true or false"),
    "workers": ((int,), "an integer (0: decode images in the main process)"),
    "executor": ((str,), "\"local\" or \"ray\""),
    "ray_address": ((str,), "a Ray cluster address, e.g. \"ray://head:10001\""),
}


def read_config(path: str | Path) -> dict[str, Any]:
    """Parse and check a run config file; values keep the file's types (eps parsed later)."""
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
        if key not in KEYS:
            raise BenchError(f"{p}: {unknown_name_message('key', key, KEYS, 'bench run --help')}")
        types, expected = KEYS[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise BenchError(f"{p}: key {key!r} must be {expected}, got {type(value).__name__} {value!r}")
    if "attacks" in raw:
        raw["attacks"] = [_attack_spec(a, f"{p}: attacks[{i}]") for i, a in enumerate(raw["attacks"])]
    if "models" in raw and not all(isinstance(m, str) for m in raw["models"]):
        raise BenchError(f"{p}: key 'models' must be a list of zoo names (strings)")
    for name, file in raw.get("checkpoints", {}).items():
        if not isinstance(file, str):
            raise BenchError(f"{p}: checkpoints.{name!r} must be a file path (string), got {type(file).__name__}")
    return raw


def _attack_spec(item: Any, where: str) -> AttackSpec:
    if isinstance(item, str):
        return AttackSpec(item)
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise BenchError(f"{where} must be an attack name or a table with a 'name' key")
    params = {k: v for k, v in item.items() if k not in ("name", "label")}
    label = item.get("label", "")
    if not isinstance(label, str):
        raise BenchError(f"{where}.label must be a string")
    return AttackSpec(item["name"], params, label)
