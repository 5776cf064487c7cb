"""Batched torch SSIM/PSNR (`bench.ssim`, what the runner uses) against scikit-image's
per-image reference on the same images, side by side in one run: seconds and max difference; and
each SSIM method of `bench.ssim` (conv, separable, fused) timed alone on the images already on the
device, so that a GPU run can tell which one its default should be.

    python benchmarks/ssim_speed.py [--n 1000] [--size 224] [--device cpu] [--repeats 3] [--out FILE]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import metrics  # noqa: E402
from bench.ssim import METHODS, method_run  # noqa: E402
from bench.ssim import psnr as batched_psnr  # noqa: E402
from bench.ssim import ssim as batched_ssim  # noqa: E402
from benchlib import write_result  # noqa: E402
from common.text import first_line  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    """The command line (tests/test_gpu_check.py parses gpu_check.sh's commands with it)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None, help="default results/ssim_speed_<size>.json")
    return ap


def main() -> None:
    a = build_parser().parse_args()
    a.out = a.out or str(Path(__file__).parent / "results" / f"ssim_speed_{a.size}.json")
    g = torch.Generator().manual_seed(0)
    shape = (a.n, a.channels, a.size, a.size)
    x = torch.rand(shape, generator=g)
    x_adv = (x + (8 / 255) * torch.sign(torch.randn(shape, generator=g))).clamp(0, 1)
    device = torch.device(a.device)
    batched = lambda a, b: (batched_ssim(a.to(device), b.to(device)).cpu().numpy(),  # noqa: E731
                            batched_psnr(a.to(device), b.to(device)).cpu().numpy())
    t0 = time.perf_counter()
    batched(x[:4], x_adv[:4])  # warm-up: on the CPU this compiles the fused loop (once per process and shape)
    warmup_seconds = time.perf_counter() - t0
    torch_times, ref_times = [], []
    for _ in range(a.repeats):  # interleaved, so that machine drift hits both alike; medians reported
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        ssim_t, psnr_t = batched(x, x_adv)
        torch_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ssim_r, psnr_r = metrics.ssim_psnr_reference(x, x_adv)
        ref_times.append(time.perf_counter() - t0)
    torch_seconds, ref_seconds = statistics.median(torch_times), statistics.median(ref_times)
    methods, method_errors = method_seconds(x, x_adv, device, a.repeats)
    write_result({
        "benchmark": "ssim_speed", "images": list(shape), "device": str(device), "torch_threads": torch.get_num_threads(),
        "torch_seconds": round(torch_seconds, 3), "torch_warmup_seconds": round(warmup_seconds, 3),
        "skimage_seconds": round(ref_seconds, 3),
        "speedup": round(ref_seconds / torch_seconds, 1), "repeats": a.repeats,
        "torch_seconds_all": [round(t, 3) for t in torch_times], "skimage_seconds_all": [round(t, 3) for t in ref_times],
        "max_abs_diff_ssim": float(np.abs(ssim_t - ssim_r).max()),
        "max_abs_diff_psnr": float(np.abs(psnr_t - psnr_r).max()),
        "auto_method": method_run("auto", device, a.size, a.size),
        "method_seconds": methods, "method_errors": method_errors,
    }, a.out)


def method_seconds(x: torch.Tensor, y: torch.Tensor, device: torch.device,
                   repeats: int) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Each explicit SSIM method on the images already on `device` (no host transfer): its first call
    (which compiles "fused") apart, the median of `repeats` more, and its largest difference from
    "conv". A method that fails (no compiler for the device) is recorded with its error."""
    x, y = x.to(device), y.to(device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    out, errors, conv = {}, {}, None
    for method in [m for m in METHODS if m != "auto"]:
        if method_run(method, device, x.shape[-2], x.shape[-1]) != method:  # ssim() would run the convolution
            errors[method] = "torch.compile is not available here (bench.ssim falls back to the convolution)"
            continue
        try:
            sync()
            t0 = time.perf_counter()
            first = batched_ssim(x, y, method=method)
            sync()
            warmup = time.perf_counter() - t0
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                batched_ssim(x, y, method=method)
                sync()
                times.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - a benchmark records what failed and goes on
            errors[method] = f"{type(exc).__name__}: {first_line(exc, 300)}"
            continue
        conv = first if conv is None else conv
        out[method] = {"seconds": round(statistics.median(times), 4), "first_call_seconds": round(warmup, 3),
                       "images_per_second": round(len(x) / statistics.median(times), 1),
                       "max_abs_diff_vs_conv": float((first - conv).abs().max())}
    return out, errors


if __name__ == "__main__":
    main()
