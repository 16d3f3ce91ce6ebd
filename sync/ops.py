"""Operations on the wire: parsing and field-level validation, stdlib only."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sync import hlc
from sync.limits import MAX_BATCH as MAX_BATCH  # the engine's import; the figure is in limits
from sync.limits import (
    MAX_PHOTOS,
    clean_text,
    int_limit,
    text_limit,
    text_problem,
)
from sync.merge import DEVICE_TRANSITIONS

CURRENT_SCHEMA_VERSION = 1

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
            # A huge integer is not quoted back: Python refuses to print one past 4300 digits.
            shown = v if abs(v) < 10**20 else "a larger number"
            raise _Bad(f"must be from {lo} to {hi} (got {shown})")
        return v

    return check


def _str(max_len: int, *, nonempty: bool = False, pattern: re.Pattern[str] | None = None) -> Check:
    def check(v: Any) -> str:
        if not isinstance(v, str):
            raise _Bad("must be a string")
        if len(v) > max_len:
            raise _Bad(f"must be at most {max_len} characters")
        problem = text_problem(v)
        if problem is not None:
            raise _Bad(problem)
        if nonempty and not v.strip():
            raise _Bad("is required and must not be blank")
        if pattern is not None and pattern.fullmatch(v) is None:
            raise _Bad(f"is not a valid value ({v[:80].encode('ascii', 'backslashreplace')!r})")
        return v

    return check


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Bad("must be true or false")
    return v


def _enum(*allowed: str) -> Check:
    def check(v: Any) -> str:
        if not isinstance(v, str) or v not in allowed:
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
    if not isinstance(v, str) or len(v) > text_limit("envelope", "hlc"):
        raise _Bad("must be a clock stamp string")
    try:
        hlc.parse(v)
    except hlc.HLCError as e:
        raise _Bad(str(e)) from None
    return v


def _iso_datetime(v: Any) -> str:
    if not isinstance(v, str) or len(v) > text_limit("envelope", "device_time"):
        raise _Bad("must be an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(v)
    except ValueError:
        raise _Bad("must be an ISO 8601 date-time with offset") from None
    if text_problem(v) is not None:
        raise _Bad("must be an ISO 8601 date-time string")
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


def _t(kind: str, name: str, **kw: Any) -> Check:
    """A string check sized from the limits table."""
    return _str(text_limit(kind, name), **kw)


def _i(kind: str, name: str) -> Check:
    """An integer check bounded from the limits table."""
    return _int(*int_limit(kind, name))


_T = "visit.transition"
_P = "part.add"
_E = "equipment_receipt.issue"
_D = "damage.record"

PAYLOADS: dict[str, dict[str, Check]] = {
    _T: {
        "to": _enum(*DEVICE_TRANSITIONS),
        "late_reason": _nullable(_t(_T, "late_reason")),
        "customer_informed": _nullable(_bool),
        "permission_granted": _nullable(_bool),
        "outcome_summary": _nullable(_t(_T, "outcome_summary")),
        "explanation": _nullable(_t(_T, "explanation")),
        "escalate": _nullable(_bool),
    },
    "checklist.set": {
        "item_id": _t("checklist.set", "item_id", pattern=ITEM_ID_RE),
        "state": _enum("done", "na", "open"),
        "note": _t("checklist.set", "note"),
    },
    _P: {
        "kind": _enum("used", "replaced", "returned"),
        "part_code": _t(_P, "part_code", nonempty=True),
        "description": _t(_P, "description"),
        "qty": _i(_P, "qty"),
        "unit_cost_fen": _i(_P, "unit_cost_fen"),
        "reverses": _nullable(_uuid),
    },
    "payment.record": {
        "method": _enum("cash", "wechat", "alipay", "card", "bank_transfer"),
        "amount_fen": _i("payment.record", "amount_fen"),
        "currency": _enum("CNY"),
        "payer": _t("payment.record", "payer"),
        "receipt_no": _t("payment.record", "receipt_no", nonempty=True),
    },
    "payment.void": {
        "payment_id": _uuid,
        "reason": _t("payment.void", "reason", nonempty=True),
    },
    "charge.waive": {
        "amount_fen": _i("charge.waive", "amount_fen"),
        "reason": _t("charge.waive", "reason", nonempty=True),
    },
    _E: {
        "receipt_no": _t(_E, "receipt_no", nonempty=True),
        "description": _t(_E, "description", nonempty=True),
        "brand": _t(_E, "brand"),
        "model": _t(_E, "model"),
        "serial": _t(_E, "serial"),
        "accessories": _t(_E, "accessories"),
        "condition": _t(_E, "condition"),
        "customer_name": _t(_E, "customer_name", nonempty=True),
        "signature_blob": _nullable(_sha),
    },
    _D: {
        "equipment_id": _nullable(_i(_D, "equipment_id")),
        "brand": _t(_D, "brand", nonempty=True),
        "model": _t(_D, "model", nonempty=True),
        "description": _t(_D, "description"),
        "warranty_claimed": _bool,
        "purchase_proof_blob": _nullable(_sha),
        "warranty_card_blob": _nullable(_sha),
        "photo_blobs": _list(_sha, MAX_PHOTOS),
    },
    "feedback.submit": {
        "satisfaction": _i("feedback.submit", "satisfaction"),
        "comments": _t("feedback.submit", "comments"),
    },
    "signoff.sign": {
        "customer_name": _t("signoff.sign", "customer_name", nonempty=True),
        "signature_blob": _sha,
        "digest": _sha,
        "signed_hlc": _hlc,
    },
}

# Money the customer will pay later, not on site: who pays, how, how much, by when. Finance
# records the transfer against the visit when it sees it (server.finance.promises).
PAYLOADS["payment.promise"] = {
    "method": _enum("bank_transfer", "wechat", "alipay", "card", "cash"),
    "amount_fen": _i("payment.promise", "amount_fen"),
    "payer": _t("payment.promise", "payer", nonempty=True),
    "due_on": _iso_date,
    "note": _t("payment.promise", "note"),
}

ENVELOPE: dict[str, Check] = {
    "op_id": _uuid,
    "seq": _i("envelope", "seq"),
    "kind": _enum(*KINDS),
    "record_id": _t("envelope", "record_id", nonempty=True),
    "visit_id": _i("envelope", "visit_id"),
    "hlc": _hlc,
    "schema_version": _i("envelope", "schema_version"),
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
            # The name is the sender's text: cut and cleaned before it is quoted back and stored.
            shown = clean_text(str(name)[:64])
            errors.append(FieldError(prefix + shown, "is not a known field"))
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
