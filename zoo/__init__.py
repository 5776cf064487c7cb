"""The model zoo: `load(name, spec)` returns a frozen, eval-mode classifier that takes [0, 1] images.

Names: `mini:<arch>` (timm classes in small settings, trained locally by `train_mini` and cached;
`-at` archs adversarially trained), `timm:<any timm model>`, either followed by input defenses
(`mini:resnet+jpeg75`, `zoo.defenses`).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import timm
import torch
from common.machine import device_info
from common.text import did_you_mean

from .cache import cache_root, load_weights, read_card, save_weights
from .defenses import DESCRIPTIONS as DEFENSE_DESCRIPTIONS
from .defenses import Defended, base_name, split_name
from .errors import ZooError
from .mini import MINI_SPECS
from .normalize import Normalized
from .specs import InputSpec, MiniSpec
from .timm_models import build_timm, data_config
from .train import accuracy, fit_classifier, robust_accuracy, wrap

ROBUST_TEST_IMAGES = 1000  # test images an adversarially trained model's card measures PGD-20 on


class NotTrainedError(ZooError):
    """A mini-zoo model has no (valid) cached weights yet; `train_mini` makes them."""


def describe() -> list[tuple[str, str]]:
    """(name, one-line description) of every model family, for `bench list models`."""
    rows = [(f"mini:{k}", s.description) for k, s in MINI_SPECS.items()]
    rows.append(("timm:<name>", "any timm model (random init unless pretrained weights are available)"))
    rows += [(f"<model>{d}", text) for d, text in DEFENSE_DESCRIPTIONS]
    return rows


def _mini_spec(name: str) -> MiniSpec:
    name = base_name(name)
    arch = name.split(":", 1)[1]
    if arch not in MINI_SPECS:
        hint = did_you_mean(name, [f"mini:{k}" for k in MINI_SPECS])
        raise ZooError(f"unknown model {name!r}{hint} (`bench list models` shows all)")
    return MINI_SPECS[arch]


def mini_weights_path(name: str, spec: InputSpec, cache_dir: str | os.PathLike | None = None, *,
                      seed: int = 0) -> Path:
    """Where the mini-zoo weights for `name` trained on `spec.dataset` with `seed` live in the cache:
    the file name carries the seed and a digest of the training recipe, so training another seed or
    recipe never overwrites weights that earlier runs' hashes point at."""
    return cache_root(cache_dir) / "zoo" / spec.dataset / _weights_file(name, seed)


def _weights_file(name: str, seed: int | str) -> str:
    """`mini-<arch>-seed<seed>-<recipe digest>.safetensors` (`seed` "*": a glob over seeds)."""
    mini = _mini_spec(name)
    recipe = hashlib.sha256(json.dumps(mini.recipe(), sort_keys=True).encode()).hexdigest()[:8]
    return f"mini-{mini.arch}-seed{seed}-{recipe}.safetensors"


