"""Metric definitions (as stated in the README): accuracy, fooling, targeted success, perceptibility.

Rates are fractions in [0, 1]; the reports show them as percentages. SSIM and PSNR use
scikit-image as the reference implementation (gaussian window sigma 1.5, data_range 1).
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torch import nn

from common.norms import per_example_norm
from common.outcomes import pack_mask

from .errors import BenchError
from .ssim import psnr as batched_psnr
from .ssim import ssim as batched_ssim


class NonFiniteOutput(BenchError):
    """A model produced NaN/inf logits: the cell (or run) fails instead of scoring garbage."""


def _share(mask: torch.Tensor) -> float:
    """Exact share of True entries (count / total, not a float32 mean)."""
    return int(mask.sum()) / mask.numel() if mask.numel() else math.nan


@contextlib.contextmanager
def _seeded(model: nn.Module, seed: int, device: torch.device) -> Iterator[None]:
    """For a randomized model (smoothing), torch's generator forked and seeded, so its predictions of a
    batch do not depend on what ran before; nothing for a deterministic one."""
    if not getattr(model, "randomized", False):
        yield
        return
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Top-1 labels of `model` for the images `x` (on the model's device), returned on the CPU.
    A randomized model's noise is seeded per batch (by its position), so predictions are reproducible.
    Labels and finiteness stay on the device until the end: a GPU never waits for the host between
    batches (one read-back per call)."""
    device = next(model.parameters()).device
    labels, finite = [], []
    for i in range(0, len(x), batch_size):
        with _seeded(model, i, device):
            logits = model(x[i:i + batch_size].to(device, non_blocking=True))
        labels.append(logits.argmax(1))
        finite.append(torch.isfinite(logits).all(1))
    if not labels:
        return torch.empty(0, dtype=torch.long)
    out, ok = torch.stack([torch.cat(labels), torch.cat(finite).long()]).cpu()
    if not bool(ok.all()):
        i = int((ok == 0).nonzero()[0]) // batch_size * batch_size  # the first batch with a non-finite logit
        raise NonFiniteOutput(f"model {getattr(model, 'zoo_name', type(model).__name__)} returned NaN or "
                              f"infinite logits for images {i}..{min(i + batch_size, len(x)) - 1}")
    return out


def clean_accuracy(pred_clean: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy on the unperturbed images."""
    return _share(pred_clean == y)


def fooling_rate(pred_clean: torch.Tensor, pred_adv: torch.Tensor) -> float:
    """Share of images whose top-1 label changes under the perturbation (the UAP paper's definition)."""
    return _share(pred_clean != pred_adv)


def success_on_correct(y: torch.Tensor, pred_clean: torch.Tensor, pred_adv: torch.Tensor,
                       target: torch.Tensor | None = None) -> float:
    """Attack success among the images the model classified correctly: now wrong (untargeted),
    or now the assigned target (targeted). NaN when the model got no image right."""
    correct = pred_clean == y
    if not bool(correct.any()):
        return math.nan
    hit = (pred_adv != y) if target is None else (pred_adv == target)
    return _share(hit[correct])


def targeted_success(pred_adv: torch.Tensor, target: torch.Tensor) -> float:
    """Share of images that the model labels as their assigned target."""
    return _share(pred_adv == target)


def outcome_masks(y: torch.Tensor, pred_clean: torch.Tensor, pred_adv: torch.Tensor,
                  target: torch.Tensor | None = None) -> dict[str, str]:
    """Which images were classified correctly (clean, adversarial), fooled, and hit their target,
    packed for the store (`common.outcomes`): every rate of a row, and any paired statistic, can be
    recomputed from these."""
    out = {"clean_correct": pack_mask(pred_clean == y), "adv_correct": pack_mask(pred_adv == y),
           "fooled": pack_mask(pred_adv != pred_clean)}
    if target is not None:
        out["hit"] = pack_mask(pred_adv == target)
    return out


def lp_norms(x: torch.Tensor, x_adv: torch.Tensor) -> dict[str, float]:
    """Mean and max Linf and mean L2 distance between clean and adversarial images."""
    delta = x_adv - x.to(x_adv.device, non_blocking=True)
    linf = per_example_norm(delta, "linf").cpu()
    l2 = per_example_norm(delta, "l2").cpu()
    return {"linf_mean": float(linf.mean()), "linf_max": float(linf.max()), "l2_mean": float(l2.mean())}


def ssim_psnr_reference(x: torch.Tensor, x_adv: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-image SSIM (Wang et al.: gaussian sigma 1.5, data_range 1) and PSNR (dB; inf if identical)
    by scikit-image, one image at a time: the reference `bench.ssim` is tested against."""
    a = x.detach().cpu().double().numpy()
    b = x_adv.detach().cpu().double().numpy()
    ssim = np.empty(len(a))
    psnr = np.empty(len(a))
    for i in range(len(a)):
        ssim[i] = structural_similarity(a[i], b[i], data_range=1.0, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, channel_axis=0)
        mse = float(np.mean((a[i] - b[i]) ** 2))
        psnr[i] = math.inf if mse == 0.0 else peak_signal_noise_ratio(a[i], b[i], data_range=1.0)
    return ssim, psnr


def ssim_psnr(x: torch.Tensor, x_adv: torch.Tensor,
              device: torch.device | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-image SSIM and PSNR, batched in torch on `device` (default: x's); equal to scikit-image's
    within 1e-4 per image (tests/test_metrics.py)."""
    device = torch.device(device) if device is not None else x.device
    a, b = x.to(device), x_adv.to(device)
    return (batched_ssim(a, b).cpu().double().numpy(), batched_psnr(a, b).cpu().double().numpy())


def perceptibility(x: torch.Tensor, x_adv: torch.Tensor, device: torch.device | str | None = None) -> dict[str, float]:
    """Lp norms, mean SSIM, and PSNR averaged over the changed images only (an unchanged image has
    infinite PSNR, which would make any mean infinite), with their count `n_changed`; PSNR is NaN
    when no image changed."""
    ssim, psnr = ssim_psnr(x, x_adv, device)
    changed = np.isfinite(psnr)
    return {**lp_norms(x, x_adv), "ssim_mean": float(ssim.mean()),
            "psnr_mean": float(psnr[changed].mean()) if changed.any() else math.nan,
            "n_changed": int(changed.sum())}
