"""The report formats a run folder can hold, and which of them a run writes: parsed here, without
`reports`' heavy imports, so that `bench run` rejects a bad one before it computes anything."""
from __future__ import annotations

import os

from common.text import guess_in_parens

FORMATS = ("csv", "latex", "markdown", "plots", "html", "pdf")
# the short names users type for a format (a file suffix): read as the format they name
ALIASES = {"md": "markdown", "tex": "latex", "png": "plots", "htm": "html"}
ENV = "BENCH_FORMAT"  # the formats `bench run` and `bench merge` write when none is given


def parse_formats(text: str | None, where: str = "") -> tuple[str, ...]:
    """`all` (or nothing) or a comma-separated subset of FORMATS (or their ALIASES, any case), each once,
    in the order given; raises ValueError naming the bad one (and `where` it was given, e.g. the
    environment variable)."""
    if not text or text.strip().lower() == "all":
        return FORMATS
    given = (t.strip().lower() for t in text.split(",") if t.strip())
    chosen = tuple(dict.fromkeys(ALIASES.get(t, t) for t in given))
    for f in chosen:
        if f not in FORMATS:
            hint = guess_in_parens(f, FORMATS, cutoff=0.6)  # "xls" is not a misspelt "plots"
            raise ValueError(f"unknown report format {f!r}{hint}{where}; choose from all, {', '.join(FORMATS)}")
    return chosen


def run_formats(text: str | None = None) -> tuple[str, ...]:
    """What a run writes: `text` when given, else $BENCH_FORMAT, else all of them; with no `text`,
    BENCH_PDF=0 leaves out the PDF (pdflatex takes seconds a run)."""
    if text is not None:
        return parse_formats(text)
    chosen = parse_formats(os.environ.get(ENV), f" in ${ENV}")
    return tuple(f for f in chosen if f != "pdf" or os.environ.get("BENCH_PDF", "1") != "0")