def trained_copies(name: str, cache_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """The cards of `name`'s weights in the cache trained with the current recipe, one per dataset and
    seed, sorted so (weights of an older recipe are never loaded, so not listed)."""
    files = sorted((cache_root(cache_dir) / "zoo").glob(f"*/{_weights_file(name, '*')}"))
    cards = [c for c in (read_card(f) for f in files) if c]
    return sorted(cards, key=lambda c: (str(c.get("dataset")), int(c.get("seed", 0))))


def mini_status(name: str, spec: InputSpec, cache_dir: str | os.PathLike | None = None, *,
                seed: int = 0) -> dict[str, Any] | None:
    """The card of a cached, intact mini model, or None if it must be (re)trained."""
    path = mini_weights_path(name, spec, cache_dir, seed=seed)
    try:
        _, card = load_weights(path)
    except ZooError:
        return None
    return card


def train_mini(name: str, spec: InputSpec, train: tuple[torch.Tensor, torch.Tensor],
               test: tuple[torch.Tensor, torch.Tensor], *, seed: int = 0,
               cache_dir: str | os.PathLike | None = None, command: str = "bench zoo train",
               device: str | torch.device = "cpu") -> dict[str, Any]:
    """Train one mini model on `train`, measure it on `test`, cache weights + card; return the card."""
    mini = _mini_spec(name)
    torch.manual_seed(seed)
    net = mini.build(spec)
    stats = fit_classifier(net, spec.mean, spec.std, *train, epochs=mini.epochs, lr=mini.lr, seed=seed,
                           batch_size=mini.batch_size, desc=f"train {name}", device=device,
                           adversarial=mini.adversarial)
    model = wrap(net, spec.mean, spec.std)
    if mini.adversarial is not None:
        at = mini.adversarial
        xt, yt = test[0][:ROBUST_TEST_IMAGES], test[1][:ROBUST_TEST_IMAGES]
        stats["adversarial_training"] = {
            **at.recipe(), "clean_accuracy": round(accuracy(model, xt, yt), 4),
            "pgd20_robust_accuracy": round(robust_accuracy(model, xt, yt, eps=at.eps, seed=seed), 4),
            "robust_images": int(len(yt)), "robust_attack": f"torchattacks PGD Linf eps={at.eps:g}, 20 steps, "
                                                             "step 2.5*eps/20, random start"}
    card = {
        "name": name, "arch": mini.arch, "description": mini.description, "dataset": spec.dataset,
        "input": {"channels": spec.channels, "height": spec.height, "width": spec.width,
                  "num_classes": spec.num_classes, "mean": list(spec.mean), "std": list(spec.std)},
        "test_accuracy": round(accuracy(model, *test), 4), "test_images": int(len(test[1])),
        "epochs": mini.epochs, "lr": mini.lr, "seed": seed, "command": command,
        "params": sum(p.numel() for p in net.parameters()),
        "torch": torch.__version__, "timm": timm.__version__, "device": str(device),
        "machine": device_info(device), **stats,
    }
    return save_weights(net.state_dict(), mini_weights_path(name, spec, cache_dir, seed=seed), card)


def _load_mini(name: str, spec: InputSpec, cache_dir: str | os.PathLike | None, *, seed: int = 0,
               amp: str = "none", channels_last: bool = False, compile: bool | str = False) -> Normalized:
    mini = _mini_spec(name)
    path = mini_weights_path(name, spec, cache_dir, seed=seed)
    if read_card(path) is None:
        again = "bench zoo train" + ("" if seed == 0 else f" --seed {seed}")
        raise NotTrainedError(f"{name} is not trained for {spec.dataset} with seed {seed} yet; run `{again}`")
    try:
        state, card = load_weights(path)
    except ZooError as exc:
        raise NotTrainedError(f"{exc}; run `bench zoo train --force` to rebuild it") from None
    net = mini.build(spec)
    net.load_state_dict(state)
    model = Normalized(net, card["input"]["mean"], card["input"]["std"], name=name, weights_sha256=card["sha256"],
                       amp=amp, channels_last=channels_last, compile=compile)
    model.info = {"weights": f"mini zoo cache {path}", "weights_sha256": card["sha256"],
                  "data_config": {"input_size": [spec.channels, spec.height, spec.width],
                                  "mean": card["input"]["mean"], "std": card["input"]["std"]},
                  "params": card.get("params")}
    return model


def _load_timm(name: str, spec: InputSpec, *, pretrained: bool, checkpoint: str | None,
               amp: str, channels_last: bool, compile: bool | str = False) -> Normalized:
    net, info = build_timm(name, spec, pretrained=pretrained, checkpoint=checkpoint)
    dc = info["data_config"]
    model = Normalized(net, dc["mean"], dc["std"], name=name, weights_sha256=info["weights_sha256"], amp=amp,
                       channels_last=channels_last, compile=compile)
    model.info = info
    return model


def validate_name(name: str) -> None:
    """Raise ZooError unless `name` is a known mini-zoo or timm model name, with known defenses (loads
    nothing)."""
    given = name
    name, _ = split_name(name)
    family, sep, rest = name.partition(":")
    if family == "mini" and sep:
        _mini_spec(name)
    elif family == "timm" and sep:
        if not timm.is_model(rest.split(".")[0]):
            hint = did_you_mean(name, [f"timm:{m}" for m in timm.list_models()], cutoff=0.6)
            raise ZooError(f"unknown timm model {rest!r}{hint} (`python -c 'import timm; print(timm.list_models())'`)")
    else:  # no family: a bare timm name (`resnet18`) is meant as timm's, a mini arch in any case as the mini one
        if timm.is_model(name.split(".")[0]):
            hint = f"; did you mean 'timm:{given}'?"
        else:
            hint = did_you_mean(name.lower(), [f"mini:{k}" for k in MINI_SPECS])
        raise ZooError(f"unknown model {name!r}{hint}; names are mini:<arch> or timm:<name> (`bench list models`)")


def check_checkpoint_target(name: str) -> None:
    """Raise ZooError unless `name` can take a checkpoint file (timm: models; mini ones are trained here)."""
    if not base_name(name).startswith("timm:"):
        raise ZooError(f"{name} is a mini-zoo model, trained and cached locally; --checkpoint is for timm: models")


def load(name: str, spec: InputSpec, *, device: str | torch.device = "cpu", pretrained: bool = False,
         checkpoint: str | None = None, cache_dir: str | os.PathLike | None = None, amp: str = "none",
         channels_last: bool = False, seed: int = 0, compile: bool | str = False) -> Normalized:
    """The zoo model `name` for input `spec`: frozen, eval mode, [0, 1] input, on `device`.

    `pretrained` and `checkpoint` apply to `timm:` models (mini models are trained locally; `seed`
    picks which trained copy); `compile` runs the network through torch.compile; `model.info` says
    where the weights came from and which preprocessing they expect."""
    validate_name(name)
    base, defenses = split_name(name)
    if base.startswith("mini:"):
        if checkpoint:
            check_checkpoint_target(base)
        model = _load_mini(base, spec, cache_dir, seed=seed, amp=amp, channels_last=channels_last, compile=compile)
    else:
        model = _load_timm(base, spec, pretrained=pretrained, checkpoint=checkpoint, amp=amp,
                           channels_last=channels_last, compile=compile)
    if defenses:
        model = Defended(model, defenses, name)
    return model.to(device).eval()


__all__ = [
    "Defended", "base_name", "split_name",
    "InputSpec", "MiniSpec", "MINI_SPECS", "Normalized", "NotTrainedError", "ZooError", "cache_root",
    "check_checkpoint_target", "data_config", "describe", "load", "validate_name", "mini_status", "mini_weights_path",
    "train_mini",
]
