"""Every limit on what a phone may send, in one table (stdlib only).

The op checks (sync/ops.py), the sync request schemas (server/syncing/schemas.py) and the column
sizes of the tables the ops land in (server/models) derive from this module or are tested against
it (tests/sync/test_limits.py); the phone's checks (static/js/ops.js) are tested equal to
spec/limits.json, which is this table written out (``python -m sync.limits > spec/limits.json``).
Each figure is what the database can store on both SQLite and PostgreSQL: a value the checks let
through is a value the tables keep.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

# PostgreSQL's INTEGER: the ids, sequence numbers and fen columns are 32-bit.
INT32_MAX = 2**31 - 1

MAX_BATCH = 500  # ops per push
MAX_PHOTOS = 20  # photos per damage record
MAX_QTY = 10_000  # parts per line
# 10 million yuan: far above any visit's bill, and within the 32-bit fen columns.
MAX_FEN = 1_000_000_000
MAX_ID = INT32_MAX  # visit_id, equipment_id
MAX_SEQ = INT32_MAX  # an op's seq; a phone that made two billion ops has other problems
MAX_SCHEMA_VERSION = INT32_MAX
# How deeply any JSON request body may nest; an op is four levels deep.
MAX_JSON_DEPTH = 32

SHORT = 100  # codes, names
TEXT = 2000  # notes, descriptions, comments
REASON = 500  # reasons for a void, a waiver, a late arrival
RECEIPT_NO = 40  # KIND-PREFIX-SEQ, e.g. R-K7Q2-000123
# The sequence part of a receipt number: digits, at most as many as 2**53 - 1 has (the phone's
# integers are exact up to there).
RECEIPT_SEQ_DIGITS = 16

# Longest string per op field: "envelope" holds the fields every op has; the rest are by kind.
TEXT_LIMITS: dict[str, dict[str, int]] = {
    "envelope": {"record_id": 80, "hlc": 80, "device_time": 40},
    "visit.transition": {"late_reason": REASON, "outcome_summary": TEXT, "explanation": TEXT},
    "checklist.set": {"item_id": 64, "note": TEXT},
    "part.add": {"part_code": SHORT, "description": TEXT},
    "payment.record": {"payer": SHORT, "receipt_no": RECEIPT_NO},
    "payment.void": {"reason": REASON},
    "charge.waive": {"reason": REASON},
    "equipment_receipt.issue": {
        "receipt_no": RECEIPT_NO,
        "description": TEXT,
        "brand": SHORT,
        "model": SHORT,
        "serial": SHORT,
        "accessories": TEXT,
        "condition": TEXT,
        "customer_name": SHORT,
    },
    "damage.record": {"brand": SHORT, "model": SHORT, "description": TEXT},
    "feedback.submit": {"comments": TEXT},
    "signoff.sign": {"customer_name": SHORT, "signed_hlc": 80},
    "payment.promise": {"payer": SHORT, "note": TEXT},
}

# Smallest and largest value per integer op field.
INT_LIMITS: dict[str, dict[str, tuple[int, int]]] = {
    "envelope": {
        "seq": (1, MAX_SEQ),
        "visit_id": (1, MAX_ID),
        "schema_version": (0, MAX_SCHEMA_VERSION),
    },
    "part.add": {"qty": (1, MAX_QTY), "unit_cost_fen": (0, MAX_FEN)},
    "payment.record": {"amount_fen": (1, MAX_FEN)},
    "charge.waive": {"amount_fen": (0, MAX_FEN)},
    "damage.record": {"equipment_id": (1, MAX_ID)},
    "feedback.submit": {"satisfaction": (1, 5)},
    "payment.promise": {"amount_fen": (1, MAX_FEN)},
}

# The sync request bodies around the ops.
REQUEST_LIMITS: dict[str, int] = {
    "device_id": 36,
    "app_version": 40,
    "epoch": 40,
    "cursor": 100,
    "pull_limit": 1000,
    "blob_bytes": 2 * 1024 * 1024,
}

# What a phone may upload as a blob (signatures are PNG, photos JPEG; WebP where a browser makes
# it): the upload accepts these and the office shows these in its pages, nothing else.
BLOB_TYPES = ("image/jpeg", "image/png", "image/webp")


def text_limit(kind: str, name: str) -> int:
    """Return the longest string field `name` of op `kind` (or of the envelope) may hold."""
    return TEXT_LIMITS[kind][name]


def int_limit(kind: str, name: str) -> tuple[int, int]:
    """Return the (smallest, largest) value integer field `name` of op `kind` may hold."""
    return INT_LIMITS[kind][name]


# Searched in C: every text field of every op passes through here.
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Return why `value` cannot be kept as text, or None when it can.

    A NUL cannot be stored by PostgreSQL, and a lone UTF-16 surrogate (U+D800..U+DFFF, which JSON
    can carry as "\\udfff") is not valid Unicode: it cannot be encoded as UTF-8, so it breaks every
    page that shows it. Every text field a client sends is checked with this.
    """
    if "\x00" in value:
        return "must not contain a NUL character"
    if _SURROGATE.search(value) is not None:
        return "must be valid Unicode text (it holds a lone surrogate)"
    return None


