"""Figures from a run folder's artifacts: class-visualization grids and clean/perturbation/adversarial grids.

Reads `<run>/artifacts/*.safetensors` (+ JSON) written by the runner; never imports attacks or zoo.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from safetensors.numpy import load_file

from common.eps import eps_text
from common.text import file_slug

from .textfit import cut_to_width, wrap_to_width

AMPLIFY_NOTE = "perturbation shown as 0.5 + delta / (2 max|delta|) (amplified for display)"


DPI = 120  # every figure here is drawn at this resolution, pixel for pixel


def _rgb(t: np.ndarray, width: int, height: int) -> np.ndarray:
    """CHW in [0, 1] -> HWC uint8 RGB of `width` x `height` pixels (grey repeated; nearest-neighbour
    when enlarging, so small images stay sharp, area-averaged when shrinking)."""
    img = (np.clip(t, 0, 1) * 255 + 0.5).astype(np.uint8)
    img = np.repeat(img, 3, axis=0) if img.shape[0] == 1 else img[:3]
    pil = Image.fromarray(np.ascontiguousarray(np.transpose(img, (1, 2, 0))))
    if pil.size != (width, height):
        pil = pil.resize((width, height), Image.NEAREST if width >= pil.size[0] else Image.BOX)
    return np.asarray(pil)


def _panel_figure(rows: Sequence[Sequence[tuple[np.ndarray, str]]], suptitle: str, *, panel_in: float,
                  title_pt: float, suptitle_pt: float) -> Figure:
    """A grid of titled images composed into one picture (placed pixel for pixel with `figimage`)
    with the titles as text. Why not one axes per panel: subplots, tight_layout and drawing every axes
    made the quickstart's 24 grids 4.8x slower (`benchmarks/plot_speed.py`: 12.8 s against 2.7 s)."""
    ncols = max(len(r) for r in rows)
    _, h, w = rows[0][0][0].shape
    pt = DPI / 72  # pixels per typographic point
    pw = round(panel_in * DPI)
    ph = max(round(pw * h / w), 1)
    gap, margin = round(0.08 * pw), 8
    line = title_pt * pt * 1.3

    def short(title: str) -> str:  # long class names (ImageNet's) cut, measured, to keep half a gap clear
        return cut_to_width(title, (pw + gap / 2) / DPI, title_pt)

    band = [round(max(t.count("\n") + 1 for _, t in r) * line) + 4 for r in rows]
    width = 2 * margin + ncols * pw + (ncols - 1) * gap
    sup = wrap_to_width(suptitle, (width - margin) / DPI, suptitle_pt)
    top = round((sup.count("\n") + 1) * suptitle_pt * pt * 1.3) + 2 * margin
    height = top + sum(band) + len(rows) * ph + (len(rows) - 1) * gap + margin
    canvas = np.full((height, width, 3), 255, np.uint8)
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    y = top
    for r, row in enumerate(rows):
        for j, (img, title) in enumerate(row):
            x = margin + j * (pw + gap)
            canvas[y + band[r]:y + band[r] + ph, x:x + pw] = _rgb(img, pw, ph)
            fig.text((x + pw / 2) / width, 1 - (y + band[r] / 2) / height, short(title), ha="center", va="center",
                     fontsize=title_pt)
        y += band[r] + ph + gap
    fig.figimage(canvas, 0, 0, origin="upper")
    fig.text(0.5, 1 - (top / 2) / height, sup, ha="center", va="center", fontsize=suptitle_pt)
    return fig


