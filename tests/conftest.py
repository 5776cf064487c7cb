"""Shared fixtures: the synthetic dataset, a tiny CNN trained on it in seconds, a private cache."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never download; set before timm imports huggingface_hub

import pytest  # noqa: E402
import torch
from torch import nn

from bench.data import load_synthetic
from bench.models import input_spec, train_missing
from zoo import Normalized
from zoo.train import fit_classifier

torch.set_num_threads(min(2, os.cpu_count() or 1))
# `bench run` in tests writes no figures and no PDF (about 2 s a run of a 5-minute pass); the tests of those
# formats ask for them (test_report_outputs, the slow end-to-end runs)
os.environ.setdefault("BENCH_FORMAT", "csv,latex,markdown,html")


@pytest.fixture(scope="session")
def synthetic():
    return load_synthetic()


@pytest.fixture(scope="session")
def tiny_model(synthetic) -> Normalized:
    """A 2-conv CNN trained on the synthetic set (about a second); frozen and eval like zoo models."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(16, synthetic.num_classes),
    )
    fit_classifier(net, synthetic.mean, synthetic.std, synthetic.train.x, synthetic.train.y,
                   epochs=3, lr=1e-2, seed=0)
    return Normalized(net, synthetic.mean, synthetic.std, name="tiny")


@pytest.fixture(scope="session")
def zoo_cache(tmp_path_factory, synthetic) -> Path:
    """A cache with the three mini models trained on the synthetic set (shared by the session)."""
    cache = tmp_path_factory.mktemp("cache")
    train_missing(["mini:resnet", "mini:densenet", "mini:vgg"], synthetic, cache_dir=cache, log=lambda _: None)
    return cache


@pytest.fixture(scope="session")
def fit_loader(synthetic):
    """200 fit images in batches, as the runner hands them to `Attack.fit`."""
    from torch.utils.data import DataLoader, TensorDataset

    return DataLoader(TensorDataset(synthetic.train.x[:200], synthetic.train.y[:200]), batch_size=100)


@pytest.fixture()
def batch(synthetic):
    """64 eval images with labels."""
    return synthetic.test.x[:64], synthetic.test.y[:64]


__all__ = ["input_spec"]


def cli_imports_torch(args: list[str]) -> bool:
    """Whether `bench <args>` (run in a fresh interpreter, expected to exit 0) imports torch: commands that
    only read files (reports, listings) must not pay its import (about 10 s on two cores)."""
    import subprocess
    import sys

    script = f"import sys\nfrom bench.cli import main\nassert main({args!r}) == 0\nprint('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()[-1] == "True"
