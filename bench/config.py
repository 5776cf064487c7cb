"""The resolved run configuration: what a run computes, independent of where it writes."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from attacks import Budget

DEFAULT_MODELS = ("mini:resnet", "mini:densenet", "mini:vgg")
DEFAULT_ATTACKS = ("fgsm", "pgd", "vizpert")


@dataclass(frozen=True)
class AttackSpec:
    """An attack by registry name with its parameters, shown in results under `label`."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def display(self) -> str:
        """`label` if given, else the name, with parameters when there are any: pgd[steps=20]."""
        if self.label:
            return self.label
        if not self.params:
            return self.name
        return self.name + "[" + ",".join(f"{k}={v}" for k, v in sorted(self.params.items())) + "]"


@dataclass(frozen=True)
class RunConfig:
    """Dataset, zoo, attacks and budgets of one grid; the quickstart is the default."""

    dataset: str = "fashion-mnist"
    models: tuple[str, ...] = DEFAULT_MODELS
    attacks: tuple[AttackSpec, ...] = tuple(AttackSpec(a) for a in DEFAULT_ATTACKS)
    eps: tuple[float, ...] = (0.1,)
    norm: str = "linf"
    targeted: tuple[bool, ...] = (False, True)
    n: int = 1000
    n_fit: int = 1000
    seed: int = 0
    batch_size: int = 250
    device: str = "auto"
    pretrained: bool = False  # timm: models load pretrained weights (local Hugging Face cache)
    checkpoints: dict[str, str] = field(default_factory=dict)  # zoo name -> weights file
    amp: str = "none"  # "bf16": models run under autocast
    channels_last: bool = False
    workers: int | None = None  # image decoding processes (imagefolder); None: up to 8
    executor: str = "local"  # "ray": groups run as Ray tasks (bench/ray_executor.py)
    ray_address: str | None = None  # an existing Ray cluster; None starts a local instance

    def budgets(self) -> list[Budget]:
        return [Budget(self.norm, e) for e in self.eps]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
