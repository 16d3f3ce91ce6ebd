"""What a visit costs the customer, in integer fen (S2, S3)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

CURRENCY = "CNY"
# The phone computes the same sums in JavaScript, whose numbers are exact only up to 2**53 - 1.
MAX_FEN = 2**53 - 1
PART_KINDS = ("used", "replaced", "returned")
# A returned part is the faulty one brought back to the office (S31): never charged.
CHARGED_KINDS = ("used", "replaced")


@dataclass(frozen=True)
class PartLine:
    """One parts line of a visit, as the technician logged it."""

    kind: str
    qty: int
    unit_cost_fen: int
    reversed: bool = False


@dataclass(frozen=True)
class Charges:
    """The amounts owed for one visit, all in fen."""

    parts_fen: int
    fee_fen: int
    waived_fen: int
    total_fen: int
    currency: str = CURRENCY

    def as_dict(self) -> dict[str, str | int]:
        """Return the shape that goes into the visit digest, keys in a fixed order."""
        return {
            "currency": self.currency,
            "parts_fen": self.parts_fen,
            "fee_fen": self.fee_fen,
            "waived_fen": self.waived_fen,
            "total_fen": self.total_fen,
        }


def _int(value: object, field: str, *, minimum: int = 0) -> int:
    # bool is an int subclass; True fen would be a bug upstream, not one fen.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{field} must be an integer, got {type(value).__name__}")
    if value < minimum or value > MAX_FEN:
        raise ValueError(f"{field} must be between {minimum} and {MAX_FEN}, got {value}")
    return value


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{field} must be a bool, got {type(value).__name__}")
    return value


def _safe(value: int, field: str) -> int:
    if value > MAX_FEN:
        raise ValueError(f"{field} exceeds {MAX_FEN}")
    return value


def compute_charges(
    in_warranty: bool,
    parts: Sequence[PartLine],
    onsite_fee_fen: int,
    inspection_only: bool,
    waived_fen: int = 0,
) -> Charges:
    """Return what the customer owes for a visit.

    In warranty everything is free (S2). Out of warranty, parts used or replaced are charged at
    the manufacturer's cost that `unit_cost_fen` records, and the on-site fee applies unless the
    visit was an inspection only (S3). Raises TypeError or ValueError naming the bad field.
    """
    _bool(in_warranty, "in_warranty")
    _bool(inspection_only, "inspection_only")
    _int(onsite_fee_fen, "onsite_fee_fen")
    _int(waived_fen, "waived_fen")
    parts_fen = 0
    for i, line in enumerate(parts):
        field = f"parts[{i}]"
        if line.kind not in PART_KINDS:
            raise ValueError(f"{field}.kind must be one of {', '.join(PART_KINDS)}")
        qty = _int(line.qty, f"{field}.qty", minimum=1)
        unit = _int(line.unit_cost_fen, f"{field}.unit_cost_fen")
        # Validate reversed lines too: bad data is bad even when it does not count.
        if _bool(line.reversed, f"{field}.reversed") or line.kind not in CHARGED_KINDS:
            continue
        parts_fen = _safe(parts_fen + _safe(qty * unit, f"{field} amount"), "parts_fen")

    if in_warranty:
        parts_fen, fee_fen = 0, 0
    else:
        fee_fen = 0 if inspection_only else onsite_fee_fen
    gross = _safe(parts_fen + fee_fen, "parts_fen + fee_fen")
    if waived_fen > gross:
        raise ValueError(f"waived_fen must not exceed parts + fee ({gross}), got {waived_fen}")
    return Charges(parts_fen, fee_fen, waived_fen, gross - waived_fen)


def format_fen(fen: int, locale: str = "zh-CN") -> str:
    """Return fen as a display amount such as "¥1,234.50", by integer arithmetic only.

    Every supported locale shows yuan the same way; `locale` is taken so callers need not change
    if one ever differs.
    """
    if not isinstance(locale, str):
        raise TypeError("locale must be a str")
    _int(fen, "fen", minimum=-MAX_FEN)
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


# An amount typed in yuan: grouping commas (ASCII or full-width) and spaces are ignored, one
# leading yuan sign (half- or full-width) is allowed, at most two decimals, no sign. The phone's
# parseYuan (static/js/ops.js) follows the same rule; spec/vectors/yuan.json holds both to it.
_YUAN = re.compile(r"[¥￥]?([0-9]{1,12})(?:\.([0-9]{1,2}))?")
_YUAN_IGNORED = re.compile(r"[\s,，]")


def parse_yuan(text: str, max_fen: int) -> int:
    """Return fen for an amount typed in yuan ("1,234.5" -> 123450), by integer arithmetic.

    Raises ValueError for anything else: blank, negative, more than two decimals, letters, or
    more than `max_fen` (callers pass the ops' own ceiling, sync.limits.MAX_FEN).
    """
    match = _YUAN.fullmatch(_YUAN_IGNORED.sub("", text))
    if match is None:
        raise ValueError(f"not an amount in yuan: {text!r}")
    yuan, cents = match.groups()
    fen = int(yuan) * 100 + int((cents or "").ljust(2, "0"))
    if fen > max_fen:
        raise ValueError(f"more than {max_fen // 100} yuan: {text!r}")
    return fen


def yuan_text(fen: int) -> str:
    """Return fen as a plain yuan amount for a form field or CSV ("1234.50", "-0.05")."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{cents:02d}"
