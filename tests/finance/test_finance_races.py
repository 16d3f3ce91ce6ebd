"""Two clerks at the same moment: the database decides, the loser is told (issue 10, faults 2-4).

Each clerk is a real HTTP client in its own thread with its own database connection. A barrier
placed after each request's checks makes both pass their checks before either writes, every
time: the outcome is decided by the database's guard, not by the scheduler.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from server.db_types import utcnow
from server.domain.timezone import business_day
from server.extensions import db
from server.finance import handover as finance_handover
from server.finance import reconcile as finance_reconcile
from server.finance.models import DayReconciliation, FinanceAudit, HandoverReceipt
from tests.finance.sync_phone import Phone


def _hold_first_call(monkeypatch, module, name: str, barrier: threading.Barrier, after=None):
    """Make each thread's first call of `module.name` wait at the barrier once it has run."""
    original = getattr(module, name)
    seen = threading.local()

    def held(*args, **kwargs):
        result = original(*args, **kwargs)
        if not getattr(seen, "done", False):
            seen.done = True
            barrier.wait(timeout=20)
            if after is not None:
                after()
        return result

    monkeypatch.setattr(module, name, held)


def _run(*calls: Callable[[], object]) -> list:
    answers: list = [None] * len(calls)

    def run(i: int) -> None:
        answers[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(not t.is_alive() for t in threads)
    return answers


@pytest.fixture
def clerks(make, login):
    return (
        login(make.user("finance", username="clerk_li")),
        login(make.user("finance", username="clerk_wang")),
    )


def _count(*where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(HandoverReceipt).where(*where))


def test_two_clerks_handing_over_one_receipt_at_once_one_wins_one_gets_409(
    make, signed_device, clerks, monkeypatch
):
    engineer = make.user("engineer")
    visit = make.visit(engineer=engineer, onsite_fee_fen=18000)
    phone = Phone(signed_device(engineer))
    phone.arrive(visit.id)
    paid = phone.pay(visit.id, 18000)
    phone.push()
    body = {
        "engineer_id": engineer.id,
        "amounts": {"cash": 18000},
        "payment_ids": [paid["record_id"]],
    }
    barrier = threading.Barrier(2)
    _hold_first_call(monkeypatch, finance_handover, "live_covered_ids", barrier)
    answers = _run(*(lambda c=c: c.post("/api/finance/handovers", json=body) for c in clerks))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 409], [r.get_json() for r in answers]
    loser = next(r for r in answers if r.status_code == 409).get_json()
    assert loser["error"] == "conflict" and "payment_ids" in loser["fields"]
    assert "already in another handover" in loser["message"]
    assert _count(HandoverReceipt.live_payment_id == paid["record_id"]) == 1
    assert _count() == 1


def test_a_voided_handover_frees_its_receipts_and_keeps_them_as_history(
    make, signed_device, clerks
):
    engineer = make.user("engineer")
    visit = make.visit(engineer=engineer, onsite_fee_fen=18000)
    phone = Phone(signed_device(engineer))
    phone.arrive(visit.id)
    paid = phone.pay(visit.id, 18000)
    phone.push()
    clerk = clerks[0]
    body = {
        "engineer_id": engineer.id,
        "amounts": {"cash": 1800},
        "payment_ids": [paid["record_id"]],
    }
    first = clerk.post("/api/finance/handovers", json=body).get_json()
    assert clerk.post("/api/finance/handovers", json=body).status_code == 422
    voided = clerk.post(f"/api/finance/handovers/{first['id']}/void", json={"reason": "typo"})
    assert voided.status_code == 200
    body["amounts"] = {"cash": 18000}
    assert clerk.post("/api/finance/handovers", json=body).status_code == 201
    # Both handovers still list the receipt; only the new one holds it live.
    assert _count() == 2 and _count(HandoverReceipt.live_payment_id.is_not(None)) == 1
    again = clerk.get(f"/api/finance/handovers/{first['id']}").get_json()
    assert again["receipts"] == [paid["payload"]["receipt_no"]] and again["voided_at"]


def test_locking_a_day_twice_at_once_gives_one_200_and_one_409_naming_who_locked(
    make, clerks, monkeypatch
):
    engineer = make.user("engineer")
    day = business_day(utcnow()).isoformat()
    url = f"/api/finance/reconciliation/{engineer.id}/{day}/status"
    barrier = threading.Barrier(2)
    _hold_first_call(monkeypatch, finance_reconcile, "get_engineer", barrier)
    body = {"status": "reconciled", "note": "checked"}
    answers = _run(*(lambda c=c: c.post(url, json=body) for c in clerks))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200, 409], [r.get_json() for r in answers]
    winner = next(c for c, r in zip(clerks, answers, strict=True) if r.status_code == 200)
    loser = next(r for r in answers if r.status_code == 409).get_json()
    assert loser["error"] == "conflict"
    assert winner.user.display_name in loser["message"] and "already reconciled" in loser["message"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(DayReconciliation)) == 1
    actions = db.session.scalars(select(FinanceAudit.action)).all()
    assert actions == ["day.reconciled"]


def test_a_day_set_open_on_stale_figures_cannot_undo_a_reconciliation(make, clerks, monkeypatch):
    """Clerk A reconciles while clerk B, who read the day before, sets it open: B is refused."""
    engineer = make.user("engineer")
    day = business_day(utcnow()).isoformat()
    url = f"/api/finance/reconciliation/{engineer.id}/{day}/status"
    a, b = clerks
    assert a.post(url, json={"status": "disputed", "note": "cash short?"}).status_code == 200
    barrier = threading.Barrier(2)
    a_done = threading.Event()
    is_b = threading.local()

    def b_waits_for_a() -> None:
        if getattr(is_b, "yes", False):
            assert a_done.wait(timeout=20)

    _hold_first_call(monkeypatch, finance_reconcile, "get_engineer", barrier, b_waits_for_a)

    def clerk_a():
        try:
            return a.post(url, json={"status": "reconciled", "note": "found the cash"})
        finally:
            a_done.set()

    def clerk_b():
        is_b.yes = True
        return b.post(url, json={"status": "open", "note": ""})

    got_a, got_b = _run(clerk_a, clerk_b)
    assert got_a.status_code == 200, got_a.get_json()
    assert got_b.status_code == 409, got_b.get_json()
    assert a.user.display_name in got_b.get_json()["message"]
    db.session.expire_all()
    record = db.session.scalar(select(DayReconciliation))
    assert record.status == "reconciled" and record.figures is not None
