"""Figures from the results table: transfer heatmaps (one per attack/eps/mode and one of small
multiples), rate-vs-eps curves and the SSIM-vs-fooling trade-off. Pure functions of the rows.

Every heatmap uses the same colour scale (0-100 %), so figures of different attacks can be put
side by side and compared by colour.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib import rcParams
from matplotlib.patches import Rectangle

from common.eps import eps_text

from .plots import _save, new_figure
from .tables import eps_tag, has_transfer, several_eps, summary_table, transfer_matrix
from .textfit import lines_in, text_width_in, wrap_to_width

CMAP = "viridis"
VMIN, VMAX = 0.0, 100.0  # shared colour scale of every heatmap (percent)


def _mode(targeted: bool) -> str:
    return "targeted success" if targeted else "untargeted success on correct"


def _heatmap(ax, m: pd.DataFrame, title: str, labels: bool = True):
    """Draw one sources x targets matrix (percent) with numbers in the cells and the diagonal outlined."""
    values = m.to_numpy(dtype=float)
    im = ax.imshow(values, cmap=CMAP, vmin=VMIN, vmax=VMAX)
    ax.set_xticks(range(len(m.columns)), [str(c) for c in m.columns], rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(m.index)), [str(i) for i in m.index] if labels else [""] * len(m.index), fontsize=7)
    for i, source in enumerate(m.index):
        for j, target in enumerate(m.columns):
            v = values[i, j]
            text = "" if math.isnan(v) else f"{v:.1f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="black" if not math.isnan(v) and v > 60 else "white")
            if source == target:  # white-box cell
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.8))
    ax.set_title(title, fontsize=8)
    return im


def _groups(df: pd.DataFrame):
    return df[["attack", "eps", "norm", "targeted"]].drop_duplicates().itertuples(index=False)


def transfer_heatmaps(df: pd.DataFrame, run_dir: Path) -> list[Path]:
    """One PNG per (attack, eps, norm, mode): `plots/heatmap_<attack>_<eps>[_<norm>][_targeted].png`."""
    out = []
    for attack, eps, norm, targeted in _groups(df):
        targeted = bool(targeted)
        m = transfer_matrix(df, attack, eps, norm, targeted)
        fig, ax = new_figure(figsize=(1.1 * len(m.columns) + 2.4, 0.8 * len(m.index) + 1.6))
        im = _heatmap(ax, m, "")
        ax.set_xlabel("target (evaluated)", fontsize=7)
        ax.set_ylabel("source (attacked white-box)", fontsize=7)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=7)
        fig.tight_layout()  # places the axes: their title is centred on them and must end inside the figure
        centre = (ax.get_position().x0 + ax.get_position().x1) / 2 * fig.get_figwidth()
        room = 2 * min(centre, fig.get_figwidth() - centre) - 0.2
        title = f"{attack} ({norm} eps={eps_text(eps)}): {_mode(targeted)} (%)"
        ax.set_title(wrap_to_width(title, room, 8), fontsize=8)
        out.append(_save(fig, run_dir, f"heatmap_{attack}_{_stem(eps, norm, targeted)}"))
    return out


def _stem(eps: float, norm: str, targeted: bool) -> str:
    return eps_tag(eps) + ("" if norm == "linf" else f"_{norm}") + ("_targeted" if targeted else "")


def small_multiples(df: pd.DataFrame, run_dir: Path) -> list[Path]:
    """One PNG per (eps, norm, mode) with every attack's heatmap side by side and one colour bar."""
    out = []
    for (eps, norm, targeted), g in df.groupby(["eps", "norm", "targeted"], sort=False):
        targeted = bool(targeted)
        names = list(dict.fromkeys(g.attack))
        cols = min(len(names), 4)
        rows = math.ceil(len(names) / cols)
        m0 = transfer_matrix(g, names[0], eps, norm, targeted)
        width = (1.0 * len(m0.columns) + 1.2) * cols + 1.0
        left, right, wspace = (rcParams[f"figure.subplot.{k}"] for k in ("left", "right", "wspace"))
        panel_w = (right - left) * width / (cols + wspace * (cols - 1))
        titles = [wrap_to_width(name, 0.95 * panel_w, 8) for name in names]
        title = wrap_to_width(f"{_mode(targeted)} (%), {norm} eps={eps_text(eps)}: rows source (white-box, outlined), "
                              "columns target", width - 0.3, 9)
        # the layout in inches: above the first row the title and the panel titles; below each row its target
        # names, slanted 30 degrees (and the next row's titles); so neither is cut or drawn over the other
        labels_in = 0.5 * max(text_width_in(str(t), 7) for t in m0.columns) + 0.2
        top_in = 0.1 + lines_in(title, 9) + max(lines_in(t, 8) for t in titles[:cols]) + 0.15
        gap_in = labels_in + max((lines_in(t, 8) for t in titles[cols:]), default=0.0) + 0.15
        panel_h, bottom_in = 0.8 * len(m0.index) + 0.6, labels_in + 0.05
        height = top_in + rows * panel_h + (rows - 1) * gap_in + bottom_in
        fig, axes = new_figure(rows, cols, figsize=(width, height), squeeze=False)
        fig.subplots_adjust(top=1 - top_in / height, bottom=bottom_in / height, hspace=gap_in / panel_h)
        im = None
        for k, ax in enumerate(axes.flat):
            if k >= len(names):
                ax.axis("off")
                continue
            im = _heatmap(ax, transfer_matrix(g, names[k], eps, norm, targeted), titles[k], labels=k % cols == 0)
        fig.suptitle(title, fontsize=9, y=1 - 0.1 / height, va="top")
        fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.02, pad=0.02).ax.tick_params(labelsize=7)
        out.append(_save(fig, run_dir, f"heatmaps_all_{_stem(eps, norm, targeted)}", tight=False))
    return out


