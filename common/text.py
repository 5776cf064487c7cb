"""Short texts shared by log lines and tables: a library's error quoted in a one-line user error, a speed."""
from __future__ import annotations


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
