"""Input-transformation defenses as wrappers for any zoo model, composed by name: `mini:resnet+jpeg75`,
`timm:resnet18+bits4+median3`, `mini:vgg+smooth0.25x8`. The transforms run in the order written.

- `jpeg<q>`: JPEG compression at quality q (1-100) by Pillow's encoder (Dziugaite et al. 2016,
  Guo et al. 2018).
- `bits<b>`: bit-depth reduction to b bits per channel (1-8), feature squeezing (Xu et al. 2018).
- `median<k>`: k x k median filter (odd k >= 3), reflect-padded, feature squeezing's spatial smoothing.
- `smooth<sigma>[x<n>]`: randomized smoothing (Cohen et al. 2019): the prediction is the majority vote
  over n (default 8) copies with Gaussian noise of std sigma on the [0, 1] scale. Randomized: the
  noise comes from torch's global generator, which the runner seeds per batch, so a run is
  reproducible while two calls on the same image may disagree (the sanity check measures that).
  Smoothing acts on the classifier, so it is applied last whatever its place in the name.

Gradients: JPEG, bit depth and median filtering are not (usefully) differentiable, so their backward
pass is the identity (BPDA, Athalye et al. 2018): white-box attacks see the undefended gradient at the
transformed point instead of a masked one. Smoothing's forward value is the vote; its gradient is
that of the log of the mean softmax over the same noisy copies (expectation over transformation).
Written here because timm and the attack libraries have no such wrappers with straight-through gradients.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from common.text import did_you_mean

from .errors import ZooError

SMOOTH_SAMPLES = 8
_EXAMPLES = ("jpeg75", "bits4", "median3", "smooth0.25", "smooth0.25x16")


@dataclass(frozen=True)
class DefenseSpec:
    """One parsed defense: its kind, the setting written in the name, and what it does."""

    text: str
    kind: str
    value: float
    samples: int = 0

    @property
    def randomized(self) -> bool:
        return self.kind == "smooth"

    def describe(self) -> dict[str, Any]:
        """For the manifest: what the defense does and how gradients pass through it."""
        out: dict[str, Any] = {"name": self.text, "kind": self.kind, "setting": self.value,
                               "gradient": GRADIENTS[self.kind]}
        if self.samples:
            out["samples"] = self.samples
        return out


GRADIENTS = {
    "jpeg": "BPDA: identity backward through the JPEG round trip",
    "bits": "BPDA: identity backward through the quantization",
    "median": "BPDA: identity backward through the median filter",
    "smooth": "expectation over the noise: gradient of log mean softmax over the same noisy copies; "
              "forward value is the majority vote",
}

DESCRIPTIONS = [
    ("+jpeg<q>", "JPEG compression at quality q (1-100); gradients straight through (BPDA)"),
    ("+bits<b>", "bit-depth reduction to b bits (1-8); gradients straight through (BPDA)"),
    ("+median<k>", "k x k median filter (odd k >= 3); gradients straight through (BPDA)"),
    ("+smooth<sigma>[x<n>]", f"randomized smoothing: majority vote of n (default {SMOOTH_SAMPLES}) Gaussian-noise "
                             "copies, e.g. +smooth0.25x16; randomized"),
]


def _bad(text: str, why: str) -> ZooError:
    hint = did_you_mean(text, _EXAMPLES, n=2, cutoff=0.4)
    return ZooError(f"defense {text!r} {why}{hint} (defenses: jpeg<q>, bits<b>, median<k>, smooth<sigma>[x<n>]; "
                    "`bench list models`)")


def parse_defense(text: str) -> DefenseSpec:
    """`jpeg75` -> DefenseSpec("jpeg", 75); a one-line ZooError with a did-you-mean otherwise."""
    m = re.fullmatch(r"(jpeg|bits|median)(\d+)", text)
    if m:
        kind, value = m.group(1), int(m.group(2))
        if kind == "jpeg" and not 1 <= value <= 100:
            raise _bad(text, "needs a quality from 1 to 100")
        if kind == "bits" and not 1 <= value <= 8:
            raise _bad(text, "needs 1 to 8 bits")
        if kind == "median" and (value < 3 or value % 2 == 0):
            raise _bad(text, "needs an odd window of 3 or more")
        return DefenseSpec(text, kind, value)
    m = re.fullmatch(r"smooth(\d*\.?\d+)(?:x(\d+))?", text)
    if m:
        sigma, n = float(m.group(1)), int(m.group(2) or SMOOTH_SAMPLES)
        if sigma <= 0 or n < 1:
            raise _bad(text, "needs sigma > 0 and at least one sample")
        return DefenseSpec(text, "smooth", sigma, n)
    raise _bad(text, "is not a known defense")


def split_name(name: str) -> tuple[str, tuple[DefenseSpec, ...]]:
    """`mini:resnet+jpeg75+bits4` -> ("mini:resnet", (jpeg75, bits4)); the base name is not checked here."""
    base, *rest = name.split("+")
    if any(not r for r in rest):
        raise ZooError(f"model {name!r} has an empty defense after '+'; write e.g. {base}+jpeg75")
    defenses = tuple(parse_defense(r) for r in rest)
    if sum(d.randomized for d in defenses) > 1:
        raise ZooError(f"model {name!r} has two smooth<sigma> defenses; keep one (noise levels add up anyway)")
    return base, defenses


def base_name(name: str) -> str:
    """The zoo model under any defenses: `mini:resnet+jpeg75` -> `mini:resnet`."""
    return name.split("+", 1)[0]


# ---------------------------------------------------------------------------------- transforms
def _straight_through(x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """fn(x) forward, identity backward (BPDA)."""
    with torch.no_grad():
        y = fn(x.detach())
    return x + (y - x).detach()


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG round trip of [0, 1] images through Pillow's encoder (libjpeg, 4:2:0 for colour), back on
    x's device. Pillow rather than torchvision.io, whose codecs are deprecated since 0.29."""
    u8 = (x.detach().clamp(0, 1) * 255).round().to(torch.uint8).cpu().permute(0, 2, 3, 1).numpy()
    out = []
    for img in u8:
        buf = io.BytesIO()
        Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(buf, format="JPEG", quality=quality)
        buf.seek(0)
        out.append(np.asarray(Image.open(buf)).reshape(img.shape))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).to(x.device, x.dtype) / 255.0


