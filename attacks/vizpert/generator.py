"""VizPert generators: class-conditional G(c) and image-conditioned G(x, c), with label blocks.

Written by hand: no library has the paper's design. The class enters through a learned embedding
projected to the first feature map AND, in "skip-connection-inspired" label blocks, again before
every upsampling block (and, for G(x, c), before every encoder block): each label block embeds c,
projects it to a few channels at that block's spatial size and concatenates them to the features.
`label_injection="input"` keeps only the input embedding (the paper's ablation). `extra_blocks`
deepens the decoder with 3x3 conv blocks after each upsampling, each behind a label block of its own,
so that the label blocks can be tested where the paper argues they matter: a deep generator.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

LABEL_CHANNELS = 4
EMBED_DIM = 32
LABEL_MAP_MAX = 14  # label maps are projected at most 14x14, then upsampled (keeps 224x224 blocks small)


def plan_resolution(height: int, width: int, max_halvings: int = 5) -> tuple[int, int, int]:
    """(start height, start width, number of 2x upsamplings): 28 -> 7 and 2; 224 -> 7 and 5; 16 -> 4 and 2."""
    k = 0
    h, w = height, width
    while k < max_halvings and h % 2 == 0 and w % 2 == 0 and h // 2 >= 4 and w // 2 >= 4:
        h, w, k = h // 2, w // 2, k + 1
    return h, w, k


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything needed to rebuild a generator from its saved weights."""

    condition: str          # "class" or "image"
    num_classes: int
    channels: int
    height: int
    width: int
    width_mult: int = 32    # channels of the last block; doubled towards the start
    label_injection: str = "all"
    extra_blocks: int = 0   # 3x3 conv blocks after each upsampling block (0: the original depth)

    def to_dict(self) -> dict:
        return asdict(self)


class LabelBlock(nn.Module):
    """Embed the class, project it to `LABEL_CHANNELS` maps of size (h, w) and concatenate them."""

    def __init__(self, num_classes: int, h: int, w: int) -> None:
        super().__init__()
        self.h, self.w = h, w
        self.ph, self.pw = min(h, LABEL_MAP_MAX), min(w, LABEL_MAP_MAX)
        self.embed = nn.Embedding(num_classes, EMBED_DIM)
        self.proj = nn.Linear(EMBED_DIM, LABEL_CHANNELS * self.ph * self.pw)

    def forward(self, features: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        maps = self.proj(self.embed(c)).view(-1, LABEL_CHANNELS, self.ph, self.pw)
        if (self.ph, self.pw) != (self.h, self.w):
            maps = nn.functional.interpolate(maps, size=(self.h, self.w), mode="bilinear", align_corners=False)
        return torch.cat([features, maps], dim=1)


def _up_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _down_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True))


def _refine_stage(cfg: GeneratorConfig, h: int, w: int, channels: int) -> nn.ModuleList:
    """The `extra_blocks` (label block, 3x3 conv block) pairs of one decoder resolution; the label block
    is an Identity (skipped) under label_injection="input"."""
    inject = cfg.label_injection == "all"
    extra = LABEL_CHANNELS if inject else 0
    return nn.ModuleList([
        nn.ModuleList([LabelBlock(cfg.num_classes, h, w) if inject else nn.Identity(),
                       _conv_block(channels + extra, channels)])
        for _ in range(cfg.extra_blocks)])


