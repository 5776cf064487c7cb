"""Figures from a run folder's artifacts: class-visualization grids and clean/perturbation/adversarial grids.

Reads `<run>/artifacts/*.safetensors` (+ JSON) written by the runner; never imports attacks or zoo.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from safetensors.numpy import load_file

AMPLIFY_NOTE = "perturbation shown as 0.5 + delta / (2 max|delta|) (amplified for display)"


def _image(t: np.ndarray) -> tuple[np.ndarray, str | None]:
    """CHW in [0, 1] -> something imshow takes, with a grey colormap for one channel."""
    if t.shape[0] == 1:
        return t[0], "gray"
    return np.transpose(t, (1, 2, 0)), None


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in text)


def new_figure(rows: int = 1, cols: int = 1, *, figsize: tuple[float, float], **kwargs):
    """A figure and its axes through matplotlib's object API: no pyplot, so drawing reports never
    changes the backend of the process that imported them (a notebook keeps its inline plots)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, cols, **kwargs)


def _save(fig, run_dir: Path, stem: str, tight: bool = True) -> Path:
    """Lay out and write `<run>/plots/<stem>.png` (the figure is garbage once unreferenced)."""
    if tight:
        fig.tight_layout()
    path = run_dir / "plots" / f"{_slug(stem)}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def _artifacts(run_dir: Path, prefix: str):
    for path in sorted((run_dir / "artifacts").glob(f"{prefix}*.safetensors")):
        meta = json.loads(path.with_suffix(".json").read_text())
        yield load_file(str(path)), meta


def _image_grid(images: np.ndarray, titles: Sequence[str], suptitle: str):
    """A figure with one image per panel, ten per row, each titled; images are CHW in [0, 1]."""
    n = len(images)
    cols = min(n, 10)
    rows = (n + cols - 1) // cols
    fig, axes = new_figure(rows, cols, figsize=(1.4 * cols + 0.6, 1.6 * rows + 0.5), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            img, cmap = _image(np.clip(images[i], 0, 1))
            ax.imshow(img, cmap=cmap, vmin=0, vmax=1)
            ax.set_title(titles[i], fontsize=7)
    fig.suptitle(suptitle, fontsize=8)
    return fig


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
        out.append(_save(fig, run_dir, f"classviz_{meta['attack']}_{meta['norm']}_eps{meta['eps']:g}_{meta['source']}"))
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
                          f"{meta['attack']} {meta['norm']} eps={meta['eps']:g}, source {meta['source']}: "
                          "perturbation (grey = 0, black/white = -/+ max)")
        out.append(_save(fig, run_dir, f"deltas_{meta['attack']}_{meta['norm']}_eps{meta['eps']:g}_{meta['source']}"))
    return out


def example_grids(run_dir: Path, class_names: Sequence[str]) -> list[Path]:
    """One PNG per cell: rows clean / perturbation (amplified) / adversarial, with predicted class names."""
    def name(i: int) -> str:
        return class_names[i] if 0 <= i < len(class_names) else str(i)

    out = []
    for tensors, meta in _artifacts(run_dir, "examples_"):
        x, xa = tensors["x"], tensors["x_adv"]
        k = len(x)
        fig, axes = new_figure(3, k, figsize=(1.5 * k, 5.2), squeeze=False)
        delta = xa - x
        scale = max(float(np.abs(delta).max()), 1e-12)
        for j in range(k):
            for r, (img_t, title) in enumerate((
                    (x[j], f"clean: {name(int(tensors['pred_clean'][j]))}"),
                    (0.5 + delta[j] / (2 * scale), "perturbation"),
                    (xa[j], f"adv: {name(int(tensors['pred_adv'][j]))}"))):
                ax = axes[r, j]
                img, cmap = _image(np.clip(img_t, 0, 1))
                ax.imshow(img, cmap=cmap, vmin=0, vmax=1)
                ax.set_title(title, fontsize=6)
                ax.axis("off")
            if "target" in tensors:
                axes[2, j].set_title(f"adv: {name(int(tensors['pred_adv'][j]))}\n(target {name(int(tensors['target'][j]))})",
                                     fontsize=6)
        mode = "targeted" if meta["targeted"] else "untargeted"
        fig.suptitle(f"{meta['attack']} {meta['norm']} eps={meta['eps']:g} on {meta['source']} ({mode}); "
                     f"{AMPLIFY_NOTE}", fontsize=7)
        out.append(_save(fig, run_dir, f"examples_{meta['attack']}_{meta['norm']}_eps{meta['eps']:g}_"
                                       f"{meta['source']}_{mode}"))
    return out


def write_plots(run_dir: Path, class_names: Sequence[str]) -> list[Path]:
    """Every figure the run's artifacts allow."""
    return (class_visualization_grids(run_dir, class_names) + delta_grids(run_dir, class_names)
            + example_grids(run_dir, class_names))
