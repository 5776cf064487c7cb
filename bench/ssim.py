"""Batched SSIM and PSNR in torch, matching scikit-image's `structural_similarity` (gaussian window
sigma 1.5, truncate 3.5, data_range 1, use_sample_covariance=False, channel mean) and
`peak_signal_noise_ratio`, on the run's device.

Written by hand because scikit-image works one image at a time on the CPU (the reference the
tests compare against) and no chosen library does batched SSIM. scikit-image filters with
'reflect' padding and then crops (window - 1) / 2 pixels from every border before averaging, so
the crop only sees windows inside the image: a 'valid' convolution gives the same numbers
without any padding.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SIGMA, TRUNCATE = 1.5, 3.5
K1, K2 = 0.01, 0.03


def gaussian_kernel(sigma: float = SIGMA, truncate: float = TRUNCATE, dtype=torch.float64) -> torch.Tensor:
    """scipy.ndimage's 1-D gaussian kernel: radius int(truncate * sigma + 0.5), normalised to sum 1."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).to(dtype)


def _blur_valid(t: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Gaussian blur of each channel of (N, C, H, W), output cropped to 'valid'. One grouped 2-D
    convolution with the outer-product kernel in channels-last layout: on the CPU that measured
    2.7x faster than two separable 1-D passes (oneDNN's depthwise path)."""
    c = t.shape[1]
    k2 = (k[:, None] * k[None, :]).expand(c, 1, len(k), len(k)).contiguous()
    return F.conv2d(t.contiguous(memory_format=torch.channels_last), k2, groups=c)


def ssim(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0, chunk: int = 64) -> torch.Tensor:
    """Per-image SSIM of two (N, C, H, W) batches, averaged over channels and the cropped map,
    as scikit-image computes it (float32; within 1e-5 of scikit-image's float64 in the tests)."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim needs two (N, C, H, W) batches of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    k = gaussian_kernel()
    if x.shape[-1] < len(k) or x.shape[-2] < len(k):
        raise ValueError(f"images of {x.shape[-2]}x{x.shape[-1]} are smaller than the {len(k)}x{len(k)} SSIM window")
    k = k.to(x.device, torch.float32)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    out = []
    with torch.no_grad():
        for i in range(0, len(x), chunk):
            a, b = x[i:i + chunk].float(), y[i:i + chunk].float()
            c = a.shape[1]
            ux, uy, uxx, uyy, uxy = _blur_valid(torch.cat([a, b, a * a, b * b, a * b], dim=1), k).split(c, dim=1)
            uxuy = ux * uy
            uu = ux * ux + uy * uy
            s = ((2 * uxuy + c1) * (2 * (uxy - uxuy) + c2)) / ((uu + c1) * (uxx + uyy - uu + c2))
            out.append(s.flatten(1).double().mean(1))
    return torch.cat(out) if out else torch.empty(0, dtype=torch.float64)


def psnr(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """Per-image PSNR in dB (inf for identical images), as scikit-image's peak_signal_noise_ratio
    (the squared error summed in float64 where the device has it)."""
    dtype = torch.float64 if x.device.type == "cpu" else torch.float32
    mse = (x - y).to(dtype).pow(2).flatten(1).mean(1)
    value = 10 * torch.log10(data_range ** 2 / mse)
    return torch.where(mse == 0, torch.full_like(value, math.inf), value)
