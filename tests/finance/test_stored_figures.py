"""The figures finance lists read stored are the ones computed now (issue 13, at scale).

Each visit's owed amount, price-flag count and business day are stored by `finance_store` in
the transaction that changes any of their inputs; each locked day's "needs attention" verdict
likewise. These tests change the inputs the way phones and clerks do -- pushes through the sync
endpoint, the office's and finance's API -- and hold the stored figures to
`explain_visit_charges` and `needs_attention` computed afresh after every step.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from server.db_types import utcnow
from server.domain.timezone import COMPANY_TZ, business_day
from server.extensions import db
from server.finance import stored_figures as finance_store
from server.finance.charges import explain_visit_charges
from server.finance.models import DayCheck
from server.finance.reconcile import backlog, compute_days, day_figures, needs_attention
from server.visits.models import Visit
from tests.api.sync_http import transition

from .sync_phone import Phone
from .test_finance_races import _hold_first_call, _run
from .test_finance_settle import _promise

LIST = {"FAN": 4550, "PSU": 18500}  # "CAP" has no entry: priced at the phone's figure
FEE = 30000


def _today() -> date:
    return business_day(utcnow())


def _assert_stored_as_computed(visit_ids) -> None:
    """Every visit's stored figures equal the ones priced now from its rows."""
    db.session.expire_all()
    for vid in visit_ids:
        visit = db.session.get(Visit, vid)
        vc = explain_visit_charges(visit)
        computed = (vc.charges.total_fen, len(vc.flags), vc.business_day)
        assert (visit.owed_fen, visit.charge_flags, visit.business_day) == computed, vid


def _assert_lists_as_computed(start: date, end: date) -> None:
    """A period's days from stored figures are the days computed by pricing every visit."""
    db.session.expire_all()
    stored = compute_days(start, end)
    computed = compute_days(start, end, explain=True)
    assert {k: (d.current, d.flag_count) for k, d in stored.items()} == {
        k: (d.current, d.flag_count) for k, d in computed.items()
    }


def _price_list(finance, day: str = "2026-01-01") -> None:
    answer = finance.post(
        "/api/finance/fee-rates", json={"effective_from": day, "onsite_fee_fen": FEE}
    )
    assert answer.status_code == 201, answer.get_json()
    for code, fen in LIST.items():
        body = {"part_code": code, "effective_from": day, "unit_cost_fen": fen}
        assert finance.post("/api/finance/part-prices", json=body).status_code == 201


