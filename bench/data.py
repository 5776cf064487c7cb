"""Datasets: Fashion-MNIST from IDX files and a learnable synthetic set, with fixed seeded splits.

The fit split (for attacks that learn, and for zoo training) comes from the train part and the
eval split from the test part, so the two never overlap.
"""
from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from common.text import unknown_name_message

from .datatypes import Dataset, Split
from .errors import BenchError
from .imagefolder import PREFIX, load_imagefolder

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    description: str
    load: Callable[..., Dataset]


# ---------------------------------------------------------------- Fashion-MNIST

def _read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally .gz): magic, dims, then uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype_code != 0x08:
            raise ValueError("not an unsigned-byte IDX file")
        dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        if data.size != int(np.prod(dims)):
            raise ValueError(f"expected {int(np.prod(dims))} values, found {data.size}")
    except (OSError, EOFError, ValueError, struct.error) as exc:
        raise BenchError(f"corrupt IDX file {path}: {exc}; reinstall or re-download Fashion-MNIST") from None
    return data.reshape(dims)


def _find_idx(directory: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    return None


def _has_fashion_mnist(directory: Path) -> bool:
    return all(_find_idx(directory, s) for pair in _IDX_FILES.values() for s in pair)


def _torchvision_download(cache_dir: Path) -> Path:
    """Fetch Fashion-MNIST with torchvision into the cache (only when asked: needs the network)."""
    from torchvision.datasets import FashionMNIST

    root = cache_dir / "data"
    try:
        FashionMNIST(root=str(root), train=True, download=True)
        FashionMNIST(root=str(root), train=False, download=True)
    except Exception as exc:  # network errors come in many types; report them in one line
        raise BenchError(f"could not download Fashion-MNIST with torchvision: {exc}") from None
    return root / "FashionMNIST" / "raw"


def locate_fashion_mnist(data_dir: str | os.PathLike | None, *, download: bool = False,
                         cache_dir: Path | None = None) -> Path:
    """Find the Fashion-MNIST IDX files: explicit dir, $BENCH_DATA, the Debian path, or download."""
    if data_dir is not None:
        d = Path(data_dir)
        if not _has_fashion_mnist(d):
            raise BenchError(
                f"no Fashion-MNIST IDX files in --data-dir {d}; it needs "
                "train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz), "
                "t10k-labels-idx1-ubyte(.gz)")
        return d
    candidates = [Path(os.environ["BENCH_DATA"])] if os.environ.get("BENCH_DATA") else []
    candidates.append(DEBIAN_FASHION_MNIST)
    if cache_dir is not None:
        candidates.append(cache_dir / "data" / "FashionMNIST" / "raw")
    for d in candidates:
        if _has_fashion_mnist(d):
            return d
    if download:
        return _torchvision_download(cache_dir or Path.home() / ".cache" / "vizpert-bench")
    raise BenchError(
        "Fashion-MNIST not found; get it one of three ways: "
        "`apt-get install dataset-fashion-mnist` (Debian), "
        "point --data-dir or $BENCH_DATA at a folder with the four IDX files, "
        "or pass --download to fetch it with torchvision")


def load_fashion_mnist(data_dir: str | os.PathLike | None = None, *, download: bool = False,
                       cache_dir: Path | None = None) -> Dataset:
    """Fashion-MNIST, 1x28x28 in [0, 1], ten named classes."""
    d = locate_fashion_mnist(data_dir, download=download, cache_dir=cache_dir)
    parts = {}
    for part, (img_stem, lbl_stem) in _IDX_FILES.items():
        images = _read_idx(_find_idx(d, img_stem))
        labels = _read_idx(_find_idx(d, lbl_stem))
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise BenchError(f"corrupt IDX files in {d}: {part} images {images.shape} vs labels {labels.shape}")
        x = torch.from_numpy(images.copy()).unsqueeze(1).float().div_(255.0)
        parts[part] = Split(x, torch.from_numpy(labels.astype(np.int64)))
    return Dataset("fashion-mnist", parts["train"], parts["test"], FASHION_MNIST_CLASSES,
                   mean=(0.2860,), std=(0.3530,), source=str(d))


# ---------------------------------------------------------------- synthetic

def load_synthetic(data_dir: str | os.PathLike | None = None, *, num_classes: int = 4, size: int = 16,
                   n_train: int = 2000, n_test: int = 1000, template_size: int = 4, noise: float = 0.3,
                   **_: object) -> Dataset:
    """A learnable toy set for tests: each class is a fixed random smooth template (`template_size`
    squared random values, upsampled) plus gaussian `noise`; finer templates and less noise keep many
    classes apart (`benchmarks/vizpert_many_classes.py`).

    Deterministic (seed 0) and made in milliseconds; a tiny CNN separates it in seconds.
    """
    del data_dir
    g = torch.Generator().manual_seed(0)
    coarse = torch.rand(num_classes, 1, template_size, template_size, generator=g)
    templates = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)

    def make(n: int) -> Split:
        y = torch.arange(n) % num_classes
        y = y[torch.randperm(n, generator=g)]
        x = (0.25 + 0.5 * templates[y] + torch.randn(n, 1, size, size, generator=g) * noise).clamp_(0.0, 1.0)
        return Split(x, y)

    names = tuple(f"class{i}" for i in range(num_classes))
    return Dataset("synthetic", make(n_train), make(n_test), names, mean=(0.5,), std=(0.25,), source="generated")