def clean_text(value: str) -> str:
    """Return `value` with NULs and lone surrogates replaced by U+FFFD, so it can be stored."""
    return _UNSTORABLE.sub("\ufffd", value)


def storable(value: Any, depth: int = 0) -> Any:
    """Return a JSON value as the database can keep it, as close to what was sent as possible.

    Used for what is kept "as sent" (every op a push records, a reason quoting it): bad text is
    replaced (``clean_text``), non-finite numbers and integers beyond 64 bits become strings,
    and nesting deeper than MAX_JSON_DEPTH is cut off.
    """
    if depth == 0 and _already_storable(value):
        return value
    return _storable(value, depth)


# Digits enough for an integer of 64 bits or more (2**63 has 19); in text too, which is harmless.
# ASCII digits only, as JSON writes numbers: `\d` (every Unicode digit) searched a push's op
# text at half the speed, and this search is most of what checking an op costs.
_LONG_DIGITS = re.compile(r"[0-9]{19}")


def _already_storable(value: Any) -> bool:
    """Whether `value` would come out of `_storable` as the same JSON (nearly every op does).

    One encoding in C and three scans of its text instead of a walk in Python: a push records
    every op it gets. Conservative: anything it cannot rule out is left to `_storable`.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, check_circular=False)
    except (TypeError, ValueError, RecursionError):
        return False  # NaN or infinity, something JSON cannot hold, or absurd nesting
    return (
        # Nesting is at most the number of brackets, quoted ones included.
        text.count("{") + text.count("[") <= MAX_JSON_DEPTH
        # JSON writes a NUL escaped (lone surrogates it writes as they are).
        and "\\u0000" not in text
        and _SURROGATE.search(text) is None
        and _LONG_DIGITS.search(text) is None
    )


def _storable(value: Any, depth: int) -> Any:
    if depth > MAX_JSON_DEPTH:
        return "<nested too deeply>"
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else "<integer too large>"
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v, depth + 1) for v in value]
    return clean_text(repr(value))


def as_json() -> dict[str, Any]:
    """Return the table as spec/limits.json holds it (the phone's checks are tested against it)."""
    return {
        "text": TEXT_LIMITS,
        "int": {k: {f: list(b) for f, b in v.items()} for k, v in INT_LIMITS.items()},
        "request": REQUEST_LIMITS,
        "blob_types": list(BLOB_TYPES),
        "max_batch": MAX_BATCH,
        "max_photos": MAX_PHOTOS,
        "max_json_depth": MAX_JSON_DEPTH,
        "receipt_seq_digits": RECEIPT_SEQ_DIGITS,
    }


if __name__ == "__main__":
    json.dump(as_json(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
