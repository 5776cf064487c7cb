"""Quoting a library's error inside a one-line user error."""
from __future__ import annotations


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of an exception's message (its type name when the message is empty), cut to
    `limit` characters: how a library's error is quoted inside a one-line user error."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if limit is None else text[:limit]