CURVE_PANELS = (("success_whitebox", "success_transfer", "untargeted success on correct"),
                ("targeted_whitebox", "targeted_transfer", "targeted success"))


def eps_curves(df: pd.DataFrame, run_dir: Path) -> list[Path]:
    """Per norm: untargeted success (on correct images) and targeted success vs eps, white-box (solid) and mean transfer
    (dashed), one colour per attack; a mode the grid did not run gets no (empty) panel."""
    out = []
    r = summary_table(df)
    for norm, g in r.groupby("norm", sort=False):
        panels = [p for p in CURVE_PANELS if g[p[0]].notna().any()]
        if not panels:
            continue
        fig, axes = new_figure(1, len(panels), figsize=(4.5 * len(panels), 3.6), sharey=True, squeeze=False)
        for ax, (wb, tr, what) in zip(axes[0], panels):
            for i, (attack, ga) in enumerate(g.groupby("attack", sort=False)):
                ga = ga.sort_values("eps")
                color = f"C{i % 10}"
                ax.plot(ga.eps, ga[wb], "-o", color=color, label=f"{attack} white-box", markersize=4)
                if ga[tr].notna().any():
                    ax.plot(ga.eps, ga[tr], "--s", color=color, label=f"{attack} transfer", markersize=3)
            ax.set_xlabel(f"eps ({norm}, [0, 1] pixel scale)", fontsize=8)
            ax.set_title(what + " (%)", fontsize=9)
            ax.set_ylim(-2, 102)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
        axes[0, 0].set_ylabel("%", fontsize=8)
        axes[0, -1].legend(fontsize=6, loc="center left", bbox_to_anchor=(1.02, 0.5))
        out.append(_save(fig, run_dir, f"curves_eps_{norm}"))
    return out


def ssim_vs_fooling(df: pd.DataFrame, run_dir: Path) -> list[Path]:
    """Per norm: white-box untargeted success (targeted success in a targeted-only grid) against SSIM, one
    line per attack through its eps values (up and right is better: fools more while staying less
    perceptible)."""
    out = []
    r = summary_table(df)
    for norm, g in r.groupby("norm", sort=False):
        rate, what = (("success_whitebox", "white-box untargeted success on correct (%)")
                      if g.success_whitebox.notna().any() else ("targeted_whitebox", "white-box targeted success (%)"))
        fig, ax = new_figure(figsize=(5.5, 4))
        for i, (attack, ga) in enumerate(g.groupby("attack", sort=False)):
            ga = ga.sort_values("eps")
            ax.plot(ga.ssim, ga[rate], "-o", color=f"C{i % 10}", label=attack, markersize=4)
            for _, row in ga.iterrows():
                ax.annotate(f"{row.eps:.3g}", (row.ssim, row[rate]), fontsize=6, xytext=(3, 3),
                            textcoords="offset points")
        ax.set_xlabel("SSIM (clean vs adversarial, white-box)", fontsize=8)
        ax.set_ylabel(what, fontsize=8)
        ax.set_title(f"perceptibility vs effectiveness ({norm}; points labelled with eps)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
        out.append(_save(fig, run_dir, f"ssim_vs_fooling_{norm}"))
    return out


def write_figures(df: pd.DataFrame, run_dir: Path) -> list[Path]:
    """Every figure drawn from the results table (the artifact grids are in `plots.py`)."""
    if df.empty:
        return []
    out = small_multiples(df, run_dir) + transfer_heatmaps(df, run_dir) if has_transfer(df) else []
    if several_eps(df):  # with one eps the curves are one dot per line (the page says so instead)
        out += eps_curves(df, run_dir) + ssim_vs_fooling(df, run_dir)
    return out


__all__ = ["CMAP", "VMAX", "VMIN", "eps_curves", "small_multiples", "ssim_vs_fooling", "transfer_heatmaps",
           "write_figures"]
