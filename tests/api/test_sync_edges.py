"""Issue 9: what a phone sends can never jam its outbox, and every applied op reaches the feed.

Every op here goes through the real push endpoint (HttpPhone) into the real database; on
PostgreSQL (ONSITE_TEST_POSTGRES) the column types are enforced, so these are the cases that
answered 500 there.
"""

from __future__ import annotations

import json
import uuid

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select
from sync_http import PNG, HttpPhone, part, payment, transition

from server.extensions import db
from server.feed.models import SyncOperation
from server.visits.field_models import Conflict, Payment
from server.visits.models import Visit
from sync.limits import INT32_MAX, MAX_FEN, text_limit


@pytest.fixture
def field(make, signed_device):
    engineer = make.user("engineer")
    customer = make.customer()
    equipment = make.equipment(customer, warranty_months=0)
    request = make.request(customer, equipment_id=equipment.id)
    visit = make.visit(request, engineer=engineer, onsite_fee_fen=30000)
    phone = HttpPhone(signed_device(engineer))
    return {"engineer": engineer, "visit": visit, "phone": phone, "make": make}


def _raw_push(phone: HttpPhone, ops: list, **extra) -> tuple[int, dict]:
    body = {"protocol": 1, "device_id": phone.device_id, "ops": ops, **extra}
    response = phone.dev.post("/api/sync/push", json=body)
    return response.status_code, response.get_json()


def _receipt(phone: HttpPhone) -> dict:
    return {
        "receipt_no": f"E-{phone.dev.receipt_prefix}-000001",
        "description": "電腦主機",
        "brand": "",
        "model": "",
        "serial": "",
        "accessories": "",
        "condition": "",
        "customer_name": "周老師",
        "signature_blob": None,
    }


def _hostile_ops(phone: HttpPhone, visit_id: int) -> list[tuple[str, dict, str]]:
    """(name, op, field the rejection must name): each answered 500 on today's main."""
    too_long_code = part(part_code="P" * (text_limit("part.add", "part_code") + 1))
    cases: list[tuple[str, str, dict, dict, str]] = [
        ("part description", "part.add", part(description="x" * 2001), {}, "payload.description"),
        ("part code", "part.add", too_long_code, {}, "payload.part_code"),
        (
            "receipt no",
            "payment.record",
            payment(100, f"R-{phone.dev.receipt_prefix}-" + "1" * 40),
            {},
            "payload.receipt_no",
        ),
        (
            "equipment receipt description",
            "equipment_receipt.issue",
            {**_receipt(phone), "description": "x" * 2001},
            {},
            "payload.description",
        ),
        ("amount 2^31", "payment.record", payment(2**31, phone.receipt_no()), {}, "amount_fen"),
        ("unit cost 2^31", "part.add", part(unit_cost_fen=2**31), {}, "unit_cost_fen"),
        ("visit_id 2^31", "part.add", part(), {"visit_id": 2**31}, "visit_id"),
        ("NUL", "part.add", part(description="a\x00b"), {}, "payload.description"),
        ("surrogate", "part.add", part(description="\udfff"), {}, "payload.description"),
        ("kind as list", "part.add", part(), {"kind": ["part.add"]}, "kind"),
        ("NaN", "part.add", part(qty=float("nan")), {}, "payload.qty"),
        ("1e400", "part.add", part(unit_cost_fen=float("inf")), {}, "payload.unit_cost_fen"),
        ("huge int", "part.add", part(qty=10**30), {}, "payload.qty"),
        ("NUL key", "part.add", {**part(), "\x00\udfff": 1}, {}, "payload."),
        (
            "equipment_id 2^31",
            "damage.record",
            {
                "equipment_id": 2**31,
                "brand": "b",
                "model": "m",
                "description": "",
                "warranty_claimed": False,
                "purchase_proof_blob": None,
                "warranty_card_blob": None,
                "photo_blobs": [],
            },
            {},
            "payload.equipment_id",
        ),
    ]
    out = []
    for name, kind, payload, envelope, field in cases:
        op = phone.op(kind, visit_id, payload)
        op.update(envelope)
        out.append((name, op, field))
    return out


