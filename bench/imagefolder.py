"""`imagefolder:<path>`: a folder with one sub-folder of images per class (the ImageNet val layout).

Folders named by ImageNet synsets (n01440764, ...) take timm's ImageNet-1k class index and
human-readable names, so the labels match pretrained timm models (1000 outputs); other folder
names are classes in sorted order. Images get the standard eval transform (resize the shorter
side to size / 0.875, bicubic, centre crop to size) and stay in [0, 1]: the attack works in pixel
space at the model's input size, normalization stays inside the model. Unreadable images are
skipped and counted. The images are split in two seeded halves: fit (train) and eval (test).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .data import Dataset, Split
from .errors import BenchError

PREFIX = "imagefolder:"
EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".jpe", ".tif", ".tiff"}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CROP_PCT = 0.875


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


def transform(size: int):
    """timm's default eval transform for a `size` model, without normalization."""
    from torchvision import transforms as T

    return T.Compose([T.Resize(int(size / CROP_PCT), interpolation=T.InterpolationMode.BICUBIC),
                      T.CenterCrop(size), T.ToTensor()])


def load_imagefolder(spec: str, *, size: int = 224, seed: int = 0) -> Dataset:
    """Load every readable image under `imagefolder:<path>` at `size` x `size`."""
    from PIL import Image, UnidentifiedImageError

    root = Path(os.path.expanduser(spec[len(PREFIX):]))
    if not root.is_dir():
        raise BenchError(f"imagefolder path {root} is not a folder; pass imagefolder:<folder with one sub-folder "
                         "per class>")
    index, names = _classes(root)
    tf = transform(size)
    xs, ys, skipped = [], [], 0
    for folder, label in sorted(index.items()):
        for path in sorted((root / folder).iterdir()):
            if path.suffix.lower() not in EXTENSIONS:
                continue
            try:
                with Image.open(path) as im:
                    xs.append(tf(im.convert("RGB")))
                ys.append(label)
            except (OSError, UnidentifiedImageError, ValueError):
                skipped += 1
    if not xs:
        raise BenchError(f"imagefolder {root} has no readable images ({skipped} unreadable); supported: "
                         f"{', '.join(sorted(EXTENSIONS))}")
    if len(xs) < 2:
        raise BenchError(f"imagefolder {root} has only one readable image; it needs at least two (fit and eval)")
    x, y = torch.stack(xs), torch.tensor(ys)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    half = len(x) // 2
    fit, ev = perm[:half], perm[half:]
    source = f"{root} ({len(x)} images, {skipped} unreadable skipped, {size}x{size} eval transform)"
    return Dataset(f"imagefolder:{root.name}", Split(x[fit], y[fit]), Split(x[ev], y[ev]), names,
                   IMAGENET_MEAN, IMAGENET_STD, source)
