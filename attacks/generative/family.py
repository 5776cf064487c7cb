"""The four generative peers of VizPert. Each docstring cites its paper and states our reading
where the paper leaves a choice; defaults are sized for a mini-zoo fit of about a minute on a
2-core CPU (README, *Generative peers*, gives the ImageNet settings).

- `gap`: Poursaeed et al., CVPR 2018, "Generative Adversarial Perturbations".
- `cda`: Naseer et al., NeurIPS 2019, "Cross-Domain Transferability of Adversarial Perturbations".
- `bia`: Zhang et al., ICLR 2022, "Beyond ImageNet Attack" (the feature-level member).
- `ttp`: Naseer et al., ICCV 2021, "On Generating Transferable Targeted Perturbations".
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import AttackError
from ..params import Param, flag
from .base import COMMON_PARAMS, GenerativeAttack

CE_CLIP = 3.0  # GAP's loss="ce": per-image CE clip, sgd_uap's default `loss_clip` (its measured choice)


class GAP(GenerativeAttack):
    """GAP (Poursaeed et al. 2018): image-dependent G(x), or universal G(z) of a fixed noise image.

    Untargeted loss (our reading of the paper's non-targeted objective): minimise
    log CE(f(x + delta), y_ll), pushing each image toward the class its clean image is least
    likely to be. `loss="ce"` instead maximises the clean prediction's CE, clipped per image at
    CE_CLIP (sgd_uap's loss): on the mini zoo the least-likely target is what holds GAP back, above
    all universal GAP, whose one delta cannot push every image toward its own least likely class
    (README, *Generative peers*). Targeted (`targeted=true`): CE toward the target, with one
    target-conditional generator instead of one generator per target. delta = G(.) scaled to fill
    the budget (its largest pixel at eps), as in the paper.
    """

    name = "gap"
    version = 2  # 2: the output fills the budget (the paper's scaling) instead of eps * tanh
    params_spec: ClassVar[dict[str, Param]] = {
        **COMMON_PARAMS,
        "universal": flag(False, "G(z) of one fixed noise image: one perturbation for every image (per target "
                                 "class when targeted)"),
        "targeted": flag(False, "train target-conditional (used by targeted cells; untargeted cells then use "
                                "the best target class)"),
        "loss": Param("least_likely", "untargeted loss: least_likely, log CE toward the clean image's least likely "
                      f"class (the paper); ce, the clean prediction's CE clipped at {CE_CLIP:g} per image, maximised",
                      choices=("least_likely", "ce"), keyed=False),
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self._params["targeted"] and self._params["loss"] != "least_likely":
            raise AttackError(f"gap loss={self._params['loss']!r} is an untargeted loss; targeted=true trains with "
                              "CE toward the target (leave loss out)")
        if self._params["universal"]:
            self.kind = "class_universal" if self._params["targeted"] else "universal"  # type: ignore[misc]

    def conditional(self) -> bool:
        return bool(self._params["targeted"])

    def universal(self) -> bool:
        return bool(self._params["universal"])

    def loss(self, model, x, x_adv, clean_logits, target, state, g):
        logits = model(x_adv)
        if target is not None:
            return F.cross_entropy(logits, target)
        if self._params["loss"] == "ce":  # won images stop pulling once their CE passes the clip
            return -F.cross_entropy(logits, clean_logits.argmax(1), reduction="none").clamp(max=CE_CLIP).mean()
        return torch.log(F.cross_entropy(logits, clean_logits.argmin(1)) + 1e-12)


class CDA(GenerativeAttack):
    """CDA (Naseer et al. 2019): G(x) read as an image and projected into the budget ball,
    trained to maximise the relativistic cross-entropy CE(f(x_adv) - f(x), argmax f(x)) (the
    paper's loss for a classifier source). The paper smooths G's output with a small gaussian
    before the projection on ImageNet; we leave it out (our reading: a detail for 224x224 images).
    Untargeted: targeted cells get the untargeted perturbation."""

    name = "cda"
    output = "project"

    def loss(self, model, x, x_adv, clean_logits, target, state, g):
        return -F.cross_entropy(model(x_adv) - clean_logits, clean_logits.argmax(1))


def mid_features(model: nn.Module, x: torch.Tensor, index: int) -> torch.Tensor:
    """The features of a Normalized-wrapped timm model at `feature_info[index]`, by timm's own
    `forward_intermediates` (never a layer picked by hand per architecture)."""
    net = model.model
    return net.forward_intermediates((x - model.mean) / model.std, indices=[index], intermediates_only=True)[0]


class BIA(GenerativeAttack):
    """BIA (Zhang et al. 2022): G(x) projected into the budget, trained to minimise the cosine
    similarity between the source's mid-layer features of x_adv and of x. The layer is the middle
    entry of the model's timm `feature_info` by default (layer2 of the mini ResNet; the paper takes
    a mid block of each ImageNet source too); `layer=-1` takes the deepest level, which the
    four-stage mini models need (benchmarks/generative_tuning.py, held-out train images). Our
    reading: the paper's random-normalisation variants (BIA+RN/DA) are left out. Untargeted:
    targeted cells get the untargeted perturbation."""

    name = "bia"
    output = "project"
    params_spec: ClassVar[dict[str, Param]] = {
        **COMMON_PARAMS,
        "layer": Param(None, "index into the model's timm feature_info, negative from the end (none: the "
                                 "middle one, the paper's choice)", int, none_ok=True),
    }

    def prepare(self, model, x_fit, y_fit, clean_logits, num_classes):
        info = getattr(getattr(model, "model", None), "feature_info", None)
        if info is None or not hasattr(model.model, "forward_intermediates") or not hasattr(model, "mean"):
            raise AttackError("bia needs a zoo model wrapping a timm network with feature_info and "
                              "forward_intermediates (every mini: and timm: model has them)")
        layer = self._params["layer"]
        if layer is not None and not -len(info) <= layer < len(info):
            raise AttackError(f"bia layer={layer} is past the model's {len(info)} feature levels; use "
                              f"0..{len(info) - 1} or -1..-{len(info)}")
        return {"index": len(info) // 2 if layer is None else layer % len(info)}

    def loss(self, model, x, x_adv, clean_logits, target, state, g):
        with torch.no_grad():
            clean = mid_features(model, x, state["index"]).flatten(1)
        return F.cosine_similarity(mid_features(model, x_adv, state["index"]).flatten(1), clean, dim=1).mean()


class TTP(GenerativeAttack):
    """TTP (Naseer et al. 2021): a targeted generator trained so that the source's output on x_adv
    matches its output on images of the target class: symmetric KL between softmax(f(x_adv)) and
    softmax(f(x_t)), x_t drawn from the fit split's images of the target class (the paper's
    distribution-matching loss; its augmentation-consistency and neighbourhood terms are left
    out: our reading for small images). One target-conditional generator for all targets;
    untargeted cells use the best target class (best_other rule)."""

    name = "ttp"
    output = "project"

    def conditional(self) -> bool:
        return True

    def prepare(self, model, x_fit, y_fit, clean_logits, num_classes):
        by_class = [torch.nonzero(y_fit == c).flatten() for c in range(num_classes)]
        missing = [c for c, idx in enumerate(by_class) if len(idx) == 0]
        if missing:
            raise AttackError(f"ttp needs fit images of every target class; classes {missing[:5]} have none "
                              "(raise --n-fit)")
        return {"by_class": by_class, "logits": clean_logits}

    def loss(self, model, x, x_adv, clean_logits, target, state, g):
        pick = torch.stack([idx[torch.randint(len(idx), (1,), generator=g)].squeeze(0) for idx in
                            (state["by_class"][int(t)] for t in target.cpu())]).to(x.device)
        log_t = F.log_softmax(state["logits"][pick], dim=1)
        log_a = F.log_softmax(model(x_adv), dim=1)
        return (F.kl_div(log_a, log_t, log_target=True, reduction="batchmean")
                + F.kl_div(log_t, log_a, log_target=True, reduction="batchmean"))
