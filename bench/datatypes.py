"""The data a run works on: splits of images in [0, 1] and a dataset's two parts with what models
need to know about them. Imported by every loader (`bench.data`, `bench.imagefolder`)."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Split:
    """Images in [0, 1] (float32 NCHW) with integer labels."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def pinned(self) -> "Split":
        """The same split in page-locked memory (asynchronous copies to a GPU)."""
        return Split(self.x.pin_memory(), self.y.pin_memory())


@dataclass(frozen=True)
class Dataset:
    """A dataset's two parts and what models need to know about them."""

    name: str
    train: Split
    test: Split
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: str  # where the data came from, for the manifest
    skipped: int = 0  # unreadable images skipped while loading (imagefolder)
    transform: dict | None = None  # the eval transform applied while loading (imagefolder), for the manifest
    # what identifies the content when the name does not (imagefolder: a digest of the file list with sizes
    # and modification times), so cells and fits of a changed folder are never reused
    fingerprint: str | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def shape(self) -> tuple[int, int, int]:
        c, h, w = self.train.x.shape[1:]
        return int(c), int(h), int(w)
