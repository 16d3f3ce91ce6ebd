"""Operations on the wire: parsing and field-level validation, stdlib only."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sync import hlc
from sync.merge import DEVICE_TRANSITIONS

MAX_BATCH = 500
CURRENT_SCHEMA_VERSION = 1

# Caps keep one op small enough to store and show; they are generous for real field work.
SHORT = 100  # codes, names, receipt numbers
TEXT = 2000  # notes, descriptions, comments
REASON = 500
MAX_PHOTOS = 20
MAX_QTY = 10_000
MAX_FEN = 10_000_000_000  # 100 million yuan: far above any visit, far below 2**53

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
ITEM_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")

KINDS = (
    "visit.transition",
    "checklist.set",
    "part.add",
    "payment.record",
    "payment.void",
    "charge.waive",
    "equipment_receipt.issue",
    "damage.record",
    "feedback.submit",
    "signoff.sign",
    "payment.promise",
)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, named by its dotted path (e.g. payload.amount_fen)."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationError(ValueError):
    """An op that cannot be applied as sent; str() is a reason a person can read."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Op:
    """A validated operation; payload holds exactly the kind's fields, normalised."""

    op_id: str
    seq: int
    kind: str
    record_id: str
    visit_id: int
    hlc: str
    schema_version: int
    payload: dict[str, Any]
    device_time: str

    def blob_refs(self) -> list[str]:
        """Return the blob hashes this op refers to, in payload order."""
        p = self.payload
        refs: list[str | None] = []
        if self.kind in ("equipment_receipt.issue", "signoff.sign"):
            refs.append(p["signature_blob"])
        elif self.kind == "damage.record":
            refs += [p["purchase_proof_blob"], p["warranty_card_blob"], *p["photo_blobs"]]
        return [r for r in refs if r is not None]


# --- field checkers: each returns the normalised value or raises _Bad with a message ---


class _Bad(Exception):
    pass


Check = Callable[[Any], Any]


def _int(lo: int, hi: int) -> Check:
    def check(v: Any) -> int:
        # bool is an int in Python; true is not a quantity.
        if isinstance(v, bool) or not isinstance(v, int):
            raise _Bad(f"must be an integer from {lo} to {hi}")
        if not lo <= v <= hi:
            raise _Bad(f"must be from {lo} to {hi} (got {v})")
        return v

    return check


def _str(max_len: int, *, nonempty: bool = False, pattern: re.Pattern[str] | None = None) -> Check:
    def check(v: Any) -> str:
        if not isinstance(v, str):
            raise _Bad("must be a string")
        if len(v) > max_len:
            raise _Bad(f"must be at most {max_len} characters")
        if nonempty and not v.strip():
            raise _Bad("is required and must not be blank")
        if pattern is not None and pattern.fullmatch(v) is None:
            raise _Bad(f"is not a valid value ({v[:80]!r})")
        return v

    return check


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Bad("must be true or false")
    return v


def _enum(*allowed: str) -> Check:
    def check(v: Any) -> str:
        if v not in allowed:
            raise _Bad(f"must be one of {', '.join(allowed)}")
        return v

    return check


def _nullable(inner: Check) -> Check:
    def check(v: Any) -> Any:
        return None if v is None else inner(v)

    return check


def _list(inner: Check, max_items: int) -> Check:
    def check(v: Any) -> list[Any]:
        if not isinstance(v, list):
            raise _Bad("must be a list")
        if len(v) > max_items:
            raise _Bad(f"must have at most {max_items} items")
        out = []
        for i, item in enumerate(v):
            try:
                out.append(inner(item))
            except _Bad as e:
                raise _Bad(f"item {i} {e}") from None
        return out

    return check


def _hlc(v: Any) -> str:
    try:
        hlc.parse(v)
    except hlc.HLCError as e:
        raise _Bad(str(e)) from None
    return v


