"""Getting the zoo ready for a run: train missing mini models on the dataset, then load them all."""
from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

import zoo
from common.text import first_line

from .config import RunConfig
from .datatypes import Dataset
from .errors import BenchError


def input_spec(ds: Dataset) -> zoo.InputSpec:
    """The zoo's view of a dataset: shape, classes, normalization."""
    c, h, w = ds.shape
    return zoo.InputSpec(ds.name, c, h, w, ds.num_classes, ds.mean, ds.std)


def train_missing(names: list[str], ds: Dataset, *, seed: int = 0, force: bool = False,
                  cache_dir: str | os.PathLike | None = None, log=print,
                  device: torch.device | str = "cpu") -> list[dict]:
    """Train (and cache) every `mini:` model in `names` that has no intact cached weights."""
    spec = input_spec(ds)
    cards = []
    for name in dict.fromkeys(zoo.base_name(n) for n in names):  # a defended model trains its base
        if not name.startswith("mini:"):
            continue
        card = None if force else zoo.mini_status(name, spec, cache_dir, seed=seed)
        if card is None:
            path = zoo.mini_weights_path(name, spec, cache_dir, seed=seed)
            if not force and path.exists():
                log(f"{name}: cached weights {path} fail their sha256 check (corrupt or truncated); retraining")
            log(f"training {name} on {ds.name} (cached for later runs)")
            command = f"bench zoo train --models {name}" + ("" if seed == 0 else f" --seed {seed}")
            card = zoo.train_mini(name, spec, (ds.train.x, ds.train.y), (ds.test.x, ds.test.y),
                                  seed=seed, cache_dir=cache_dir, command=command, device=device)
            log(f"  {name}: test accuracy {card['test_accuracy']:.1%} in {card['train_seconds']:.0f}s")
        cards.append(card)
    return cards


def load_options(cfg: RunConfig) -> dict[str, Any]:
    """The keyword arguments of `load_models` that a run config sets."""
    return {"pretrained": cfg.pretrained, "checkpoints": dict(cfg.checkpoints), "amp": cfg.amp,
            "channels_last": cfg.channels_last, "zoo_seed": cfg.zoo_seed, "compile": cfg.compile}


def dataset_transform(cfg: RunConfig, log=print) -> dict[str, Any] | None:
    """The eval transform (timm data config) for an imagefolder: dataset: the first timm model's, since
    every model of a transfer grid must see the same images; None for other datasets."""
    if not cfg.dataset.startswith("imagefolder:"):
        return None
    timm_names = list(dict.fromkeys(zoo.base_name(n) for n in cfg.models if n.startswith("timm:")))
    if not timm_names:
        return None
    configs = {n: zoo.data_config(n) for n in timm_names}
    first = configs[timm_names[0]]
    keys = ("input_size", "interpolation", "crop_pct", "crop_mode")
    others = [n for n in timm_names[1:] if any(configs[n].get(k) != first.get(k) for k in keys)]
    if others:
        verb = "expects" if len(others) == 1 else "expect"
        log(f"note: {', '.join(others)} {verb} another eval transform than {timm_names[0]}; every model sees "
            f"{timm_names[0]}'s ({first['input_size'][1]}x{first['input_size'][2]}, {first['interpolation']}, "
            f"crop_pct {first['crop_pct']}), so the transfer matrix compares them on the same images")
    return {k: first[k] for k in keys if k in first}


def load_models(names: list[str], ds: Dataset, device: torch.device, cache_dir: str | os.PathLike | None = None,
                *, pretrained: bool = False, checkpoints: dict[str, str] | None = None, amp: str = "none",
                channels_last: bool = False, zoo_seed: int = 0, compile: bool | str = False) -> dict[str, nn.Module]:
    """Load every model of the run (after `train_missing`), checking it fits the dataset."""
    spec = input_spec(ds)
    if len(set(names)) != len(names):
        raise BenchError(f"a model is listed twice in {', '.join(names)}; list each once")
    checkpoints = checkpoints or {}
    models = {}
    for name in names:
        model = zoo.load(name, spec, device=device, cache_dir=cache_dir, pretrained=pretrained,
                         checkpoint=checkpoints.get(name), amp=amp, channels_last=channels_last, seed=zoo_seed,
                         compile=compile)
        try:
            with torch.no_grad():
                out = model(ds.test.x[:2].to(device))
        except (RuntimeError, ValueError, AssertionError) as exc:
            c, h, w = ds.shape
            first = first_line(exc, 160)
            raise BenchError(f"model {name} cannot take {ds.name}'s {c}x{h}x{w} images ({first}); choose a model "
                             "for this input size (convolutional nets with global pooling take any size)") from None
        if out.shape[-1] != ds.num_classes:
            raise BenchError(f"model {name} has {out.shape[-1]} outputs but {ds.name} has {ds.num_classes} classes")
        models[name] = model
    return models


def model_info(models: dict[str, nn.Module]) -> dict[str, dict[str, Any]]:
    """Per model, for the manifest: weights source and sha256, timm data config (mean, std, input
    size, interpolation, crop), parameters, autocast, memory layout and torch.compile."""
    return {name: {**getattr(m, "info", {}), "amp": getattr(m, "amp", "none"),
                   "channels_last": getattr(m, "channels_last", False), "compile": getattr(m, "compile", False)}
            for name, m in models.items()}


def weight_hashes(models: dict[str, nn.Module]) -> dict[str, str | None]:
    """Each model's weights sha256 (what cell keys and manifests identify the zoo by)."""
    return {name: getattr(m, "weights_sha256", None) for name, m in models.items()}
