"""The image-to-image generator of the generative-attack family (GAP, CDA, BIA, TTP all use the
ResNet generator of Johnson et al. 2016 that GAP introduced): a 7x7 conv, two stride-2
downsamplings, residual blocks, two upsamplings, a 7x7 conv and tanh. Written by hand (no library
ships it as a module); sized by `ngf` and `blocks` so that a mini-zoo fit stays in minutes on a CPU.

`num_classes` > 0 makes it target-conditional: one-hot label maps join the input channels (one
generator for every target class, where the papers train one generator per target; our reading,
so that a run's one-target-per-image protocol needs one fit).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ResnetGeneratorConfig:
    """Everything needed to rebuild a generator from its saved weights."""

    channels: int
    ngf: int = 16
    blocks: int = 2
    num_classes: int = 0  # > 0: target-conditional

    def to_dict(self) -> dict:
        return asdict(self)


class _Residual(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3, bias=False), nn.BatchNorm2d(ch),
                                  nn.ReLU(inplace=True), nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3, bias=False),
                                  nn.BatchNorm2d(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """x (and, when conditional, the target class c) -> a map in [-1, 1] of x's shape."""

    def __init__(self, cfg: ResnetGeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        g, cin = cfg.ngf, cfg.channels + cfg.num_classes
        self.net = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(cin, g, 7, bias=False), nn.BatchNorm2d(g), nn.ReLU(inplace=True),
            nn.Conv2d(g, 2 * g, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * g), nn.ReLU(inplace=True),
            nn.Conv2d(2 * g, 4 * g, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(4 * g), nn.ReLU(inplace=True),
            *[_Residual(4 * g) for _ in range(cfg.blocks)],
            nn.ConvTranspose2d(4 * g, 2 * g, 3, stride=2, padding=1, output_padding=1, bias=False),
            nn.BatchNorm2d(2 * g), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(2 * g, g, 3, stride=2, padding=1, output_padding=1, bias=False),
            nn.BatchNorm2d(g), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(3), nn.Conv2d(g, cfg.channels, 7))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        inp = x
        if self.cfg.num_classes:
            if c is None:
                raise ValueError("a target-conditional generator needs the target classes")
            maps = F.one_hot(c, self.cfg.num_classes).to(x.dtype)[:, :, None, None]
            inp = torch.cat([x, maps.expand(-1, -1, *x.shape[-2:])], dim=1)
        out = self.net(inp)
        if out.shape[-2:] != x.shape[-2:]:  # sides not divisible by 4
            out = F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.tanh(out)
