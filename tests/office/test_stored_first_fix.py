"""Stored first-time-fix verdicts (S19) are the ones `domain/first_fix.py` gives, at every step.

The reports count the stored verdicts in SQL. These tests change their inputs the way phones and
clerks do -- visits finished through the sync endpoint, requests registered, visits scheduled
and cancelled through the office API -- and after each step hold every stored row to the
verdict decided afresh from the rows.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server.extensions import db
from server.office.reports import fix_by_period, week_starts
from server.register import first_fix_store
from server.register.models import FirstFix, ServiceRequest
from tests.finance.test_finance_races import _run
from tests.office.fieldkit import FieldKit

FIXED = {"outcome_summary": "更换电源模块,恢复正常"}
NOT_FIXED = {"explanation": "主板损坏,需返厂维修"}


def _stored() -> dict[int, tuple[datetime, bool]]:
    db.session.expire_all()
    return {r.request_id: (r.first_at, r.fixed) for r in db.session.scalars(select(FirstFix))}


def _assert_stored_as_decided() -> dict[int, bool]:
    """Every request's stored verdict is the one decided now; return request -> fixed."""
    stored = _stored()
    ids = db.session.scalars(select(ServiceRequest.id)).all()
    decided = first_fix_store.decide(db.session(), ids)
    assert stored == {r: (v.first_at, v.fixed) for r, v in decided.items() if v is not None}, (
        "a stored verdict differs from the one its rows give"
    )
    return {r: fixed for r, (_, fixed) in stored.items()}


def _finish(make, request, engineer, status="completed", **answers) -> FieldKit:
    kit = FieldKit(make.visit(request, engineer), engineer)
    kit.arrive()
    kit.finish(status, **(answers or (FIXED if status == "completed" else NOT_FIXED)))
    return kit


