"""How numbers are shown in every table format (Markdown, HTML, LaTeX): percents and rates with one
decimal, SSIM with three, eps with four significant digits, a rate with interval bounds (`c_lo`,
`c_hi` beside `c`) as `93.6 ± 1.5` (half the interval's width); and which value of a column is best."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

PLUS_MINUS = "±"


def bound_columns(columns: Sequence[str]) -> set[str]:
    """The `<c>_lo` / `<c>_hi` columns that belong to a column `c` of the same frame."""
    names = set(map(str, columns))
    return {c for c in names if (c.endswith("_lo") or c.endswith("_hi")) and c[:-3] in names}


def _with_interval(value: float, lo: float, hi: float) -> str:
    if pd.isna(value):
        return ""
    if pd.isna(lo) or pd.isna(hi):
        return f"{value:.1f}"
    return f"{value:.1f} {PLUS_MINUS} {(hi - lo) / 2:.1f}"


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers as text for Markdown/terminal: percents and rates with one decimal (with `± half-width`
    where the frame has the column's interval bounds), SSIM with three."""
    bounds = bound_columns(df.columns)
    out = df.copy()
    for c in out.columns:
        if c in bounds:
            continue
        if f"{c}_lo" in bounds and f"{c}_hi" in bounds:
            out[c] = [_with_interval(v, lo, hi) for v, lo, hi in zip(df[c], df[f"{c}_lo"], df[f"{c}_hi"])]
            continue
        if c == "eps":
            out[c] = out[c].map(lambda v: format(v, ".4g"))
        elif c == "ssim" or c.endswith(" ssim"):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
        elif c in ("linf_max",):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
        elif pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else ("inf" if np.isinf(v) else f"{v:.1f}"))
    return out.drop(columns=sorted(bounds))


def best_mask(frame: pd.DataFrame, bold: Sequence[str] | str = ()) -> pd.DataFrame:
    """True where a value is the largest of its column, for the `bold` columns (or "all": every
    column after the first but eps); non-numeric columns have no best value."""
    bounds = bound_columns(frame.columns)
    columns = [c for c in frame.columns[1:] if c != "eps" and c not in bounds] if bold == "all" else list(bold)
    mask = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for c in columns:
        values = pd.to_numeric(frame[c], errors="coerce") if c in frame.columns else pd.Series(dtype=float)
        if values.notna().any():
            mask[c] = values == values.max()
    return mask


# column -> (group header or None, header), plain text with units; HTML shows them as they are,
# LaTeX escapes them and sets the symbols in math (`reports.latex`)
HEADERS: dict[str, tuple[str | None, str]] = {
    "attack": (None, "attack"), "variant": (None, "variant"), "norm": (None, "norm"), "eps": (None, "ε"),
    "source": (None, "source"), "model": (None, "model"),
    "success_whitebox": ("untargeted success (%)", "white-box"),
    "success_transfer": ("untargeted success (%)", "transfer"),
    "targeted_whitebox": ("targeted success (%)", "white-box"),
    "targeted_transfer": ("targeted success (%)", "transfer"),
    "robust_whitebox": ("robust accuracy (%)", "white-box"),
    "ssim": (None, "SSIM"), "psnr": (None, "PSNR (dB)"), "linf_max": (None, "max L∞"),
    "images_per_s": (None, "images/s"), "fit_s": (None, "fit (s)"),
    "eps_values": (None, "ε run"), "eps_reached": (None, "ε reached"),
    "fooling_rate": (None, "fooling (%)"), "clean_acc": (None, "clean accuracy (%)"),
    "success": (None, "success (%)"), "mode": (None, "mode"), "seed_mean": (None, "mean (%)"),
    "seed_sd": (None, "sd"),
}
# ablation columns "<source> targeted" etc.: the source becomes the group
SUFFIX_HEADERS = {"targeted": "targeted (%)", "untargeted": "untargeted (%)", "ssim": "SSIM"}


def column_header(column: str) -> tuple[str | None, str]:
    """(group, header) of a table column, plain text."""
    if column in HEADERS:
        return HEADERS[column]
    head, _, tail = str(column).rpartition(" ")
    if head and tail in SUFFIX_HEADERS:
        return head, SUFFIX_HEADERS[tail]
    return None, str(column)


def header_groups(columns: Sequence[str]) -> list[tuple[str | None, int, int]]:
    """Runs of adjacent columns sharing a group: (group or None, first index, last index)."""
    heads = [column_header(c)[0] for c in columns]
    runs, i = [], 0
    while i < len(heads):
        j = i
        while heads[i] is not None and j + 1 < len(heads) and heads[j + 1] == heads[i]:
            j += 1
        runs.append((heads[i], i, j))
        i = j + 1
    return runs
