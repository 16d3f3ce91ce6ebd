"""Issue 14: the sync paths made cheap keep every answer they gave before.

The device's sign-in is read in one statement (with the feed head, so an idle pull is answered
from it alone), a pull reads each way a change reaches a device through its own index, a batched
push takes a fresh op's op id and record as not stored (the database's unique keys say
otherwise), and answers go out in their wire shape without a schema dump. bench/pull_idle.py,
bench/sync_bench.py and bench/load_sim.py print what this saves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select
from sync_http import HttpPhone, at_head, part, payment

from server.extensions import db
from server.feed import changes
from server.feed.models import SyncOperation
from server.syncing.schemas import PullPageSchema, PushResultSchema
from server.visits.field_models import PartEvent, Payment


@pytest.fixture
def field_phone(make, signed_device):
    engineer = make.user("engineer")
    visit = make.visit(engineer=engineer)
    return HttpPhone(signed_device(engineer)), visit


def _conditional_pull(phone: HttpPhone, cursor: str):
    return phone.dev.get(
        "/api/sync/pull",
        query_string={"cursor": cursor},
        headers={"If-None-Match": f'"{cursor}"'},
    )


def test_a_phone_at_the_head_that_was_revoked_gets_401_not_304(make, signed_device, login):
    phone, _ = at_head(make, signed_device)
    assert _conditional_pull(phone, phone.cursor).status_code == 304
    office = login(make.user("office"))
    assert office.post(f"/api/devices/{phone.device_id}/revoke").status_code == 200
    response = _conditional_pull(phone, phone.cursor)
    assert response.status_code == 401
    assert response.get_json()["error"] == "device_revoked"


def test_a_phone_signed_out_by_its_engineer_gets_401_not_304(make, signed_device):
    phone, _ = at_head(make, signed_device)
    assert phone.dev.post(f"/api/devices/{phone.device_id}/revoke").status_code == 200
    response = _conditional_pull(phone, phone.cursor)
    assert response.status_code == 401
    assert response.get_json()["error"] == "device_signed_out"


def test_a_phone_whose_sign_in_expired_gets_401_not_304(make, signed_device, app):
    phone, _ = at_head(make, signed_device)
    later = datetime.now(UTC) + timedelta(days=app.config["DEVICE_TOKEN_DAYS"] + 1)
    with freeze_time(later):
        response = _conditional_pull(phone, phone.cursor)
    assert response.status_code == 401
    assert "no longer valid" in response.get_json()["message"]


def test_an_engineer_deactivated_behind_the_devices_back_gets_401(make, signed_device):
    phone, _ = at_head(make, signed_device)
    phone.dev.user.is_active = False  # as a direct edit would, without revoking the device
    db.session.commit()
    response = _conditional_pull(phone, phone.cursor)
    assert response.status_code == 401
    assert response.get_json()["error"] == "device_revoked"


def test_a_visit_newly_assigned_is_brought_by_the_next_conditional_pull(make, signed_device):
    phone, _ = at_head(make, signed_device)
    stale = phone.cursor
    new_visit = make.visit(engineer=phone.dev.user)
    response = _conditional_pull(phone, stale)
    assert response.status_code == 200
    body = response.get_json()
    assert ("visit", str(new_visit.id)) in {(c["entity"], c["id"]) for c in body["changes"]}
    # At the new head, nothing new: 304 again.
    assert _conditional_pull(phone, body["cursor"]).status_code == 304


def test_a_change_that_reaches_a_phone_several_ways_comes_once_and_pages_stay_exact(
    make, signed_device
):
    phone, visit = at_head(make, signed_device)
    user_id = phone.dev.user.id
    for n in range(2):
        # Its visit, addressed to the engineer and for everyone: three ways to the same phone.
        changes.emit(
            db.session(),
            changes.Change(
                entity="note",
                entity_id=f"both-{n}",
                visit_id=visit.id,
                audience_user_id=user_id,
                is_global=True,
                data={"n": n},
            ),
        )
    db.session.commit()
    first = phone.dev.get("/api/sync/pull", query_string={"cursor": phone.cursor, "limit": 1})
    page = first.get_json()
    assert [c["id"] for c in page["changes"]] == ["both-0"] and page["has_more"] is True
    second = phone.dev.get("/api/sync/pull", query_string={"cursor": page["cursor"], "limit": 1})
    page = second.get_json()
    assert [c["id"] for c in page["changes"]] == ["both-1"] and page["has_more"] is False


def test_a_pull_answers_only_its_scope_whatever_other_engineers_add(make, signed_device):
    phone, visit = at_head(make, signed_device)
    other_engineer = make.user("engineer")
    other = HttpPhone(signed_device(other_engineer))
    other_visit = make.visit(engineer=other_engineer)
    for _ in range(3):
        other.op("part.add", other_visit.id, part())
    other.push()
    phone.op("part.add", visit.id, part())
    phone.push()
    got = phone.pull_all()
    assert [(c["entity"], c["visit_id"]) for c in got] == [("part_event", visit.id)]


def test_answers_are_what_their_response_schemas_describe(make, signed_device):
    phone, visit = at_head(make, signed_device)
    op = phone.op("payment.record", visit.id, payment(100, phone.receipt_no()))
    phone.op("part.add", visit.id, part())
    push = phone.dev.post(
        "/api/sync/push",
        json={"protocol": 1, "device_id": phone.device_id, "ops": phone.outbox},
    ).get_json()
    again = phone.dev.post(
        "/api/sync/push", json={"protocol": 1, "device_id": phone.device_id, "ops": [op]}
    ).get_json()
    assert again["results"][0]["status"] == "duplicate" and "original" in again["results"][0]
    pull = phone.dev.get("/api/sync/pull", query_string={"cursor": phone.cursor}).get_json()
    assert len(pull["changes"]) == 2
    for body, schema in ((push, PushResultSchema()), (again, PushResultSchema())):
        assert schema.dump(body) == body
    assert PullPageSchema().dump(pull) == pull


def test_a_fresh_op_reusing_an_op_id_is_rejected_and_the_rest_of_its_push_applied(field_phone):
    phone, visit = field_phone
    first = phone.op("part.add", visit.id, part())
    phone.push()
    phone.op("part.add", visit.id, part(qty=2))
    reused = phone.op("part.add", visit.id, part(qty=3))
    reused["op_id"] = first["op_id"]
    phone.op("part.add", visit.id, part(qty=4))
    results = phone.push()["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert "op_id" in results[1]["reason"]
    assert sorted(db.session.scalars(select(PartEvent.qty))) == [1, 2, 4]
    assert db.session.scalar(select(func.count()).select_from(SyncOperation)) == 4


def test_a_fresh_op_naming_a_stored_record_is_a_duplicate_or_a_conflict(field_phone):
    phone, visit = field_phone
    receipt = phone.receipt_no()
    stored = phone.op("payment.record", visit.id, payment(500, receipt))
    phone.push()
    # A reinstalled phone sends the same payment again under a new op, then a different one.
    phone.op("payment.record", visit.id, payment(500, receipt), record_id=stored["record_id"])
    phone.op("part.add", visit.id, part())
    phone.op("payment.record", visit.id, payment(900, receipt), record_id=stored["record_id"])
    results = phone.push()["results"]
    assert [r["status"] for r in results] == ["duplicate", "applied", "conflict"]
    assert [p.amount_fen for p in db.session.scalars(select(Payment))] == [500]
    got = phone.pull_all()
    assert sum(1 for c in got if c["entity"] == "payment") == 1