class _Decoder(nn.Module):
    """Upsampling path of both generators: [label block] + up block, then `extra_blocks` times
    [label block] + 3x3 conv block, k times over; then conv + tanh.

    `skips[i]` channels (U-Net style encoder features of the same size) are concatenated after
    up block i; the class generator has none.
    """

    def __init__(self, cfg: GeneratorConfig, h0: int, w0: int, k: int, cin: int,
                 skips: list[int] | None = None) -> None:
        super().__init__()
        inject = cfg.label_injection == "all"
        skips = skips or [0] * k
        chans = [cfg.width_mult * 2 ** (k - i) for i in range(k + 1)]
        self.labels = nn.ModuleList(
            [LabelBlock(cfg.num_classes, h0 * 2 ** i, w0 * 2 ** i) if inject else nn.Identity() for i in range(k)])
        extra = LABEL_CHANNELS if inject else 0
        ins = [cin] + [chans[i] + skips[i - 1] for i in range(1, k)]
        self.ups = nn.ModuleList([_up_block(ins[i] + extra, chans[i + 1]) for i in range(k)])
        last = chans[-1] + skips[-1] if k else cin
        self.out = nn.Sequential(nn.Conv2d(last, cfg.channels, 3, padding=1), nn.Tanh())
        self.inject = inject
        # built last, so that a generator with extra_blocks=0 draws the same initial weights as before
        self.refine = nn.ModuleList([_refine_stage(cfg, h0 * 2 ** (i + 1), w0 * 2 ** (i + 1), chans[i + 1])
                                     for i in range(k)])

    def forward(self, h: torch.Tensor, c: torch.Tensor, skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        for i, (label, up) in enumerate(zip(self.labels, self.ups)):
            h = up(label(h, c) if self.inject else h)
            for refine_label, conv in self.refine[i]:
                h = conv(refine_label(h, c) if self.inject else h)
            if skips:
                h = torch.cat([h, skips[i]], dim=1)
        return self.out(h)


class ClassGenerator(nn.Module):
    """G(c) -> image in [-1, 1] of shape (channels, height, width); the paper's generator."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h0, w0, k = plan_resolution(cfg.height, cfg.width)
        c0 = cfg.width_mult * 2 ** k
        self.h0, self.w0, self.c0 = h0, w0, c0
        self.embed = nn.Embedding(cfg.num_classes, EMBED_DIM)
        self.stem = nn.Sequential(nn.Linear(EMBED_DIM, c0 * h0 * w0, bias=False))
        self.stem_norm = nn.Sequential(nn.BatchNorm2d(c0), nn.ReLU(inplace=True))
        self.decoder = _Decoder(cfg, h0, w0, k, c0)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        h = self.stem_norm(self.stem(self.embed(c)).view(-1, self.c0, self.h0, self.w0))
        return self.decoder(h, c)


class ImageGenerator(nn.Module):
    """G(x, c) -> per-image perturbation direction in [-1, 1]: an encoder-decoder (U-Net skips)
    whose label blocks inject c at every depth of the encoder and of the decoder."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h0, w0, k = plan_resolution(cfg.height, cfg.width)
        inject = cfg.label_injection == "all"
        extra = LABEL_CHANNELS if inject else 0
        chans = [cfg.width_mult * 2 ** i for i in range(k + 1)]  # encoder: narrow -> wide
        self.input_label = LabelBlock(cfg.num_classes, cfg.height, cfg.width)  # the class always enters here
        self.enc_in = nn.Sequential(nn.Conv2d(cfg.channels + LABEL_CHANNELS, chans[0], 3, padding=1),
                                    nn.LeakyReLU(0.2, inplace=True))
        self.enc_labels = nn.ModuleList(
            [LabelBlock(cfg.num_classes, cfg.height // 2 ** i, cfg.width // 2 ** i) if inject else nn.Identity()
             for i in range(k)])
        self.downs = nn.ModuleList([_down_block(chans[i] + extra, chans[i + 1]) for i in range(k)])
        # decoder block i outputs resolution H / 2^(k-1-i): the encoder features of that size join it
        self.decoder = _Decoder(cfg, h0, w0, k, chans[-1], skips=[chans[k - 1 - i] for i in range(k)])
        self.inject = inject

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.enc_in(self.input_label(x, c))
        feats = []
        for label, down in zip(self.enc_labels, self.downs):
            feats.append(h)
            h = down(label(h, c) if self.inject else h)
        return self.decoder(h, c, feats[::-1])


def build_generator(cfg: GeneratorConfig) -> nn.Module:
    return ClassGenerator(cfg) if cfg.condition == "class" else ImageGenerator(cfg)