DATASETS: dict[str, DatasetEntry] = {
    "fashion-mnist": DatasetEntry("fashion-mnist", "Zalando Fashion-MNIST, 1x28x28, 10 classes (IDX files)",
                                  load_fashion_mnist),
    "synthetic": DatasetEntry("synthetic", "toy 1x16x16 set of 4 noisy class templates, for tests",
                              load_synthetic),
}


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, *, download: bool = False,
                 cache_dir: Path | None = None, data_config: dict | None = None, n_fit: int | None = None,
                 n: int | None = None, seed: int = 0, workers: int | None = None) -> Dataset:
    """Load a registered dataset by name, or `imagefolder:<path>` (only the `n_fit` + `n` images a
    run uses are decoded, with `data_config`'s eval transform, in `workers` processes)."""
    if name.startswith(PREFIX):
        return load_imagefolder(name, data_config=data_config, n_fit=n_fit, n=n, seed=seed, workers=workers)
    if name not in DATASETS:
        raise BenchError(unknown_name_message("dataset", name, DATASETS, "bench list datasets"))
    entry = DATASETS[name]
    if name == "fashion-mnist":
        return entry.load(data_dir, download=download, cache_dir=cache_dir)
    return entry.load(data_dir)


def subset(split: Split, n: int, seed: int, *, what: str) -> Split:
    """A seeded random subset of `n` images (a fixed order: same seed, same images)."""
    if n <= 0:
        raise BenchError(f"{what} must be a positive number of images, got {n}")
    if n > len(split):
        raise BenchError(f"{what}={n} is larger than the {len(split)} images available; pass at most {len(split)}")
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(split), generator=g)[:n]
    return Split(split.x[idx].contiguous(), split.y[idx].contiguous())


def make_splits(ds: Dataset, n_fit: int, n_eval: int, seed: int, *, fits: bool = True) -> tuple[Split, Split]:
    """The fit split (from train) and the eval split (from test): disjoint by construction. With `fits`
    False (no attack of the grid learns from the fit split) an `n_fit` beyond the images there is cut to
    them instead of refused: a small image folder runs FGSM and PGD without `--n-fit`."""
    n_fit = n_fit if fits else min(n_fit, len(ds.train))
    return subset(ds.train, n_fit, seed, what="n_fit"), subset(ds.test, n_eval, seed + 1, what="n")
