"""A correction or a void through the real push, read by the key it is unique on (R20).

The engine asks the store for an earlier correction of the same part event (or an earlier void
of the same payment) by that field, not by reading every record of the visit: the store must
then see the push's own writes, the rows stored before, and one record once.
"""

from __future__ import annotations

from server.extensions import db
from server.visits.field_models import PartEvent, PaymentVoid
from tests.api.sync_http import HttpPhone, part, payment


def _statuses(body) -> list[str]:
    return [r["status"] for r in body["results"]]


def test_a_part_event_is_corrected_once_in_one_push_and_across_pushes(make, signed_device, login):
    engineer = make.user("engineer")
    phone = HttpPhone(signed_device(engineer))
    visit = make.visit(engineer=engineer)
    fitted = phone.op("part.add", visit.id, part(2, 4550))
    other = phone.op("part.add", visit.id, part(1, 990))
    corrected = phone.op("part.add", visit.id, part(2, 4550, reverses=fitted["record_id"]))
    again = phone.op("part.add", visit.id, part(2, 4550, reverses=fitted["record_id"]))
    body = phone.push()
    assert _statuses(body) == ["applied", "applied", "applied", "conflict"]
    assert "already corrected" in body["results"][3]["reason"]

    # Later, from another phone of the same engineer: the stored correction is found.
    second = HttpPhone(signed_device(engineer))
    late = second.op("part.add", visit.id, part(2, 4550, reverses=fitted["record_id"]))
    fine = second.op("part.add", visit.id, part(1, 990, reverses=other["record_id"]))
    body = second.push()
    assert _statuses(body) == ["conflict", "applied"]
    assert corrected["record_id"] in body["results"][0]["reason"]
    db.session.expire_all()
    corrections = db.session.query(PartEvent).filter(PartEvent.reverses_id.is_not(None)).all()
    assert sorted(c.id for c in corrections) == sorted([corrected["record_id"], fine["record_id"]])
    assert {late["record_id"], again["record_id"]}.isdisjoint(c.id for c in corrections)


def test_a_payment_is_voided_once_in_one_push_and_across_pushes(make, signed_device):
    engineer = make.user("engineer")
    phone = HttpPhone(signed_device(engineer))
    visit = make.visit(engineer=engineer)
    paid = phone.op("payment.record", visit.id, payment(30000, phone.receipt_no()))
    void = {"payment_id": paid["record_id"], "reason": "wrong amount"}
    first = phone.op("payment.void", visit.id, void)
    phone.op("payment.void", visit.id, {**void, "reason": "typed twice"})
    assert _statuses(phone.push()) == ["applied", "applied", "conflict"]
    phone.op("payment.void", visit.id, {**void, "reason": "once more"})
    body = phone.push()
    assert _statuses(body) == ["conflict"]
    assert first["record_id"] in body["results"][0]["reason"]
    db.session.expire_all()
    assert [v.id for v in db.session.query(PaymentVoid).all()] == [first["record_id"]]
