"""The image-to-image generator of the generative-attack family (GAP, CDA, BIA, TTP all use the
ResNet generator of Johnson et al. 2016 that GAP introduced): a 7x7 conv, two stride-2
downsamplings, residual blocks, two upsamplings, a 7x7 conv and tanh. Written by hand (no library
ships it as a module); sized by `ngf` and `blocks` so that a mini-zoo fit stays in minutes on a CPU.

`num_classes` > 0 makes it target-conditional: one-hot label maps join the input channels (one
generator for every target class, where the papers train one generator per target; our reading,
so that a run's one-target-per-image protocol needs one fit). Above LABEL_MAPS_MAX classes the maps
are not built: their part of the first conv is a per-class constant (`_first_conv_with_label_maps`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


# Above this many classes the label maps are not built (`_first_conv_with_label_maps`); up to it they are
# concatenated as when the stored fits were made: the same function, but float sums in another order
# would not reproduce them bit for bit (a fit amplifies the rounding differences)
LABEL_MAPS_MAX = 128


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
        if self.cfg.num_classes and c is None:
            raise ValueError("a target-conditional generator needs the target classes")
        if self.cfg.num_classes > LABEL_MAPS_MAX:
            out = self.net[2:](self._first_conv_with_label_maps(x, c))
        elif self.cfg.num_classes:
            maps = F.one_hot(c, self.cfg.num_classes).to(x.dtype)[:, :, None, None]
            out = self.net(torch.cat([x, maps.expand(-1, -1, *x.shape[-2:])], dim=1))
        else:
            out = self.net(x)
        if out.shape[-2:] != x.shape[-2:]:  # sides not divisible by 4
            out = F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.tanh(out)

    def _first_conv_with_label_maps(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """The first 7x7 conv of x with the one-hot maps of c as extra input channels, without making
        those maps: they are constant over the image (reflection padding keeps them so), so their part
        of the conv is, for class c, a constant per output channel, the sum of the kernel's class-c
        weights. The same function and parameters as the concatenation, which at 1000 classes and
        224x224 would be a batch x 1003 x 230 x 230 input (25 GiB at batch 128)."""
        pad, conv = self.net[0], self.net[1]
        weight = conv.weight
        h = F.conv2d(pad(x), weight[:, :self.cfg.channels])
        return h + weight[:, self.cfg.channels:].sum(dim=(2, 3)).t()[c][:, :, None, None]
