"""Batched SSIM and PSNR in torch, matching scikit-image's `structural_similarity` (gaussian window
sigma 1.5, truncate 3.5, data_range 1, use_sample_covariance=False, channel mean) and
`peak_signal_noise_ratio`, on the run's device.

Written by hand because scikit-image works one image at a time on the CPU (the reference the
tests compare against) and no chosen library does batched SSIM. scikit-image filters with
'reflect' padding and then crops (window - 1) / 2 pixels from every border before averaging, so
the crop only sees windows inside the image: a 'valid' convolution gives the same numbers
without any padding.

Three methods give the same numbers (within 1e-6 of each other): "conv", one grouped 2-D
convolution (GPUs and small images); "fused", a separable shift-and-add blur fused into one loop by
`torch.compile` (large images on the CPU: benchmarks/ssim_speed.py measured the convolution
memory-bound there, slower than scikit-image at 3x224x224, the fused loop 20x faster; without a
working compiler the CPU falls back to the convolution); and "separable", two grouped 1-D
convolutions (22 instead of 121 multiply-adds per pixel). "auto" picks as above; the benchmark times
every method on the device, so that a GPU measurement can choose its default.
"""
from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F

from common.quiet import import_cpp_extension_quietly
from common.text import first_line

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


def _blur_separable(t: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """The same 'valid' blur as two grouped 1-D convolutions (rows, then columns)."""
    c, r = t.shape[1], len(k)
    t = F.conv2d(t.contiguous(), k.view(1, 1, 1, r).expand(c, 1, 1, r).contiguous(), groups=c)
    return F.conv2d(t, k.view(1, 1, r, 1).expand(c, 1, r, 1).contiguous(), groups=c)


BLURS = {"conv": _blur_valid, "separable": _blur_separable}
METHODS = ("auto", "conv", "separable", "fused")


def _ssim_map_mean(ux, uy, uxx, uyy, uxy, c1: float, c2: float) -> torch.Tensor:
    """Mean over channels and pixels of the SSIM map from the five blurred moments."""
    uxuy = ux * uy
    uu = ux * ux + uy * uy
    s = ((2 * uxuy + c1) * (2 * (uxy - uxuy) + c2)) / ((uu + c1) * (uxx + uyy - uu + c2))
    return s.flatten(1).double().mean(1)


def _shift_blur(t: torch.Tensor, k: tuple[float, ...]) -> torch.Tensor:
    """Separable 'valid' blur as sums of shifted slices: what `torch.compile` fuses into one loop."""
    r = len(k)
    w = t.shape[-1] - r + 1
    o = t[..., 0:w] * k[0]
    for i in range(1, r):
        o = o + t[..., i:i + w] * k[i]
    h = o.shape[-2] - r + 1
    p = o[..., 0:h, :] * k[0]
    for i in range(1, r):
        p = p + o[..., i:i + h, :] * k[i]
    return p


def _ssim_fused(a: torch.Tensor, b: torch.Tensor, k: tuple[float, ...], c1: float, c2: float) -> torch.Tensor:
    return _ssim_map_mean(*(_shift_blur(t, k) for t in (a, b, a * a, b * b, a * b)), c1, c2)


# large CPU images: one image per call keeps the fused loop's working set in cache (fastest measured)
CPU_FUSED_MIN_PIXELS = 64 * 64
_compiled = None  # the compiled `_ssim_fused`, False once compilation failed in this process
log = logging.getLogger(__name__)


def _fused_compiled():
    """`torch.compile(_ssim_fused)`, or None when this machine cannot compile for the CPU (then the
    convolution). Another device compiles on its first call, where a failure raises."""
    global _compiled
    if _compiled is None:
        try:
            import torch._dynamo  # noqa: F401 - for its exception types below

            fn = torch.compile(_ssim_fused, dynamic=False)
            a = torch.rand(1, 1, 16, 16)
            import_cpp_extension_quietly()
            fn(a, a, tuple(gaussian_kernel().tolist()), 1e-4, 9e-4)  # compile now, so a failure shows here
            _compiled = fn
        except (RuntimeError, OSError, ImportError, AssertionError, torch._dynamo.exc.TorchDynamoException) as exc:
            log.warning("torch.compile is not available for SSIM (%s); using the slower convolution",
                        first_line(exc))
            _compiled = False
    return _compiled or None


def method_run(method: str, device: torch.device, height: int, width: int) -> str:
    """The method `ssim` runs for `method` on images of height x width on `device`: "auto" is the fused
    loop for CPU images over 64x64 pixels and the convolution otherwise; "fused" where torch.compile
    does not work for the CPU is the convolution."""
    if method == "auto":
        method = "fused" if device.type == "cpu" and height * width > CPU_FUSED_MIN_PIXELS else "conv"
    return "conv" if method == "fused" and _fused_compiled() is None else method


def ssim(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0, chunk: int = 64,
         method: str = "auto") -> torch.Tensor:
    """Per-image SSIM of two (N, C, H, W) batches, averaged over channels and the cropped map,
    as scikit-image computes it (float32; within 1e-4 of scikit-image's float64 in the tests).

    `method` is one of METHODS: "auto" runs the compiled fused loop for CPU images over 64x64 pixels
    and the grouped convolution otherwise."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim needs two (N, C, H, W) batches of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if method not in METHODS:
        raise ValueError(f"unknown SSIM method {method!r}; use one of {', '.join(METHODS)}")
    k = gaussian_kernel()
    if x.shape[-1] < len(k) or x.shape[-2] < len(k):
        raise ValueError(f"images of {x.shape[-2]}x{x.shape[-1]} are smaller than the {len(k)}x{len(k)} SSIM window")
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    method = method_run(method, x.device, x.shape[-2], x.shape[-1])
    out = []
    with torch.no_grad():
        if method == "fused":
            fn, taps = _fused_compiled(), tuple(k.tolist())
            step = 1 if x.device.type == "cpu" else chunk  # the CPU: one image per call keeps the working set in cache
            out = [fn(x[i:i + step].float(), y[i:i + step].float(), taps, c1, c2) for i in range(0, len(x), step)]
        else:
            blur = BLURS[method]
            k = k.to(x.device, torch.float32)
            for i in range(0, len(x), chunk):
                a, b = x[i:i + chunk].float(), y[i:i + chunk].float()
                c = a.shape[1]
                moments = blur(torch.cat([a, b, a * a, b * b, a * b], dim=1), k).split(c, dim=1)
                out.append(_ssim_map_mean(*moments, c1, c2))
    return torch.cat(out) if out else torch.empty(0, dtype=torch.float64)


def psnr(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """Per-image PSNR in dB (inf for identical images), as scikit-image's peak_signal_noise_ratio.
    The squared error is summed in float32 (torch's pairwise sums: within 1e-5 dB of float64, and
    3x faster on the CPU than summing in float64)."""
    mse = torch.cat([(x[i:i + 64].float() - y[i:i + 64].float()).square_().flatten(1).mean(1).double()
                     for i in range(0, len(x), 64)]) if len(x) else torch.empty(0, dtype=torch.float64)
    value = 10 * torch.log10(data_range ** 2 / mse)
    return torch.where(mse == 0, torch.full_like(value, math.inf), value)