def _register(office, customer, equipment=None, **fields):
    body = {
        "customer_id": customer.id,
        "equipment_id": equipment.id if equipment else None,
        "problem": "又坏了",
        "channel": "hotline",
        **fields,
    }
    answer = office.post("/api/requests", json=body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def test_stored_verdicts_follow_pushes_and_office_steps(make, login):
    office = login(make.user("office", "clerk-li"))
    engineer = make.user("engineer")
    customer = make.customer()
    switch, router = make.equipment(customer), make.equipment(customer)

    a = make.request(customer, equipment_id=switch.id)
    assert _assert_stored_as_decided() == {}  # nothing finished: no verdict
    kit = _finish(make, a, engineer)
    assert _assert_stored_as_decided() == {a.id: True}

    # The switch is back within 30 days of the visit: the first visit did not fix it.
    b = _register(office, customer, switch)
    assert _assert_stored_as_decided() == {a.id: False}
    # A request for another equipment changes nothing; moving B there gives A back its fix.
    _register(office, customer, router)
    db.session.get(ServiceRequest, b).equipment_id = router.id
    db.session.commit()
    assert _assert_stored_as_decided() == {a.id: True}
    # A periodic return visit the company books itself is not a repeat.
    _register(office, customer, switch, channel="return_visit")
    assert _assert_stored_as_decided()[a.id] is True

    # No equipment named: a second repair visit decides, and cancelling it undoes that.
    c = make.request(customer)
    _finish(make, c, engineer)
    assert _assert_stored_as_decided()[c.id] is True
    second = office.post(f"/api/requests/{c.id}/visits", json={"engineer_id": engineer.id})
    assert second.status_code == 201, second.get_json()
    assert _assert_stored_as_decided()[c.id] is False
    cancel = office.post(f"/api/visits/{second.get_json()['id']}/cancel", json={"reason": "误派"})
    assert cancel.status_code == 200, cancel.get_json()
    assert _assert_stored_as_decided()[c.id] is True
    # A follow-up visit is not a second repair.
    follow = office.post(
        f"/api/requests/{c.id}/visits", json={"engineer_id": engineer.id, "purpose": "follow_up"}
    )
    assert follow.status_code == 201
    assert _assert_stored_as_decided()[c.id] is True

    d = make.request(customer)
    _finish(make, d, engineer, "not_fixed")
    e = make.request(customer)
    _finish(make, e, engineer, "completed", escalate=True, **FIXED)
    verdicts = _assert_stored_as_decided()
    assert (verdicts[d.id], verdicts[e.id]) == (False, False)
    assert kit.phone  # the pushes above went through the sync endpoint


def test_the_report_counts_stored_verdicts_and_store_all_fills_an_upgraded_database(make, login):
    office = login(make.user("office", "clerk-li"))
    engineer = make.user("engineer")
    customer = make.customer()
    switch = make.equipment(customer)
    for status in ("completed", "completed", "not_fixed"):
        _finish(make, make.request(customer), engineer, status)
    repeat = make.request(customer, equipment_id=switch.id)
    _finish(make, repeat, engineer)
    _register(office, customer, switch)
    now = datetime.now(UTC)
    starts = week_starts(now, 2)
    weeks = fix_by_period("week", starts, now)
    assert sum(w.counted for w in weeks) == 4
    assert sum(w.fixed for w in weeks) == 2
    assert sum(w.provisional for w in weeks) == 4  # none of the 30 days is over
    # Thirty days after the last visit every verdict is settled, and none changed.
    later = now + timedelta(days=31)
    settled = fix_by_period("week", starts, later)
    assert [(w.counted, w.fixed, w.provisional) for w in settled] == [
        (w.counted, w.fixed, 0) for w in weeks
    ]

    # A database upgraded from before the table: empty, then filled in once by the upgrade.
    expected = _stored()
    db.session.execute(db.delete(FirstFix))
    db.session.commit()
    assert sum(w.counted for w in fix_by_period("week", starts, now)) == 0
    assert first_fix_store.store_all() == 4
    assert _stored() == expected
    assert first_fix_store.store_all() == 0


def test_a_repeat_registered_while_the_first_visit_finishes_turns_the_verdict(
    app, make, login, monkeypatch, postgres_only
):
    """The push finishing the first visit and the office registering a repeat for the same
    equipment commit at once. Each has written its rows before it decides: without the
    equipment's lock, the push would decide without the repeat (not committed yet) and the
    office would find no verdict to turn (the visit not committed yet): A stored as fixed."""
    office = login(make.user("office", "clerk-li"))
    engineer = make.user("engineer")
    customer = make.customer()
    switch = make.equipment(customer)
    a = make.request(customer, equipment_id=switch.id)
    kit = FieldKit(make.visit(a, engineer), engineer)
    kit.arrive()
    assert _assert_stored_as_decided() == {}
    barrier = threading.Barrier(2)
    lock = first_fix_store._lock

    def held(session, noted):
        barrier.wait(timeout=20)  # both transactions have flushed their rows
        return lock(session, noted)

    monkeypatch.setattr(first_fix_store, "_lock", held)

    def in_app(call):
        def run():
            with app.app_context():  # each thread a session of its own
                return call()

        return run

    _run(
        in_app(lambda: kit.finish("completed", **FIXED)),
        in_app(lambda: _register(office, customer, switch)),
    )
    monkeypatch.undo()
    assert _assert_stored_as_decided() == {a.id: False}


def test_a_visit_is_decided_again_when_it_ends_not_at_every_move(make, monkeypatch):
    """A phone moves a visit through several statuses; the verdict can change only when the
    visit ends (or is cancelled), so the moves before that cost the push no verdict work."""
    engineer = make.user("engineer")
    request = make.request()
    kit = FieldKit(make.visit(request, engineer), engineer)
    decided: list[set[int]] = []
    store = first_fix_store.store_verdicts

    def spy(session, ids):
        decided.append(set(ids))
        return store(session, ids)

    monkeypatch.setattr(first_fix_store, "store_verdicts", spy)
    kit.arrive()
    assert decided == []
    kit.finish("completed", **FIXED)
    assert decided == [{request.id}]
    assert _assert_stored_as_decided() == {request.id: True}
