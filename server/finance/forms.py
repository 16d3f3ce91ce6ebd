"""Reading the finance pages' forms: amounts typed in yuan become integer fen, exactly."""

from __future__ import annotations

import re
from datetime import timedelta

_YUAN_RE = re.compile(r"(\d{1,9})(?:\.(\d{1,2}))?")


def parse_yuan(text: str | None) -> int | None:
    """Return fen for an amount typed in yuan ("1,234.5" -> 123450); None when blank.

    Integer arithmetic only: "0.1" is 10 fen, never 9.999... Raises ValueError for anything
    else (negative numbers, more than two decimals, letters).
    """
    if text is None:
        return None
    cleaned = text.strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    if not cleaned:
        return None
    match = _YUAN_RE.fullmatch(cleaned)
    if match is None:
        raise ValueError(f"not an amount in yuan: {text!r}")
    yuan, cents = match.groups()
    return int(yuan) * 100 + int((cents or "0").ljust(2, "0"))


def yuan_text(fen: int) -> str:
    """Return fen as a plain yuan amount for a form field or CSV ("1234.50", "-0.05")."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{cents:02d}"


def duration_parts(delta: timedelta) -> tuple[int, int, int]:
    """Return (days, hours, minutes) of a non-negative duration, rounded down."""
    minutes = max(int(delta.total_seconds()) // 60, 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return days, hours, minutes