def bit_depth(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Quantize [0, 1] images to 2**bits levels."""
    levels = 2 ** bits - 1
    return torch.round(x.clamp(0, 1) * levels) / levels


def median_filter(x: torch.Tensor, k: int) -> torch.Tensor:
    """k x k median of each channel, reflect padding at the borders."""
    p = k // 2
    n, c, h, w = x.shape
    padded = F.pad(x, (p, p, p, p), mode="reflect")
    patches = F.unfold(padded, kernel_size=k)  # (n, c*k*k, h*w)
    return patches.view(n, c, k * k, h * w).median(dim=2).values.view(n, c, h, w)


_FIXED = {"jpeg": lambda x, v: jpeg(x, int(v)), "bits": lambda x, v: bit_depth(x, int(v)),
          "median": lambda x, v: median_filter(x, int(v))}


class Defended(nn.Module):
    """A zoo model behind input defenses; frozen and in eval mode like the model it wraps, with the
    zoo attributes (name, weights hash, info, autocast) that runs and manifests read."""

    def __init__(self, model: nn.Module, defenses: tuple[DefenseSpec, ...], name: str) -> None:
        super().__init__()
        self.inner = model
        self.defenses = defenses
        self.zoo_name = name
        self.weights_sha256 = getattr(model, "weights_sha256", None)
        self.amp = getattr(model, "amp", "none")
        self.channels_last = getattr(model, "channels_last", False)
        self.compile = getattr(model, "compile", False)
        self.info = {**getattr(model, "info", {}), "defenses": [d.describe() for d in defenses]}
        super().train(False)

    @property
    def randomized(self) -> bool:
        """True when a defense draws random numbers at prediction time (smoothing)."""
        return any(d.randomized for d in self.defenses)

    def train(self, mode: bool = True) -> "Defended":  # noqa: ARG002 - frozen by contract
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        smooth = None
        for d in self.defenses:
            if d.kind == "smooth":
                smooth = d  # a classifier-level defense: applied last, around the network
                continue
            x = _straight_through(x, lambda t, d=d: _FIXED[d.kind](t, d.value))
        return self.inner(x) if smooth is None else self._vote(x, smooth)

    def _vote(self, x: torch.Tensor, d: DefenseSpec) -> torch.Tensor:
        """Majority vote over `d.samples` noisy copies; log-vote values, EOT gradients."""
        n = d.samples
        noisy = x.repeat(n, 1, 1, 1) + d.value * torch.randn((n * len(x), *x.shape[1:]), device=x.device)
        logits = self.inner(noisy).view(n, len(x), -1)
        classes = logits.shape[-1]
        soft = torch.log_softmax(logits, dim=-1).exp().mean(0).clamp_min(1e-12).log()
        votes = F.one_hot(logits.argmax(-1), classes).float().mean(0)
        hard = torch.log((votes + 1e-3) / (1 + classes * 1e-3))
        return soft + (hard - soft).detach()
