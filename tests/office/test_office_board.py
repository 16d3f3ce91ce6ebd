"""The SLA board: clocks read with the arrival fallback, riskiest first, filters (S5, S11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from server.dispatch.operations import cancel_visit
from server.extensions import db
from server.register.board import board_rows, clocks_of, risk_key
from server.register.operations import record_phone_response, record_result
from tests.office.fieldkit import FieldKit

NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)


def clock(state: str, minutes: int | None, done: bool = False) -> dict:
    return {"state": state, "minutes": minutes, "done_at": NOW if done else None, "due": NOW}


def clocks(phone, onsite=None, remote=None) -> dict:
    na = clock("not_applicable", None)
    return {"phone": phone, "onsite": onsite or na, "remote": remote or na}


def test_risk_orders_missed_then_at_risk_then_running_then_nothing_open():
    keys = {
        "running": risk_key(clocks(clock("running", 40)), "normal", "normal", NOW),
        "missed": risk_key(clocks(clock("missed", -5)), "normal", "normal", NOW),
        "quiet": risk_key(clocks(clock("met", 10, done=True)), "critical", "critical", NOW),
        "at_risk": risk_key(clocks(clock("at_risk", 10)), "normal", "normal", NOW),
    }
    assert sorted(keys, key=keys.get) == ["missed", "at_risk", "running", "quiet"]


def test_among_missed_the_most_overdue_comes_first():
    a = risk_key(clocks(clock("missed", -5)), "normal", "normal", NOW)
    b = risk_key(clocks(clock("running", 50), clock("missed", -70)), "normal", "normal", NOW)
    assert b < a


def test_a_clock_missed_but_done_no_longer_ranks_as_urgent():
    late_but_done = risk_key(clocks(clock("missed", -20, done=True)), "normal", "normal", NOW)
    running = risk_key(clocks(clock("running", 50)), "normal", "normal", NOW)
    assert running < late_but_done


def test_severity_then_urgency_then_age_break_ties():
    c = clocks(clock("running", 30))
    critical = risk_key(c, "critical", "low", NOW)
    high_urgent = risk_key(c, "high", "critical", NOW)
    high_normal = risk_key(c, "high", "normal", NOW)
    older = risk_key(c, "high", "normal", NOW - timedelta(minutes=1))
    assert critical < high_urgent < older < high_normal


def _at(minutes_ago: int) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


@freeze_time(NOW)
def test_board_lists_open_requests_riskiest_first(make):
    office = make.user("office")
    running = make.request(problem="running", received_at=_at(10), by=office)
    phone_missed = make.request(problem="phone missed", received_at=_at(70), by=office)
    at_risk = make.request(problem="phone at risk", received_at=_at(50), by=office)
    onsite_missed = make.request(problem="arrival missed", received_at=_at(150), by=office)
    record_phone_response(onsite_missed, {"at": _at(140)})
    closed = make.request(problem="closed", received_at=_at(300), by=office)
    record_result(closed, {"result": "电话指导后恢复", "status": "closed"})
    db.session.commit()

    rows = board_rows({}, NOW)
    assert [r.request.problem for r in rows] == [
        "arrival missed",  # 30 min over on site
        "phone missed",  # 10 min over on the phone
        "phone at risk",
        "running",
    ]
    by_problem = {r.request.problem: r for r in rows}
    assert by_problem["phone missed"].clocks["phone"] == {
        "due": _at(10),
        "done_at": None,
        "state": "missed",
        "minutes": -10,
    }
    assert by_problem["phone at risk"].clocks["phone"]["state"] == "at_risk"
    assert by_problem["arrival missed"].clocks["phone"]["state"] == "met"
    assert by_problem["arrival missed"].alarm == "missed"
    assert closed.id not in {r.request.id for r in rows}
    assert running.id == rows[-1].request.id and at_risk.id == rows[2].request.id
    assert phone_missed.id == rows[1].request.id


def _arrive(make, request, at: datetime, **answers) -> None:
    """Schedule a visit on `request` for a new engineer, whose phone pushes arriving at `at`."""
    engineer = make.user("engineer")
    FieldKit(make.visit(request, engineer), engineer).arrive(at, **answers)


def _as_an_older_server_kept_it(request) -> None:
    # A row from before the engine stored the first arrival: sync sets it with every arrival,
    # so no code path leaves it NULL today, and the old row is written here as it was kept.
    request.first_arrival_at = None


@freeze_time(NOW)
def test_arrival_falls_back_to_the_earliest_visit_arrival(make):
    request = make.request(received_at=_at(200))  # arrival due 80 minutes ago
    # The first visit's phone syncs first; the second visit's engineer had arrived earlier.
    _arrive(make, request, _at(30), late_reason="路上堵车,已致电客户")  # S16
    _arrive(make, request, _at(50))
    db.session.expire_all()
    assert request.first_arrival_at == _at(50)  # the engine keeps the earliest arrival
    assert sorted(v.arrived_at for v in request.visits) == [_at(50), _at(30)]
    stored = clocks_of(request, NOW)["onsite"]
    assert stored == {"due": _at(80), "done_at": _at(50), "state": "missed", "minutes": -30}
    assert request.sla_onsite == "missed"

    _as_an_older_server_kept_it(request)
    assert clocks_of(request, NOW)["onsite"] == stored  # read from the visits instead
    # A stored value, set here by hand too, wins over the visits' arrivals when present.
    request.first_arrival_at = _at(90)
    assert clocks_of(request, NOW)["onsite"]["state"] == "met"
    assert request in db.session.dirty  # our own change, not one made by reading the clocks
    db.session.rollback()


@freeze_time(NOW)
def test_reading_the_clocks_does_not_change_the_request(make):
    request = make.request(received_at=_at(100))
    _arrive(make, request, _at(30))
    db.session.expire_all()
    assert request.first_arrival_at == _at(30)
    assert clocks_of(request, NOW)["onsite"]["state"] == "met"
    assert request not in db.session.dirty

    _as_an_older_server_kept_it(request)
    db.session.commit()
    # Reading the clocks falls back to the visit's arrival without filling the old row in.
    assert clocks_of(request, NOW)["onsite"]["done_at"] == _at(30)
    assert request.first_arrival_at is None and request not in db.session.dirty


@freeze_time(NOW)
def test_board_filters_by_status_engineer_customer_and_channel(make):
    eng_a, eng_b = make.user("engineer"), make.user("engineer")
    acme = make.customer(name="Acme 物流")
    other = make.customer(name="第一中学")
    r1 = make.request(acme, received_at=_at(5), channel="email")
    r2 = make.request(other, received_at=_at(6))
    r3 = make.request(other, received_at=_at(7))
    make.visit(r2, eng_a)
    cancelled = make.visit(r3, eng_b)

    def ids(**filters) -> set[int]:
        return {r.request.id for r in board_rows(filters, NOW)}

    assert ids(engineer_id=eng_b.id) == {r3.id}
    cancel_visit(cancelled, "客户改约")
    db.session.commit()

    assert ids() == {r1.id, r2.id, r3.id}
    assert ids(status="scheduled") == {r2.id, r3.id}
    assert ids(engineer_id=eng_a.id) == {r2.id}
    assert ids(engineer_id=eng_b.id) == set()  # a cancelled visit does not count
    assert ids(customer="acme") == {r1.id}
    assert ids(channel="email") == {r1.id}