def test_ops_the_database_cannot_store_are_rejected_with_their_field_never_5xx(field):
    phone, visit = field["phone"], field["visit"]
    cases = _hostile_ops(phone, visit.id)
    # json.dumps writes NaN and Infinity as the bare words a hostile client can send.
    data = json.dumps(
        {"protocol": 1, "device_id": phone.device_id, "ops": [op for _, op, _ in cases]}
    )
    response = phone.dev.post(
        "/api/sync/push", data=data, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    results = {r["seq"]: r for r in response.get_json()["results"]}
    for name, op, wanted in cases:
        result = results[op["seq"]]
        assert result["status"] == "rejected", (name, result)
        assert wanted in result["reason"], (name, result["reason"])
    # The device is not stuck: its next op applies.
    phone.outbox.clear()
    phone.op("part.add", visit.id, part())
    assert phone.push()["results"][0]["status"] == "applied"
    # Every reject is kept, as valid text, and its reason too.
    db.session.expire_all()
    kept = db.session.scalars(select(SyncOperation).where(SyncOperation.status == "rejected"))
    for row in kept:
        json.dumps(row.raw, ensure_ascii=False).encode("utf-8")
        (row.reason or "").encode("utf-8")


def test_a_seq_of_2_64_is_rejected_uncounted_not_500(field):
    phone, visit = field["phone"], field["visit"]
    op = phone.op("part.add", visit.id, part())
    op["seq"] = 2**64
    status, body = _raw_push(phone, [op])
    assert status == 200 and body["results"][0]["status"] == "rejected"
    assert body["expected_seq"] == 1


def test_money_limit_fits_the_columns_and_is_accepted_at_the_limit(field):
    phone, visit = field["phone"], field["visit"]
    assert MAX_FEN <= INT32_MAX
    phone.op("payment.record", visit.id, payment(MAX_FEN, phone.receipt_no()))
    phone.op("part.add", visit.id, part(unit_cost_fen=MAX_FEN, description="x" * 2000))
    assert [r["status"] for r in phone.push()["results"]] == ["applied", "applied"]


@pytest.mark.parametrize("depth", [33, 1000, 50_000])
def test_json_nested_too_deeply_is_a_400_in_the_one_shape(field, depth):
    phone = field["phone"]
    body = '{"protocol": 1, "ops": ' + "[" * depth + "]" * depth + "}"
    response = phone.dev.post(
        "/api/sync/push", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"_body": ["Nested deeper than 32 levels."]}


def test_a_stored_reject_with_a_lone_surrogate_renders_on_the_office_review_page(field, login):
    phone, visit, make = field["phone"], field["visit"], field["make"]
    op = phone.op("part.add", visit.id, part(description="\udfff"))
    op["payload"]["unknown\ud800"] = "\udc00"
    status, body = _raw_push(phone, [op])
    assert status == 200 and body["results"][0]["status"] == "rejected"
    office = login(make.user("office"))
    page = office.get(f"/office/visits/{visit.id}")
    assert page.status_code == 200


def test_applied_ops_before_a_refused_one_all_reach_the_feed(field, signed_device):
    """Fault 2: the batch rolls back and is replayed op by op; every applied op is published."""
    phone, visit = field["phone"], field["visit"]
    number = phone.receipt_no()
    first = phone.op("payment.record", visit.id, payment(1000, number))
    second = phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    third = phone.op("part.add", visit.id, part())
    refused = phone.op("payment.record", visit.id, payment(2000, number))  # number used twice
    fifth = phone.op("feedback.submit", visit.id, {"satisfaction": 5, "comments": ""})
    statuses = [r["status"] for r in phone.push()["results"]]
    assert statuses == ["applied", "applied", "applied", "rejected", "applied"]
    reader = HttpPhone(signed_device(field["engineer"]))
    published = {(c["entity"], c["id"]) for c in reader.pull_all()}
    for entity, op in [
        ("payment", first),
        ("checklist_item", second),
        ("part_event", third),
        ("feedback", fifth),
    ]:
        assert (entity, op["record_id"]) in published, entity
    assert ("payment", refused["record_id"]) not in published


def test_receipt_numbers_only_with_the_devices_own_prefix(field, make, signed_device):
    """Fault 5: eng1 cannot squat eng2's numbers; the sequence part is bounded."""
    phone, visit = field["phone"], field["visit"]
    other = signed_device(make.user("engineer"))
    squat = phone.op("payment.record", visit.id, payment(100, f"R-{other.receipt_prefix}-000001"))
    huge = phone.op(
        "payment.record", visit.id, payment(100, f"R-{phone.dev.receipt_prefix}-" + "9" * 17)
    )
    wrong_letter = phone.op(
        "payment.record", visit.id, payment(100, f"E-{phone.dev.receipt_prefix}-000001")
    )
    results = phone.push()["results"]
    for op, result in zip([squat, huge, wrong_letter], results, strict=True):
        assert result["status"] == "rejected", op
        assert "payload.receipt_no" in result["reason"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_r35_an_epoch_this_server_never_had_is_not_bridged(field):
    """Fault 6: a gap is bridged only from a previous epoch of this server."""
    phone, visit = field["phone"], field["visit"]
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    phone.push()
    phone.seq += 5  # ops 2..6 "lost"
    phone.op("checklist.set", visit.id, {"item_id": "on-time", "state": "done", "note": ""})
    status, body = _raw_push(phone, phone.outbox, epoch="never-was-mine")
    assert status == 200 and body["results"][0]["status"] == "retry"
    assert body["expected_seq"] == 2


def test_protocol_must_be_the_integer_1(field):
    status, body = _raw_push(field["phone"], [], protocol="1")
    assert status == 422 and "protocol" in body["fields"]


@pytest.mark.parametrize("bad", ["e\x00", "e\udfff"])
def test_envelope_text_that_cannot_be_stored_is_a_422_naming_it(field, bad):
    status, body = _raw_push(field["phone"], [], epoch=bad)
    assert status == 422 and "epoch" in body["fields"], body


def test_a_cursor_with_non_ascii_digits_is_a_400(field):
    response = field["phone"].dev.get("/api/sync/pull", query_string={"cursor": "e:٣"})
    assert response.status_code == 400 and "cursor" in response.get_json()["fields"]


def test_a_null_op_is_rejected_alone_and_the_rest_apply(field):
    phone, visit = field["phone"], field["visit"]
    op = phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    status, body = _raw_push(phone, [None, op])
    assert status == 200
    assert sorted(r["status"] for r in body["results"]) == ["applied", "rejected"]


def test_a_conflict_about_another_visits_record_reveals_none_of_it(field, make, signed_device):
    phone, visit = field["phone"], field["visit"]
    other_engineer = make.user("engineer")
    other_visit = make.visit(engineer=other_engineer)
    other = HttpPhone(signed_device(other_engineer))
    record_id = str(uuid.uuid4())
    other.op("payment.record", other_visit.id, payment(4242, other.receipt_no()), record_id)
    assert other.push()["results"][0]["status"] == "applied"
    phone.op("payment.record", visit.id, payment(100, phone.receipt_no()), record_id)
    result = phone.push()["results"][0]
    assert result["status"] == "rejected" and "server_state" not in result
    assert "4242" not in json.dumps(result) and other.device_id not in json.dumps(result)


def test_reassignment_keeps_work_recorded_before_the_phone_heard_and_refuses_what_came_after(
    field, make, login, signed_device
):
    """Fault 4 (R36): eng1's payment and `completed` after hearing of the move are not applied."""
    phone, visit = field["phone"], field["visit"]
    with freeze_time("2026-11-30T02:00:00Z") as clock:
        phone.pull_all()
        # Offline on site: recorded before the office moved the visit, or before the phone heard.
        before = phone.op(
            "checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""}
        )
        second_engineer = make.user("engineer")
        office = login(make.user("office"))
        clock.tick(60)
        moved = office.patch(f"/api/visits/{visit.id}", json={"engineer_id": second_engineer.id})
        assert moved.status_code == 200
        clock.tick(60)
        assert phone.push()["results"][0]["status"] == "applied"
        db.session.expire_all()
        flagged = db.session.scalars(select(Conflict).where(Conflict.op_id == before["op_id"]))
        assert [c.reason for c in flagged] and "previous engineer" in flagged_reason(before)
        # The phone pulls: now it knows the visit is not its engineer's any more.
        assert ("visit", "revoke") in {(c["entity"], c["op"]) for c in phone.pull_all()}
        clock.tick(60)
        pay = phone.op("payment.record", visit.id, payment(1000, phone.receipt_no()))
        done = phone.op("visit.transition", visit.id, transition("completed", outcome_summary="x"))
        results = phone.push()["results"]
    assert [r["status"] for r in results] == ["conflict", "conflict"]
    db.session.expire_all()
    assert db.session.get(Payment, pay["record_id"]) is None
    assert db.session.get(Visit, visit.id).status != "completed"
    refused = db.session.scalars(
        select(Conflict).where(Conflict.op_id.in_([pay["op_id"], done["op_id"]]))
    )
    assert len(list(refused)) == 2


def flagged_reason(op: dict) -> str:
    return " ".join(
        c.reason or ""
        for c in db.session.scalars(select(Conflict).where(Conflict.op_id == op["op_id"]))
    )


def _receipt_with(phone: HttpPhone, sha: str) -> dict:
    return {**_receipt(phone), "signature_blob": sha}


def test_a_second_phone_downloads_its_engineers_blobs_cacheably_and_others_get_404(
    field, make, signed_device
):
    phone, visit = field["phone"], field["visit"]
    sha = phone.upload()
    phone.op("equipment_receipt.issue", visit.id, _receipt_with(phone, sha))
    assert phone.push()["results"][0]["status"] == "applied"
    second = signed_device(field["engineer"])  # a reinstalled app: a new device
    response = second.get(f"/api/sync/blobs/{sha}")
    assert response.status_code == 200 and response.data == PNG
    assert response.mimetype == "image/png"
    assert "immutable" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]
    again = second.get(
        f"/api/sync/blobs/{sha}", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""
    stranger = signed_device(make.user("engineer"))
    refused = stranger.get(f"/api/sync/blobs/{sha}")
    assert refused.status_code == 404 and refused.get_json()["fields"] == {"sha256": ["Not found."]}
    assert stranger.get("/api/sync/blobs/" + "0" * 64).status_code == 404
    assert stranger.get("/api/sync/blobs/nothex").status_code == 422


def test_a_lost_blob_given_up_with_a_reason_unblocks_the_outbox_and_the_office_sees_it(
    field, login
):
    phone, visit, make = field["phone"], field["visit"], field["make"]
    lost = "cd" * 32  # the phone lost this photo before it was uploaded
    phone.op("equipment_receipt.issue", visit.id, _receipt_with(phone, lost))
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    first = phone.push()["results"]
    assert [r["status"] for r in first] == ["retry", "retry"] and first[0]["missing_blobs"] == [
        lost
    ]
    bad = phone.dev.post(f"/api/sync/blobs/{lost}/lost", json={"reason": "a\x00"})
    assert bad.status_code == 422 and "reason" in bad.get_json()["fields"]
    given_up = phone.dev.post(f"/api/sync/blobs/{lost}/lost", json={"reason": "手機重設，簽名遺失"})
    assert given_up.status_code == 201
    again = phone.dev.post(f"/api/sync/blobs/{lost}/lost", json={"reason": "again"})
    assert again.status_code == 200 and again.get_json()["reason"] == "手機重設，簽名遺失"
    assert [r["status"] for r in phone.push()["results"]] == ["applied", "applied"]
    db.session.expire_all()
    gap = db.session.scalars(select(Conflict).where(Conflict.visit_id == visit.id)).all()
    assert any("手機重設，簽名遺失" in (c.reason or "") for c in gap)
    page = login(make.user("office")).get(f"/office/visits/{visit.id}")
    assert page.status_code == 200 and "手機重設，簽名遺失" in page.get_data(as_text=True)
    stored = phone.upload()
    assert phone.dev.post(f"/api/sync/blobs/{stored}/lost", json={"reason": "x"}).status_code == 409


def test_a_reject_kept_before_the_fix_still_renders(app):
    """Fault 3, rows already stored: the office's JSON view replaces what cannot be encoded."""
    from server.web.office_pages import _json_text

    shown = _json_text({"payload": {"description": "a\udfffb\x00"}, "n": float("nan")})
    assert "\ufffd" in shown
    shown.encode("utf-8")