def test_stored_owed_equals_computed_through_pushes_and_office_edits(make, login, signed_device):
    finance, office = login(make.user("finance")), login(make.user("office"))
    _price_list(finance)
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    rng = random.Random(20261201)
    equipment, visits = [], []
    for _ in range(8):
        item = make.equipment(acceptance_date=date(2020, 1, 1), warranty_months=12)
        request = make.request(item.customer, equipment_id=item.id)
        equipment.append(item)
        visits.append(
            make.visit(request, engineer=engineer, onsite_fee_fen=rng.choice([FEE, 25000]))
        )
    ids = [v.id for v in visits]
    _assert_stored_as_computed(ids)  # dispatched: priced at creation

    # On site: arrivals and parts (list price, a stale copy, a part with no list entry).
    parts = []
    for visit in visits[:6]:
        phone.arrive(visit.id)
        for _ in range(rng.randint(1, 3)):
            code = rng.choice([*LIST, "CAP"])
            unit = LIST.get(code, 990) + rng.choice([0, 0, 700])
            parts.append(phone.part(visit.id, code, rng.randint(1, 3), unit))
        # Fitted twice at one price: the stored figure sums them (and counts two flags).
        parts.append(phone.part(visit.id, "CAP", 1, 990, kind="replaced"))
        parts.append(phone.part(visit.id, "CAP", 2, 990))
        phone.part(visit.id, "PSU", 1, LIST["PSU"], kind="returned")
    phone.push()
    _assert_stored_as_computed(ids)

    # Corrections cancel part events, in the push that adds them and in a later one.
    phone.correct(visits[0].id, phone.part(visits[0].id, "FAN", 3, LIST["FAN"] + 700))
    for op in parts[::3]:
        phone.correct(op["visit_id"], op)
    phone.push()
    _assert_stored_as_computed(ids)

    # The office changes charges while the work goes on, and moves a visit not yet started.
    edits = [
        (visits[0], {"onsite_fee_fen": 12000}),
        (visits[1], {"inspection_only": True}),
        (visits[6], {"window_start": (utcnow() - timedelta(days=3)).isoformat()}),
    ]
    for visit, body in edits:
        if "window_start" in body:
            start = datetime.fromisoformat(body["window_start"])
            body["window_end"] = (start + timedelta(hours=1)).isoformat()
        answer = office.patch(f"/api/visits/{visit.id}", json=body)
        assert answer.status_code == 200, answer.get_json()
    _assert_stored_as_computed(ids)
    assert db.session.get(Visit, visits[6].id).business_day == _today() - timedelta(days=3)

    # Waivers, more parts, payments; the visits finish.
    for visit in visits[:6]:
        if rng.random() < 0.5:
            phone.waive(visit.id, rng.choice([1000, 60000]), "regular customer")
        phone.part(visit.id, "FAN", 1, LIST["FAN"])
        phone.complete(visit.id)
        phone.pay(visit.id, rng.choice([5000, 30000]))
    phone.push()
    _assert_stored_as_computed(ids)

    # Finance corrects the price list from yesterday on, and a part's cost price from today.
    yesterday = (_today() - timedelta(days=1)).isoformat()
    body = {"effective_from": yesterday, "onsite_fee_fen": 27500}
    assert finance.post("/api/finance/fee-rates", json=body).status_code == 201
    body = {"part_code": "FAN", "effective_from": _today().isoformat(), "unit_cost_fen": 5000}
    assert finance.post("/api/finance/part-prices", json=body).status_code == 201
    _assert_stored_as_computed(ids)

    # The customer's purchase proof turns up: the equipment was in warranty after all (S1).
    body = {"acceptance_date": (_today() - timedelta(days=30)).isoformat()}
    answer = office.patch(f"/api/equipment/{equipment[2].id}", json=body)
    assert answer.status_code == 200, answer.get_json()
    _assert_stored_as_computed(ids)
    assert db.session.get(Visit, visits[2].id).owed_fen == 0
    _assert_lists_as_computed(_today() - timedelta(days=5), _today())


def test_a_visit_stored_before_it_was_priced_is_read_on_the_fly_and_filled_in(
    make, login, signed_device
):
    finance = login(make.user("finance"))
    _price_list(finance)
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    visit = make.visit(engineer=engineer, onsite_fee_fen=FEE)
    phone.arrive(visit.id)
    phone.part(visit.id, "PSU", 2, LIST["PSU"])
    phone.push()
    # As a database upgraded from before the figures were kept: nothing stored.
    db.session.execute(db.update(Visit).values(owed_fen=None, charge_flags=None, business_day=None))
    db.session.commit()
    day = finance.get(f"/api/finance/reconciliation?from={_today()}").get_json()
    [row] = [d for d in day["days"] if d["engineer_id"] == engineer.id]
    assert row["current"]["owed_fen"] == FEE + 2 * LIST["PSU"]
    assert finance_store.store_all() == 1
    _assert_stored_as_computed([visit.id])


def _lock(finance, engineer_id: int, day: date) -> None:
    url = f"/api/finance/reconciliation/{engineer_id}/{day}/status"
    answer = finance.post(url, json={"status": "reconciled", "note": "checked"})
    assert answer.status_code == 200, answer.get_json()


def _verdict(engineer_id: int, day: date) -> bool | None:
    db.session.expire_all()
    return db.session.get(DayCheck, (engineer_id, day)).needs_attention


def _assert_verdict_as_computed(engineer_id: int, day: date) -> bool:
    verdict = _verdict(engineer_id, day)
    assert verdict is needs_attention(day_figures(engineer_id, day))
    listed = [(f.engineer_id, f.day) for f in backlog(_today()).days]
    assert ((engineer_id, day) in listed) is verdict
    return verdict


