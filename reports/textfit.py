"""Text measured on the font, for figures laid out by hand: how wide a line draws, and titles
wrapped or cut to the room they have. A character count guesses wrong for wide letters (a title
of capitals is twice as wide as one of lower case), and a title wider than its room runs into its
neighbour or off the figure."""
from __future__ import annotations

from functools import lru_cache

from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path

ELLIPSIS = "…"


@lru_cache(maxsize=4096)  # grids repeat their titles ("perturbation", class names): each measured once
def text_width_in(text: str, fontsize: float) -> float:
    """Width in inches of one line of `text` at `fontsize` points, with 5% to spare (Agg's hinting draws
    a little wider than the font's outlines measure)."""
    width_pt, _, _ = text_to_path.get_text_width_height_descent(text, FontProperties(size=fontsize), ismath=False)
    return 1.05 * width_pt / 72


def wrap_to_width(text: str, width_in: float, fontsize: float) -> str:
    """`text` broken at spaces into lines no wider than `width_in` inches at `fontsize` (a word wider than
    the line on its own is cut between characters). Titles are drawn centred, so a line wider than its
    figure loses both ends, as a one-attack figure's title once did."""
    lines: list[str] = []
    for word in text.split(" "):
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and text_width_in(candidate, fontsize) <= width_in:
            lines[-1] = candidate
            continue
        while len(word) > 1 and text_width_in(word, fontsize) > width_in:
            cut = max(_fitting_length(word, width_in, fontsize), 1)
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    return "\n".join(lines)


def cut_to_width(text: str, width_in: float, fontsize: float) -> str:
    """Each line of `text` kept whole when it fits `width_in` inches at `fontsize`, else cut to the longest
    start that fits with an ellipsis (a panel title that never runs into its neighbour's)."""
    out = []
    for line in text.split("\n"):
        if text_width_in(line, fontsize) > width_in:
            line = line[:_fitting_length(line, width_in, fontsize, ELLIPSIS)].rstrip() + ELLIPSIS
        out.append(line)
    return "\n".join(out)


def _fitting_length(text: str, width_in: float, fontsize: float, end: str = "") -> int:
    """The length of the longest start of `text` (less than all of it, which is too wide) that fits `width_in`
    with `end` after it; 0 when none does. A binary search: widths grow with the length."""
    lo, hi = 0, len(text)  # the answer is in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if text_width_in(text[:mid].rstrip() + end, fontsize) <= width_in else (lo, mid)
    return lo


def lines_in(text: str, fontsize: float) -> float:
    """Height in inches of `text`'s lines at `fontsize` (matplotlib's line spacing, 1.2, and a little)."""
    return (text.count("\n") + 1) * fontsize * 1.25 / 72