def new_figure(rows: int = 1, cols: int = 1, *, figsize: tuple[float, float], **kwargs):
    """A figure and its axes through matplotlib's object API: no pyplot, so drawing reports never
    changes the backend of the process that imported them (a notebook keeps its inline plots)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, cols, **kwargs)


def _save(fig, run_dir: Path, stem: str, tight: bool = True) -> Path:
    """Lay out and write `<run>/plots/<stem>.png` (the figure is garbage once unreferenced)."""
    if tight:
        fig.tight_layout()
    path = run_dir / "plots" / f"{file_slug(stem)}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def _artifacts(run_dir: Path, prefix: str):
    for path in sorted((run_dir / "artifacts").glob(f"{prefix}*.safetensors")):
        meta = json.loads(path.with_suffix(".json").read_text())
        yield load_file(str(path)), meta


def _image_grid(images: np.ndarray, titles: Sequence[str], suptitle: str) -> Figure:
    """A figure with one image per panel, ten per row, each titled; images are CHW in [0, 1]."""
    cols = min(len(images), 10)
    panels = [(images[i], titles[i]) for i in range(len(images))]
    rows = [panels[i:i + cols] for i in range(0, len(panels), cols)]
    return _panel_figure(rows, suptitle, panel_in=1.2, title_pt=7, suptitle_pt=8)


def _class_titles(n: int, class_names: Sequence[str], classes: np.ndarray | None = None) -> list[str]:
    """Titles of n per-class panels: rows 0..n-1, or the class indices `classes` when the run kept a
    subset (datasets with many classes)."""
    idx = [int(c) for c in classes] if classes is not None else list(range(n))
    return [class_names[i] if i < len(class_names) else str(i) for i in idx]


def class_visualization_grids(run_dir: Path, class_names: Sequence[str]) -> list[Path]:
    """One PNG per (attack, eps, source): each class's visualization G(c), titled with the class name."""
    out = []
    for tensors, meta in _artifacts(run_dir, "classviz_"):
        vis = tensors["visualizations"]
        fig = _image_grid(vis, _class_titles(len(vis), class_names, tensors.get("classes")),
                          f"{meta['attack']} class visualizations, source {meta['source']}")
        out.append(_save(fig, run_dir, f"classviz_{meta['attack']}_{meta['norm']}_eps{meta['eps']:g}_{meta['source']}",
                         tight=False))
    return out


def delta_grids(run_dir: Path, class_names: Sequence[str]) -> list[Path]:
    """One PNG per fitted universal attack: its delta (or one per class, titled with the class
    name), shown as 0.5 + delta / (2 max|delta|) so that mid-grey is zero."""
    out = []
    for tensors, meta in _artifacts(run_dir, "deltas_"):
        d = tensors["deltas"]
        scale = max(float(np.abs(d).max()), 1e-12)
        titles = (_class_titles(len(d), class_names, tensors.get("classes")) if meta.get("per_class")
                  else ["universal"] * len(d))
        fig = _image_grid(0.5 + d / (2 * scale), titles,
                          f"{meta['attack']} {meta['norm']} eps={eps_text(meta['eps'])}, source {meta['source']}: "
                          "perturbation (grey = 0, black/white = -/+ max)")
        out.append(_save(fig, run_dir, f"deltas_{meta['attack']}_{meta['norm']}_eps{meta['eps']:g}_{meta['source']}",
                         tight=False))
    return out


def example_grids(run_dir: Path, class_names: Sequence[str]) -> list[Path]:
    """One PNG per cell: rows clean / perturbation (amplified) / adversarial, with predicted class names."""
    def name(i: int) -> str:
        return class_names[i] if 0 <= i < len(class_names) else str(i)

    out = []
    for tensors, meta in _artifacts(run_dir, "examples_"):
        x, xa = tensors["x"], tensors["x_adv"]
        delta = xa - x
        scale = max(float(np.abs(delta).max()), 1e-12)
        adv = [f"adv: {name(int(p))}" for p in tensors["pred_adv"]]
        if "target" in tensors:
            adv = [f"{a}\n(target {name(int(t))})" for a, t in zip(adv, tensors["target"])]
        rows = [[(x[j], f"clean: {name(int(tensors['pred_clean'][j]))}") for j in range(len(x))],
                [(0.5 + delta[j] / (2 * scale), "perturbation") for j in range(len(x))],
                [(xa[j], adv[j]) for j in range(len(x))]]
        mode = "targeted" if meta["targeted"] else "untargeted"
        fig = _panel_figure(rows, f"{meta['attack']} {meta['norm']} eps={eps_text(meta['eps'])} on {meta['source']} "
                                  f"({mode}); {AMPLIFY_NOTE}", panel_in=1.3, title_pt=6, suptitle_pt=7)
        out.append(_save(fig, run_dir, f"examples_{meta['attack']}_{meta['norm']}_eps{meta['eps']:g}_"
                                       f"{meta['source']}_{mode}", tight=False))
    return out


def write_plots(run_dir: Path, class_names: Sequence[str]) -> list[Path]:
    """Every figure the run's artifacts allow."""
    return (class_visualization_grids(run_dir, class_names) + delta_grids(run_dir, class_names)
            + example_grids(run_dir, class_names))