def test_a_locked_days_stored_verdict_follows_every_change_after_the_lock(
    make, login, signed_device
):
    finance = login(make.user("finance"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    today = _today()
    paid_visit = make.visit(engineer=engineer, onsite_fee_fen=39100)
    promised_visit = make.visit(engineer=engineer, onsite_fee_fen=20000)
    phone.arrive(paid_visit.id)
    paid = phone.pay(paid_visit.id, 39100)
    phone.arrive(promised_visit.id)
    promise = _promise(phone, promised_visit.id, 20000, today + timedelta(days=7))
    phone.push()
    _lock(finance, engineer.id, today)
    assert _assert_verdict_as_computed(engineer.id, today) is False

    # Money promised arrives by transfer: it moves from promised to transferred, nothing the
    # engineer answers for, so the locked day stays settled.
    body = {
        "promise_id": promise["record_id"],
        "amount_fen": 20000,
        "received_on": today.isoformat(),
    }
    assert finance.post("/api/finance/transfers", json=body).status_code == 201
    assert _assert_verdict_as_computed(engineer.id, today) is False

    # The engineer hands the cash over: handed over changes on the locked day.
    body = {
        "engineer_id": engineer.id,
        "amounts": {"cash": 39100},
        "payment_ids": [paid["record_id"]],
    }
    handover = finance.post("/api/finance/handovers", json=body)
    assert handover.status_code == 201, handover.get_json()
    assert _assert_verdict_as_computed(engineer.id, today) is True

    # Reopened and locked again with the handover in it: settled; then a payment voided late.
    supervisor = login(make.user("admin"))
    url = f"/api/finance/reconciliation/{engineer.id}/{today}/reopen"
    assert supervisor.post(url, json={"reason": "handover arrived"}).status_code == 200
    _lock(finance, engineer.id, today)
    assert _assert_verdict_as_computed(engineer.id, today) is False
    phone.void(paid_visit.id, paid, "typed the wrong amount")
    phone.push()
    assert _assert_verdict_as_computed(engineer.id, today) is True


def test_a_visit_moved_off_a_locked_day_brings_that_day_back(make, login, signed_device):
    finance, office = login(make.user("finance")), login(make.user("office"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    before = _today() - timedelta(days=2)
    start = datetime(before.year, before.month, before.day, 10, tzinfo=COMPANY_TZ).astimezone(UTC)
    visit = make.visit(
        engineer=engineer,
        onsite_fee_fen=FEE,
        window_start=start,
        window_end=start + timedelta(hours=1),
    )
    phone.pay(visit.id, FEE)
    phone.push()
    _lock(finance, engineer.id, before)
    assert _assert_verdict_as_computed(engineer.id, before) is False
    # The office moves the visit (paid, not yet started) to yesterday: it left the locked day.
    moved = start + timedelta(days=1)
    body = {
        "window_start": moved.isoformat(),
        "window_end": (moved + timedelta(hours=1)).isoformat(),
    }
    assert office.patch(f"/api/visits/{visit.id}", json=body).status_code == 200
    assert _assert_verdict_as_computed(engineer.id, before) is True


def test_two_pushes_changing_one_visits_charges_at_once_store_both(
    make, login, signed_device, monkeypatch, postgres_only
):
    """Both transactions have written their rows before either prices the visit: without the
    row lock each would price it without the other's row, and the last to commit would win."""
    finance = login(make.user("finance"))
    _price_list(finance)
    engineer = make.user("engineer")
    one, two = Phone(signed_device(engineer)), Phone(signed_device(engineer))
    visit = make.visit(engineer=engineer, onsite_fee_fen=FEE)
    one.arrive(visit.id)
    one.push()
    one.part(visit.id, "PSU", 1, LIST["PSU"])
    two.waive(visit.id, 5000, "regular customer")
    barrier = threading.Barrier(2)
    # Held once its rows are written and before it locks the visit to price it.
    _hold_first_call(monkeypatch, finance_store, "_covered_visits", barrier)
    _run(one.push, two.push)
    monkeypatch.undo()
    assert not one.outbox and not two.outbox
    _assert_stored_as_computed([visit.id])
    assert db.session.get(Visit, visit.id).owed_fen == FEE + LIST["PSU"] - 5000


def _until_a_request_waits_for_a_lock() -> None:
    """Return once another connection to this database is waiting for a lock (or after 10 s)."""
    deadline = time.monotonic() + 10
    with db.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            if waiting:
                return
            time.sleep(0.02)


def test_a_payment_committing_while_the_day_is_locked_is_in_the_lock_or_brings_it_back(
    make, login, signed_device, monkeypatch, postgres_only
):
    """The push has stored a payment of the day and decided the day (not locked yet) but not
    committed; the clerk locks the day then. The clerk must wait for the push (the day's check
    row), so the locked figures hold the payment; else they would miss it and nothing would
    bring the day back."""
    from server.finance import reconcile as finance_reconcile

    finance = login(make.user("finance"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    visit = make.visit(engineer=engineer, onsite_fee_fen=FEE)
    phone.arrive(visit.id)
    phone.push()
    phone.pay(visit.id, FEE)
    today = _today()
    barrier = threading.Barrier(2)
    _hold_first_call(monkeypatch, finance_reconcile, "get_engineer", barrier)
    _hold_first_call(
        monkeypatch, finance_store, "decide_days", barrier, after=_until_a_request_waits_for_a_lock
    )
    url = f"/api/finance/reconciliation/{engineer.id}/{today}/status"
    answers = _run(
        lambda: finance.post(url, json={"status": "reconciled", "note": "checked"}), phone.push
    )
    monkeypatch.undo()
    assert answers[0].status_code == 200, answers[0].get_json()
    assert not phone.outbox
    fig = day_figures(engineer.id, today)
    assert fig.collected_fen == FEE and fig.record.figures["collected_fen"] == FEE
    assert _verdict(engineer.id, today) is False is needs_attention(fig)


def test_a_visit_priced_while_a_price_list_edit_commits_is_left_to_be_priced_on_read(
    make, login, signed_device, monkeypatch, postgres_only
):
    """The price-list edit has chosen the visits it reprices (not this one: its day is still
    three days ago) and holds the pricing lock; the push moves the visit into the new price's
    days by arriving today. The push cannot know the new price yet, so it stores no figure,
    and the pages price the visit on read, never at the old price."""
    finance = login(make.user("finance"))
    _price_list(finance)
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    start = utcnow() - timedelta(days=3)
    visit = make.visit(engineer=engineer, onsite_fee_fen=FEE, window_start=start, window_end=start)
    late = transition("arrived", permission_granted=True, late_reason="路上堵车，已致电客户")
    phone.op("visit.transition", visit.id, late)
    phone.part(visit.id, "PSU", 1, LIST["PSU"])
    barrier = threading.Barrier(2)
    _hold_first_call(monkeypatch, finance_store, "_reached_by_shared_edits", barrier)
    # The push prices only once the edit holds the pricing lock, whichever request the
    # scheduler runs first (else the push could price and commit before the edit begins).
    edit_holds_lock = threading.Event()
    take_pricing_lock = finance_store._take_pricing_lock

    def take() -> None:
        take_pricing_lock()
        edit_holds_lock.set()

    monkeypatch.setattr(finance_store, "_take_pricing_lock", take)
    locked_visits = finance_store._locked_visits

    def held(*args, **kwargs):
        assert edit_holds_lock.wait(timeout=20)
        visits, allowed = locked_visits(*args, **kwargs)
        if not allowed:  # the push, refused the lock the edit holds
            barrier.wait(timeout=20)
        return visits, allowed

    monkeypatch.setattr(finance_store, "_locked_visits", held)
    yesterday = (_today() - timedelta(days=1)).isoformat()
    body = {"effective_from": yesterday, "onsite_fee_fen": 27500}
    answers = _run(lambda: finance.post("/api/finance/fee-rates", json=body), phone.push)
    monkeypatch.undo()
    assert answers[0].status_code == 201 and not phone.outbox
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).owed_fen is None
    day = finance.get(f"/api/finance/reconciliation?from={_today()}").get_json()
    [row] = [d for d in day["days"] if d["engineer_id"] == engineer.id]
    assert row["current"]["owed_fen"] == 27500 + LIST["PSU"]
    finance_store.store_all()
    _assert_stored_as_computed([visit.id])
