"""Issue 14: a push costs what its ops carry, and a batch's set-based writes keep every rule.

A push writes its new rows with one statement per table (SqlStore.write_batch), so a record
written twice in one batch, or flagged stale by a later op of the same batch, must still be stored
as the last op left it. bench/sync_bench.py prints the timing side (push_full_vs_empty).
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sync_http import HttpPhone, server_digest

from server.extensions import db
from server.visits.field_models import ChecklistEntry, SignOff


@pytest.fixture
def field(make, signed_device):
    engineer = make.user("engineer")
    customer = make.customer()
    equipment = make.equipment(customer, warranty_months=0)
    request = make.request(customer, equipment_id=equipment.id)
    visit = make.visit(request, engineer=engineer, onsite_fee_fen=30000)
    return {"visit": visit, "phone": HttpPhone(signed_device(engineer))}


def _check(phone: HttpPhone, visit_id: int, item: str, state: str = "done", note: str = ""):
    return phone.op("checklist.set", visit_id, {"item_id": item, "state": state, "note": note})


def test_a_push_loads_only_the_checklist_rows_its_ops_name(field):
    phone, visit = field["phone"], field["visit"]
    for i in range(300):
        _check(phone, visit.id, f"item-{i}")
    assert {r["status"] for r in phone.push()["results"]} == {"applied"}
    loaded: list[str] = []

    def count(target, _context) -> None:
        loaded.append(target.item_id)

    event.listen(ChecklistEntry, "load", count)
    try:
        _check(phone, visit.id, "item-7", state="open", note="re-checked")
        _check(phone, visit.id, "brand-new")
        results = phone.push()["results"]
    finally:
        event.remove(ChecklistEntry, "load", count)
    assert [r["status"] for r in results] == ["applied", "applied"]
    # The one stored row an op names, not the visit's 300 (the new item is not stored yet).
    assert loaded == ["item-7"]
    db.session.expire_all()
    row = db.session.get(ChecklistEntry, (visit.id, "item-7"))
    assert (row.state, row.note) == ("open", "re-checked")


def test_one_batch_writing_a_record_twice_stores_what_the_last_op_left(field):
    phone, visit = field["phone"], field["visit"]
    blob = phone.upload()
    _check(phone, visit.id, "kit")
    phone.push()
    digest = server_digest(visit.id)
    payload = {"customer_name": "周", "signature_blob": blob, "digest": digest}
    sign = phone.op("signoff.sign", visit.id, {**payload, "signed_hlc": phone.clock})
    _check(phone, visit.id, "kit", note="changed after signing")
    _check(phone, visit.id, "fresh", state="open")
    _check(phone, visit.id, "fresh", state="done", note="second write")
    results = phone.push()["results"]
    assert [r["status"] for r in results] == ["applied"] * 4
    assert results[0]["server_state"]["stale"] is False
    db.session.expire_all()
    signoff = db.session.scalars(select(SignOff).where(SignOff.id == sign["record_id"])).one()
    assert signoff.stale is True and "changed after sign-off" in signoff.stale_reason
    fresh = db.session.get(ChecklistEntry, (visit.id, "fresh"))
    assert (fresh.state, fresh.note) == ("done", "second write")
    changes = phone.pull_all()
    signoff_changes = [c for c in changes if c["entity"] == "signoff"]
    assert [c["data"]["stale"] for c in signoff_changes] == [False, True]
    fresh_notes = [c["data"]["note"] for c in changes if c["id"] == f"{visit.id}:fresh"]
    assert fresh_notes == ["", "second write"]
