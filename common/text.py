"""Short texts shared by log lines, tables and errors: a library's error quoted in a one-line user error,
an unknown name with "did you mean", a speed, a machine setup, a file size, an age, an attack's label."""
from __future__ import annotations

import difflib
import re
from typing import Any, Iterable, Mapping, Sequence

from .eps import pixel_fraction


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of an exception's message (its type name when the message is empty), cut to
    `limit` characters: how a library's error is quoted inside a one-line user error."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if limit is None else text[:limit]


def speed_text(images_per_second: float) -> str:
    """Images per second as shown in log lines and README tables: whole numbers with thousands
    separators from 100 up, three significant digits below (AutoAttack's 0.3 is not "0")."""
    v = images_per_second
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def unknown_name_message(kind: str, name: str, choices: Iterable[str], list_command: str) -> str:
    """One line: the unknown name, close matches if any, and where to see all names."""
    return f"unknown {kind} {name!r}{did_you_mean(name, choices)} (`{list_command}` shows all)"


def close_names(name: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    """Up to `n` of `choices` that look like a misspelt `name`, closest first (difflib ratio >= `cutoff`)."""
    return difflib.get_close_matches(name, list(choices), n=n, cutoff=cutoff)


def did_you_mean(name: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.5) -> str:
    """"; did you mean 'a' or 'b'?" to end an error's first clause, or "" when nothing is close."""
    close = close_names(name, choices, n, cutoff)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def guess_in_parens(name: str, choices: Iterable[str], cutoff: float = 0.5) -> str:
    """" (did you mean 'a'?)" for a name in the middle of a sentence that goes on, or "" when nothing is close."""
    close = close_names(name, choices, 1, cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def machine_text(info: dict) -> str:
    """"cpu, 2 torch threads, AVX2" or "cuda:0, NVIDIA H200": what a result's floats depended on."""
    parts = [str(info.get("device"))]
    if info.get("gpu"):
        parts.append(info["gpu"])
    else:
        if info.get("torch_threads"):
            n = info["torch_threads"]
            parts.append(f"{n} torch thread{'s' * (n != 1)}")
        if info.get("cpu_capability"):
            parts.append(info["cpu_capability"])
    return ", ".join(parts)


def size_text(n: int) -> str:
    """Bytes as "795 kB", "743 MB", "2.1 GB" (decimal units, like `du --si`)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"


def age_text(seconds: float) -> str:
    """A duration as "12 min", "5 h" or "3 d"."""
    if seconds < 3600:
        return f"{max(seconds, 0) / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def aligned(rows: Sequence[Sequence[object]]) -> str:
    """Rows (the first one a header) as left-aligned columns two spaces apart: the listings' tables."""
    texts = [[str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in texts) for i in range(len(texts[0]))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in texts)


def param_text(value: Any) -> str:
    """A parameter value as a label shows it, read back to the same value by `bench.config.parse_value`: a
    number that is exactly k/255 (a step of pixel levels) as "k/255" where that is shorter than its digits."""
    return pixel_fraction(value) or str(value)


def attack_label(name: str, params: Mapping[str, Any], label: str = "") -> str:
    """How results name an attack: `label` if given, else the name, with its parameters when there are any
    (sorted): pgd[steps=20]. Shared by the run options and the reports, which import no `bench`."""
    if label:
        return label
    if not params:
        return name
    return name + "[" + ",".join(f"{k}={param_text(v)}" for k, v in sorted(params.items())) + "]"


def file_slug(text: str) -> str:
    """`text` as a portable file-name part: each run of characters other than letters, digits, `_`, `.`
    and `-` (the `:` and brackets of `torchattacks:MIFGSM[alpha=0.01]`) becomes one `-`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")
