"""Fuzz the push endpoint with ops generated from the op schema (sync/ops.py, sync/limits.py).

Every field of every kind gets hostile values: lengths at and past its limit, integers at and past
their bounds and beyond 64 bits, NUL, lone surrogates, NaN and infinity, wrong types, nesting. The
endpoint must never answer 5xx; each bad op is rejected with its field named; at the limit it is
processed like any other op.
"""

from __future__ import annotations

import json

import pytest
from sync_http import HttpPhone

from sync import limits
from sync.ops import ENVELOPE, PAYLOADS
from tests.sync.sync_helpers import load_vectors

PROCESSED = {"applied", "duplicate", "rejected", "conflict", "retry"}


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


def _hostile(kind: str, name: str) -> list[tuple[object, bool]]:
    """(value, must be rejected) for one field."""
    values: list[tuple[object, bool]] = [
        ("a\x00b", True),
        ("\udfff", True),
        ("\ud800x", True),
        (float("nan"), True),
        (float("inf"), True),
        (2**64, True),
        (-(2**70), True),
        ({"k": "v"}, True),
        (_nested(20), True),
    ]
    if name in limits.TEXT_LIMITS.get(kind, {}):
        n = limits.text_limit(kind, name)
        values += [("x" * n, False), ("x" * (n + 1), True), ("字" * (n + 1), True), (7, True)]
    if name in limits.INT_LIMITS.get(kind, {}):
        lo, hi = limits.int_limit(kind, name)
        values += [(lo, False), (hi, False), (lo - 1, True), (hi + 1, True), ("1", True)]
        values += [(True, True), (1.0, True)]
    return values


@pytest.fixture
def field(make, signed_device):
    engineer = make.user("engineer")
    visit = make.visit(engineer=engineer, onsite_fee_fen=30000)
    return HttpPhone(signed_device(engineer)), visit.id


def _bases(phone: HttpPhone) -> dict[str, dict]:
    blob = phone.upload()
    bases = {
        v["kind"]: dict(v["payload"]) for v in load_vectors("ops")["vectors"] if not v["fields"]
    }
    prefix = phone.dev.receipt_prefix
    bases["payment.record"]["receipt_no"] = f"R-{prefix}-000001"
    bases["equipment_receipt.issue"]["receipt_no"] = f"E-{prefix}-000001"
    for payload in bases.values():
        for key in ("signature_blob", "digest"):
            if key in payload:
                payload[key] = blob
    bases["signoff.sign"]["signed_hlc"] = f"001764292500000-00000-{phone.device_id}"
    return bases


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_hostile_payload_fields_never_5xx_and_bad_ones_are_rejected_by_name(field, kind):
    phone, visit_id = field
    base = _bases(phone)[kind]
    cases = []
    for name in PAYLOADS[kind]:
        for value, bad in _hostile(kind, name):
            op = phone.op(kind, visit_id, {**base, name: value})
            cases.append((op, f"payload.{name}", bad))
    _push_and_check(phone, cases)


def test_hostile_envelope_fields_never_5xx_and_bad_ones_are_rejected_by_name(field):
    phone, visit_id = field
    base = _bases(phone)["checklist.set"]
    cases = []
    for name in ENVELOPE:
        if name in ("seq", "payload"):
            continue  # an unreadable seq is not counted (R9); the payload is fuzzed above
        for value, bad in _hostile("envelope", name):
            if name == "schema_version" and not bad and value != 1:
                continue  # a newer version than the server's waits for it (R12): retry, blocking
            op = phone.op("checklist.set", visit_id, base)
            op[name] = value
            cases.append((op, name, bad))
    _push_and_check(phone, cases)


def _push_and_check(phone: HttpPhone, cases: list) -> None:
    for start in range(0, len(cases), 100):
        chunk = cases[start : start + 100]
        data = json.dumps(
            {"protocol": 1, "device_id": phone.device_id, "ops": [op for op, _, _ in chunk]}
        )
        response = phone.dev.post(
            "/api/sync/push", data=data, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        results = {r["seq"]: r for r in response.get_json()["results"]}
        for op, name, bad in chunk:
            result = results[op["seq"]]
            assert result["status"] in PROCESSED
            if bad:
                assert result["status"] == "rejected", (name, op.get(name))
                assert name in result["reason"], (name, result["reason"])
            else:
                assert result["status"] != "retry" or "blobs" not in result["reason"]
    phone.outbox.clear()
