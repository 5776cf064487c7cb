"""Metric definitions on hand-made predictions, and SSIM/PSNR against scikit-image directly."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from bench import metrics


def test_rates_follow_the_definitions():
    y = torch.tensor([0, 1, 2, 3])
    clean = torch.tensor([0, 1, 2, 0])       # 3 of 4 correct
    adv = torch.tensor([1, 1, 0, 2])         # changed on items 0, 2, 3
    target = torch.tensor([1, 2, 0, 2])      # hit on 0, 2, 3
    assert metrics.clean_accuracy(clean, y) == 0.75
    assert metrics.fooling_rate(clean, adv) == 0.75
    assert metrics.success_on_correct(y, clean, adv) == pytest.approx(2 / 3)   # items 0, 2 of 0, 1, 2
    assert metrics.targeted_success(adv, target) == 0.75
    assert metrics.success_on_correct(y, clean, adv, target) == pytest.approx(2 / 3)


def test_success_on_correct_is_nan_without_correct_images():
    y = torch.tensor([0, 1])
    assert math.isnan(metrics.success_on_correct(y, torch.tensor([1, 0]), torch.tensor([1, 1])))


def test_perceptibility_of_identical_images():
    x = torch.rand(3, 1, 16, 16)
    p = metrics.perceptibility(x, x.clone())
    assert p["linf_max"] == 0 and p["l2_mean"] == 0 and p["ssim_mean"] == pytest.approx(1.0)
    assert math.isnan(p["psnr_mean"]) and p["n_changed"] == 0  # no changed image: no PSNR, never inf


def test_psnr_is_averaged_over_changed_images_only():
    """One unchanged image (inf dB) must not make the mean infinite: the mean is over the others."""
    x = torch.rand(3, 1, 16, 16)
    adv = x.clone()
    adv[1:] = (adv[1:] + 0.05).clamp(0, 1)
    p = metrics.perceptibility(x, adv)
    _, psnr = metrics.ssim_psnr_reference(x, adv)
    assert p["n_changed"] == 2 and p["psnr_mean"] == pytest.approx(psnr[1:].mean(), abs=1e-4)


def test_ssim_psnr_match_scikit_image_and_known_values():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 1, 28, 28, generator=g)
    x_adv = (x + 0.05 * torch.sign(torch.randn(x.shape, generator=g))).clamp(0, 1)
    ssim, psnr = metrics.ssim_psnr(x, x_adv)
    a, b = x[2, 0].double().numpy(), x_adv[2, 0].double().numpy()
    ref = structural_similarity(a, b, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
    assert ssim[2] == pytest.approx(ref, abs=1e-5)
    mse = float(np.mean((a - b) ** 2))
    assert psnr[2] == pytest.approx(10 * math.log10(1 / mse))


def test_norms():
    x = torch.zeros(2, 1, 2, 2)
    x_adv = x.clone()
    x_adv[0, 0, 0, 0] = 0.3
    x_adv[1] = 0.1
    p = metrics.lp_norms(x, x_adv)
    assert p["linf_max"] == pytest.approx(0.3) and p["linf_mean"] == pytest.approx(0.2)
    assert p["l2_mean"] == pytest.approx((0.3 + 0.2) / 2)


@pytest.mark.parametrize("method", ["conv", "separable", "fused"])
@pytest.mark.parametrize("shape", [(6, 1, 28, 28), (3, 3, 224, 224), (4, 1, 16, 16), (2, 3, 11, 13)])
def test_batched_ssim_and_psnr_agree_with_scikit_image_per_image(shape, method):
    """The runner's torch SSIM/PSNR, every method (grouped 2-D convolution, two 1-D ones, the compiled
    loop), against scikit-image, image by image (issue 7: within 1e-4)."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(shape, generator=g)
    x_adv = (x + 0.08 * torch.randn(shape, generator=g)).clamp(0, 1)
    x_adv[0] = x[0]  # an unchanged image: SSIM 1, PSNR inf
    from bench.ssim import psnr as batched_psnr
    from bench.ssim import ssim as batched_ssim

    ssim, psnr = batched_ssim(x, x_adv, method=method).numpy(), batched_psnr(x, x_adv).numpy()
    ref_ssim, ref_psnr = metrics.ssim_psnr_reference(x, x_adv)
    assert np.abs(ssim - ref_ssim).max() <= 1e-4 and ssim[0] == pytest.approx(1.0)
    assert np.isinf(psnr[0]) and np.isinf(ref_psnr[0])
    assert np.abs(psnr[1:] - ref_psnr[1:]).max() <= 1e-4


def test_the_ssim_methods_agree_with_each_other_and_a_bad_one_is_named():
    """What lets a device pick its fastest method by measurement: the three give one number (1e-6)."""
    from bench.ssim import ssim

    g = torch.Generator().manual_seed(2)
    x = torch.rand(5, 3, 70, 70, generator=g)
    y = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    values = {m: ssim(x, y, method=m) for m in ("auto", "conv", "separable", "fused")}
    assert all((v - values["conv"]).abs().max() <= 1e-6 for v in values.values()), values
    with pytest.raises(ValueError, match="unknown SSIM method 'fft'; use one of auto, conv, separable, fused"):
        ssim(x, y, method="fft")


def test_batched_ssim_rejects_images_smaller_than_the_window():
    from bench.ssim import ssim

    with pytest.raises(ValueError, match="smaller than the 11x11 SSIM window"):
        ssim(torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8))


@pytest.mark.slow  # a fresh interpreter and a compilation: about 20 s
def test_compiling_the_cpu_ssim_logs_nothing(tmp_path):
    """SSIM on CPU images over 64x64 is compiled; inductor's import of torch's C++ extension helper
    logged "No CUDA runtime is found" into every CPU run's output at 176x176 and up. A fresh process
    (the warning comes once per process) with a fresh inductor cache (a cached kernel imports nothing)
    computes it and writes nothing to stderr."""
    import os
    import subprocess
    import sys

    code = ("import torch; from bench.ssim import ssim; x = torch.rand(1, 1, 80, 80); "
            "print(float(ssim(x, x.clamp(0, 0.9), method='fused')[0]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 0 and 0.9 < float(proc.stdout) < 1.0
    assert "CUDA" not in proc.stderr, proc.stderr
