"""Getting the zoo ready for a run: train missing mini models on the dataset, then load them all."""
from __future__ import annotations

import os

import torch
from torch import nn

import zoo

from .data import Dataset
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
    for name in names:
        if not name.startswith("mini:"):
            continue
        card = None if force else zoo.mini_status(name, spec, cache_dir)
        if card is None:
            path = zoo.mini_weights_path(name, spec, cache_dir)
            if not force and path.exists():
                log(f"{name}: cached weights {path} fail their sha256 check (corrupt or truncated); retraining")
            log(f"training {name} on {ds.name} (cached for later runs)")
            card = zoo.train_mini(name, spec, (ds.train.x, ds.train.y), (ds.test.x, ds.test.y),
                                  seed=seed, cache_dir=cache_dir, command=f"bench zoo train --models {name}",
                                  device=device)
            log(f"  {name}: test accuracy {card['test_accuracy']:.1%} in {card['train_seconds']:.0f}s")
        cards.append(card)
    return cards


def load_models(names: list[str], ds: Dataset, device: torch.device,
                cache_dir: str | os.PathLike | None = None) -> dict[str, nn.Module]:
    """Load every model of the run (after `train_missing`), checking it fits the dataset."""
    spec = input_spec(ds)
    if len(set(names)) != len(names):
        raise BenchError(f"a model is listed twice in {', '.join(names)}; list each once")
    models = {}
    for name in names:
        model = zoo.load(name, spec, device=device, cache_dir=cache_dir)
        try:
            with torch.no_grad():
                out = model(ds.test.x[:2].to(device))
        except (RuntimeError, ValueError, AssertionError) as exc:
            c, h, w = ds.shape
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            raise BenchError(f"model {name} cannot take {ds.name}'s {c}x{h}x{w} images ({first}); choose a model "
                             "for this input size (convolutional nets with global pooling take any size)") from None
        if out.shape[-1] != ds.num_classes:
            raise BenchError(f"model {name} has {out.shape[-1]} outputs but {ds.name} has {ds.num_classes} classes")
        models[name] = model
    return models


def weight_hashes(models: dict[str, nn.Module]) -> dict[str, str | None]:
    """Each model's weights sha256 (what cell keys and manifests identify the zoo by)."""
    return {name: getattr(m, "weights_sha256", None) for name, m in models.items()}
