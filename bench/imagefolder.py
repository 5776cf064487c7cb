"""`imagefolder:<path>`: a folder with one sub-folder of images per class (the ImageNet val layout).

Folders named by ImageNet synsets (n01440764, ...) take timm's ImageNet-1k class index and
human-readable names, so the labels match pretrained timm models (1000 outputs); other folder
names are classes in sorted order. Images get the model's eval transform from timm's data config
(resize, centre crop at its input size and interpolation) and stay in [0, 1]: the attack works in
pixel space at the model's input size, normalization stays inside the model.

The files are split in two seeded halves, fit (train) and eval (test), and only the images a run
uses are decoded (in DataLoader workers), so a 50,000-image folder costs what `n` and `n_fit`
ask for. Unreadable images are skipped, counted, and replaced by the next file of their half.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from common.machine import usable_cpus

from .datatypes import Dataset, Split
from .errors import BenchError

PREFIX = "imagefolder:"
EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".jpe", ".tif", ".tiff"}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
DEFAULT_DATA_CONFIG: dict[str, Any] = {"input_size": [3, 224, 224], "interpolation": "bicubic",
                                       "crop_pct": 0.875, "crop_mode": "center"}


def _classes(root: Path) -> tuple[dict[str, int], tuple[str, ...]]:
    """Folder name -> class index, and every class's display name."""
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise BenchError(f"imagefolder {root} has no class sub-folders; put the images in <root>/<class>/*.jpg "
                         "(e.g. ImageNet val in synset folders)")
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    synsets = {s: i for i, s in enumerate(info.label_names())}
    if all(f in synsets for f in folders):
        names = tuple(info.index_to_description(i).split(",")[0] for i in range(len(synsets)))
        return {f: synsets[f] for f in folders}, names
    return {f: i for i, f in enumerate(folders)}, tuple(folders)


def transform(data_config: dict[str, Any] | None = None):
    """timm's eval transform for `data_config` (input_size, interpolation, crop_pct, crop_mode),
    without normalization; uint8 CHW output."""
    from timm.data import create_transform

    dc = {**DEFAULT_DATA_CONFIG, **(data_config or {})}
    return create_transform(input_size=tuple(dc["input_size"]), interpolation=dc["interpolation"],
                            crop_pct=dc["crop_pct"], crop_mode=dc.get("crop_mode"), is_training=False,
                            normalize=False)


class _Files(torch.utils.data.Dataset):
    """Decode + transform one file per item; None for an unreadable one (counted by the caller)."""

    def __init__(self, paths: list[Path], tf) -> None:
        self.paths, self.tf = paths, tf

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor | None:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(self.paths[i]) as im:
                return self.tf(im.convert("RGB"))
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
            return None


def _decode(files: list[tuple[Path, int]], want: int | None, tf, workers: int) -> tuple[list, list, int]:
    """The first `want` readable images of `files` (all when None), in order: (images, labels, skipped)."""
    xs: list[torch.Tensor] = []
    ys: list[int] = []
    skipped, pos = 0, 0
    want = len(files) if want is None else want
    while len(xs) < want and pos < len(files):
        chunk = files[pos:pos + (want - len(xs))]
        pos += len(chunk)
        loader = DataLoader(_Files([p for p, _ in chunk], tf), batch_size=32, num_workers=workers,
                            collate_fn=list)
        items = [img for batch in loader for img in batch]
        for img, (_, label) in zip(items, chunk):
            if img is None:
                skipped += 1
            else:
                xs.append(img)
                ys.append(label)
    return xs, ys, skipped


def default_workers() -> int:
    """Decoding workers: the CPUs this process may use, at most 8 (0 = in the main process)."""
    n = usable_cpus()
    return min(8, n) if n > 1 else 0


def load_imagefolder(spec: str, *, data_config: dict[str, Any] | None = None, size: int | None = None,
                     n_fit: int | None = None, n: int | None = None, seed: int = 0,
                     workers: int | None = None) -> Dataset:
    """Decode the images a run needs from `imagefolder:<path>` with the eval transform of `data_config`
    (`size` overrides its input size): `n_fit` of the fit half and `n` of the eval half (all when None)."""
    root = Path(os.path.expanduser(spec[len(PREFIX):]))
    if not root.is_dir():
        raise BenchError(f"imagefolder path {root} is not a folder; pass imagefolder:<folder with one sub-folder "
                         "per class>")
    index, names = _classes(root)
    dc = {**DEFAULT_DATA_CONFIG, **(data_config or {})}
    if size is not None:
        dc["input_size"] = [3, size, size]
    files = [(path, label) for folder, label in sorted(index.items())
             for path in sorted((root / folder).iterdir()) if path.suffix.lower() in EXTENSIONS]
    if len(files) < 2:
        raise BenchError(f"imagefolder {root} has {len(files)} image file(s); it needs at least two (fit and eval), "
                         f"with extensions {', '.join(sorted(EXTENSIONS))}")
    fingerprint = folder_digest(root, files)
    perm = torch.randperm(len(files), generator=torch.Generator().manual_seed(seed)).tolist()
    half = len(files) // 2
    tf = transform(dc)
    workers = default_workers() if workers is None else workers
    parts, skipped = [], 0
    for idx, want in ((perm[:half], n_fit), (perm[half:], n)):
        xs, ys, bad = _decode([files[i] for i in idx], want, tf, workers)
        skipped += bad
        parts.append((xs, ys))
    if not parts[0][0] or not parts[1][0]:
        raise BenchError(f"imagefolder {root} has no readable images in its {'fit' if not parts[0][0] else 'eval'} "
                         f"half ({skipped} unreadable); supported: {', '.join(sorted(EXTENSIONS))}")
    c, h, w = (int(v) for v in dc["input_size"])
    splits = [Split(torch.stack(xs).float().div_(255.0), torch.tensor(ys)) for xs, ys in parts]
    source = (f"{root} ({len(files)} image files, {len(splits[0]) + len(splits[1])} decoded, {skipped} unreadable "
              f"skipped; eval transform {h}x{w}, {dc['interpolation']}, crop_pct {dc['crop_pct']})")
    return Dataset(f"imagefolder:{root.name}", splits[0], splits[1], names, IMAGENET_MEAN, IMAGENET_STD, source,
                   skipped=skipped, transform=dc, fingerprint=fingerprint)


def folder_digest(root: Path, files: list[tuple[Path, int]]) -> str:
    """A digest of every image file's relative path, label, size and modification time: changes when a
    file is added, removed, replaced or edited, without reading the images."""
    h = hashlib.sha256()
    for path, label in files:
        st = path.stat()
        h.update(f"{path.relative_to(root).as_posix()}\0{label}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]
