"""Receipt numbers that stay unique across devices though issued offline (S21, S23).

A number is KIND-PREFIX-SEQ: the kind ("R" for a payment receipt, S23; "E" for a customer
equipment receipt, S21), the issuing device's own 4-character prefix, and that device's counter.
Two devices never share a prefix, so they can never issue the same number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# No 0/O, 1/I/L: a prefix is read aloud over the phone and copied by hand at finance.
PREFIX_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PREFIX_LENGTH = 4
PAYMENT = "R"
EQUIPMENT = "E"
KINDS = (PAYMENT, EQUIPMENT)
SEQ_DIGITS = 6
# The phone builds the same numbers in JavaScript, whose integers are exact only up to 2**53 - 1.
MAX_SEQ = 2**53 - 1

_PREFIX_RE = re.compile(f"[{PREFIX_ALPHABET}]{{{PREFIX_LENGTH}}}")
_NUMBER_RE = re.compile(f"([{''.join(KINDS)}])-([{PREFIX_ALPHABET}]{{{PREFIX_LENGTH}}})-([0-9]+)")


@dataclass(frozen=True)
class ReceiptNo:
    """The parts of a receipt number."""

    kind: str
    prefix: str
    seq: int


def _check_seq(seq: object, field: str) -> int:
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise TypeError(f"{field} must be an integer, got {type(seq).__name__}")
    if not 1 <= seq <= MAX_SEQ:
        raise ValueError(f"{field} must be between 1 and {MAX_SEQ}, got {seq}")
    return seq


def is_valid_prefix(prefix: object) -> bool:
    """Return whether prefix is a well-formed device receipt prefix."""
    return isinstance(prefix, str) and _PREFIX_RE.fullmatch(prefix) is not None


def format_receipt_no(prefix: str, seq: int, kind: str = PAYMENT) -> str:
    """Return the receipt number for a device's `seq`-th receipt of `kind`, e.g. R-K7Q2-000123."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
    if not is_valid_prefix(prefix):
        raise ValueError(f"prefix must be {PREFIX_LENGTH} characters from {PREFIX_ALPHABET}")
    _check_seq(seq, "seq")
    return f"{kind}-{prefix}-{seq:0{SEQ_DIGITS}d}"


def parse_receipt_no(text: str) -> ReceiptNo:
    """Return the parts of a receipt number; raise ValueError unless written exactly as formatted.

    Only the canonical spelling is accepted (no extra leading zeros, no lower case), so one
    receipt has one string and a uniqueness check on the string is a check on the receipt.
    """
    if not isinstance(text, str):
        raise TypeError("receipt number must be a str")
    match = _NUMBER_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a receipt number: {text!r}")
    kind, prefix, digits = match.groups()
    seq = int(digits)
    if seq < 1 or seq > MAX_SEQ or digits != f"{seq:0{SEQ_DIGITS}d}":
        raise ValueError(f"not a receipt number: {text!r}")
    return ReceiptNo(kind, prefix, seq)


# Many numbers at once, one per line: the canonical payment number's parts, or the whole line.
# SEQ_DIGITS digits (leading zeros allowed), or more without a leading zero, as format_receipt_no
# writes them; 16 digits at most (MAX_SEQ has 16).
_PAYMENT_LINES = re.compile(
    f"^(?:{PAYMENT}-([{PREFIX_ALPHABET}]{{{PREFIX_LENGTH}}})"
    f"-([0-9]{{{SEQ_DIGITS}}}|[1-9][0-9]{{{SEQ_DIGITS},15}})|(.*))$",
    re.MULTILINE,
)


def parse_payment_numbers(numbers: Sequence[str]) -> list[tuple[str, int] | None]:
    """Return (prefix, seq) of each canonical payment receipt number, None for any other.

    The rule of `parse_receipt_no` (kind R only), in one pass of a regular expression over all
    the numbers: a year of receipts is parsed in milliseconds, not one call per number.
    """
    if any("\n" in n or "\r" in n for n in numbers):
        return [_payment_parts(n) for n in numbers]
    out: list[tuple[str, int] | None] = []
    for prefix, digits, _other in _PAYMENT_LINES.findall("\n".join(numbers)) if numbers else ():
        seq = int(digits) if digits else 0
        out.append((prefix, seq) if 1 <= seq <= MAX_SEQ else None)
    if len(out) != len(numbers):  # never seen; the one-by-one rule is the reference
        return [_payment_parts(n) for n in numbers]
    return out


def _payment_parts(number: str) -> tuple[str, int] | None:
    try:
        parsed = parse_receipt_no(number)
    except (TypeError, ValueError):
        return None
    return (parsed.prefix, parsed.seq) if parsed.kind == PAYMENT else None


def find_gaps(seqs: Iterable[int]) -> list[int]:
    """Return the counter values missing between 1 and the highest one seen, in order.

    Finance flags these as missing receipts: a number was issued but never handed in.
    Duplicates are ignored here; uniqueness is the database's job.
    """
    seen = _checked_sorted(seqs)
    gaps: list[int] = []
    expected = 1
    for seq in seen:
        gaps.extend(range(expected, seq))
        expected = seq + 1
    return gaps


def _checked_sorted(seqs: Iterable[int]) -> list[int]:
    """The distinct counter values in order, each checked as `_check_seq` does.

    A year of one device's receipts is checked in bulk (types in one pass, the range at the
    ends of the sorted list) rather than by a call per value.
    """
    values = list(seqs)
    seen = sorted(set(values)) if all(type(seq) is int for seq in values) else None
    if seen is None or (seen and not (seen[0] >= 1 and seen[-1] <= MAX_SEQ)):
        return sorted({_check_seq(seq, "seqs[]") for seq in values})  # the precise error
    return seen


def find_gap_ranges(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """Return the runs of counter values missing between 1 and the highest seen, as (first, last).

    The work grows with the number of receipts, not with the numbers: one stray receipt numbered
    980620 is one range of 980,619 missing numbers, not a list of them.
    """
    seen = _checked_sorted(seqs)
    ranges: list[tuple[int, int]] = []
    expected = 1
    for seq in seen:
        if seq > expected:
            ranges.append((expected, seq - 1))
        expected = seq + 1
    return ranges
