"""How numbers are shown in every table format (Markdown, HTML, LaTeX): percents and rates with one
decimal, SSIM with three, eps with four significant digits; and which value of a column is best."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

PERCENT_COLUMNS = {"fool_whitebox", "fool_transfer", "targeted_whitebox", "targeted_transfer", "clean_acc"}


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers as text for Markdown/terminal: percents and rates with one decimal, SSIM with three."""
    out = df.copy()
    for c in out.columns:
        if c == "eps":
            out[c] = out[c].map(lambda v: format(v, ".4g"))
        elif c == "ssim" or c.endswith(" ssim"):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
        elif c in ("linf_max",):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
        elif pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else ("inf" if np.isinf(v) else f"{v:.1f}"))
    return out


def best_mask(frame: pd.DataFrame, bold: Sequence[str] | str = ()) -> pd.DataFrame:
    """True where a value is the largest of its column, for the `bold` columns (or "all": every
    column after the first but eps); non-numeric columns have no best value."""
    columns = [c for c in frame.columns[1:] if c != "eps"] if bold == "all" else list(bold)
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
    "fool_whitebox": ("fooling rate (%)", "white-box"), "fool_transfer": ("fooling rate (%)", "transfer"),
    "targeted_whitebox": ("targeted success (%)", "white-box"),
    "targeted_transfer": ("targeted success (%)", "transfer"),
    "ssim": (None, "SSIM"), "psnr": (None, "PSNR (dB)"), "linf_max": (None, "max L∞"),
    "images_per_s": (None, "images/s"), "eps_values": (None, "ε run"), "eps_reached": (None, "ε reached"),
    "fooling_rate": (None, "fooling (%)"), "clean_acc": (None, "clean accuracy (%)"),
}
# ablation columns "<source> targeted" etc.: the source becomes the group
SUFFIX_HEADERS = {"targeted": "targeted (%)", "fooling": "fooling (%)", "ssim": "SSIM"}


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