def _iso_datetime(v: Any) -> str:
    if not isinstance(v, str) or len(v) > 40:
        raise _Bad("must be an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(v)
    except ValueError:
        raise _Bad("must be an ISO 8601 date-time with offset") from None
    if parsed.tzinfo is None:
        raise _Bad("must carry a UTC offset, e.g. +08:00")
    return v


def _iso_date(v: Any) -> str:
    if not isinstance(v, str) or len(v) != 10:
        raise _Bad("must be a date, YYYY-MM-DD")
    try:
        date.fromisoformat(v)
    except ValueError:
        raise _Bad("must be a date, YYYY-MM-DD") from None
    return v


_uuid = _str(36, pattern=UUID_RE)
_sha = _str(64, pattern=SHA256_RE)
_fen = _int(1, MAX_FEN)

PAYLOADS: dict[str, dict[str, Check]] = {
    "visit.transition": {
        "to": _enum(*DEVICE_TRANSITIONS),
        "late_reason": _nullable(_str(REASON)),
        "customer_informed": _nullable(_bool),
        "permission_granted": _nullable(_bool),
        "outcome_summary": _nullable(_str(TEXT)),
        "explanation": _nullable(_str(TEXT)),
        "escalate": _nullable(_bool),
    },
    "checklist.set": {
        "item_id": _str(64, pattern=ITEM_ID_RE),
        "state": _enum("done", "na", "open"),
        "note": _str(TEXT),
    },
    "part.add": {
        "kind": _enum("used", "replaced", "returned"),
        "part_code": _str(SHORT, nonempty=True),
        "description": _str(TEXT),
        "qty": _int(1, MAX_QTY),
        "unit_cost_fen": _int(0, MAX_FEN),
        "reverses": _nullable(_uuid),
    },
    "payment.record": {
        "method": _enum("cash", "wechat", "alipay", "card", "bank_transfer"),
        "amount_fen": _fen,
        "currency": _enum("CNY"),
        "payer": _str(SHORT),
        "receipt_no": _str(SHORT, nonempty=True),
    },
    "payment.void": {"payment_id": _uuid, "reason": _str(REASON, nonempty=True)},
    "charge.waive": {"amount_fen": _int(0, MAX_FEN), "reason": _str(REASON, nonempty=True)},
    "equipment_receipt.issue": {
        "receipt_no": _str(SHORT, nonempty=True),
        "description": _str(TEXT, nonempty=True),
        "brand": _str(SHORT),
        "model": _str(SHORT),
        "serial": _str(SHORT),
        "accessories": _str(TEXT),
        "condition": _str(TEXT),
        "customer_name": _str(SHORT, nonempty=True),
        "signature_blob": _nullable(_sha),
    },
    "damage.record": {
        "equipment_id": _nullable(_int(1, 2**53 - 1)),
        "brand": _str(SHORT, nonempty=True),
        "model": _str(SHORT, nonempty=True),
        "description": _str(TEXT),
        "warranty_claimed": _bool,
        "purchase_proof_blob": _nullable(_sha),
        "warranty_card_blob": _nullable(_sha),
        "photo_blobs": _list(_sha, MAX_PHOTOS),
    },
    "feedback.submit": {"satisfaction": _int(1, 5), "comments": _str(TEXT)},
    "signoff.sign": {
        "customer_name": _str(SHORT, nonempty=True),
        "signature_blob": _sha,
        "digest": _sha,
        "signed_hlc": _hlc,
    },
}

# Money the customer will pay later, not on site: who pays, how, how much, by when. Finance
# records the transfer against the visit when it sees it (server.services.finance_promises).
PAYLOADS["payment.promise"] = {
    "method": _enum("bank_transfer", "wechat", "alipay", "card", "cash"),
    "amount_fen": _fen,
    "payer": _str(SHORT, nonempty=True),
    "due_on": _iso_date,
    "note": _str(TEXT),
}

ENVELOPE: dict[str, Check] = {
    "op_id": _uuid,
    "seq": _int(1, 2**53 - 1),
    "kind": _enum(*KINDS),
    "record_id": _str(SHORT + 64, nonempty=True),
    "visit_id": _int(1, 2**53 - 1),
    "hlc": _hlc,
    "schema_version": _int(0, 2**31 - 1),
    "payload": lambda v: v,  # checked per kind below
    "device_time": _iso_datetime,
}


def _check_fields(
    data: Any, spec: Mapping[str, Check], prefix: str, errors: list[FieldError]
) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        errors.append(FieldError(prefix.rstrip(".") or "op", "must be an object"))
        return {}
    out: dict[str, Any] = {}
    for name, check in spec.items():
        if name not in data:
            errors.append(FieldError(prefix + name, "is required"))
            continue
        try:
            out[name] = check(data[name])
        except _Bad as e:
            errors.append(FieldError(prefix + name, str(e)))
    for name in data:
        if name not in spec:
            # Unknown fields are refused: a newer app sends a newer schema_version instead.
            errors.append(FieldError(prefix + str(name), "is not a known field"))
    return out


def parse_op(raw: Any, device_id: str) -> Op:
    """Validate a current-version op from device_id; raise ValidationError naming each field."""
    errors: list[FieldError] = []
    env = _check_fields(raw, ENVELOPE, "", errors)
    kind = env.get("kind")
    payload: dict[str, Any] = {}
    if kind is not None:
        payload = _check_fields(raw.get("payload"), PAYLOADS[kind], "payload.", errors)
    if "hlc" in env and hlc.parse(env["hlc"]).node != device_id:
        errors.append(FieldError("hlc", "node must be the sending device's id"))
    if kind is not None and "record_id" in env:
        _check_record_id(kind, env["record_id"], env.get("visit_id"), payload, errors)
    if errors:
        raise ValidationError(errors)
    return Op(**{**env, "payload": payload})


def _check_record_id(
    kind: str,
    record_id: str,
    visit_id: int | None,
    payload: dict[str, Any],
    errors: list[FieldError],
) -> None:
    if kind == "checklist.set":
        if "item_id" in payload and visit_id is not None:
            expected = f"{visit_id}:{payload['item_id']}"
            if record_id != expected:
                errors.append(FieldError("record_id", f"must be {expected!r} for this item"))
    elif kind != "visit.transition" and UUID_RE.fullmatch(record_id) is None:
        errors.append(FieldError("record_id", "must be a lowercase UUID"))


@dataclass(frozen=True)
class Envelope:
    """The sequencing fields of an op, readable even when the rest of it is not."""

    op_id: str | None
    seq: int | None
    schema_version: int | None
    raw: Any = field(repr=False)


def read_envelope(raw: Any) -> Envelope:
    """Read op_id, seq and schema_version without validating anything else."""
    if not isinstance(raw, Mapping):
        return Envelope(None, None, None, raw)

    def pick(name: str, check: Check) -> Any:
        try:
            return check(raw.get(name))
        except _Bad:
            return None

    return Envelope(
        pick("op_id", _uuid),
        pick("seq", ENVELOPE["seq"]),
        pick("schema_version", ENVELOPE["schema_version"]),
        raw,
    )
