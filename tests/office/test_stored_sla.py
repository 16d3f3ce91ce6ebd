"""Stored SLA outcomes (S5) are what `domain/sla.py` reads, on data sent as phones and clerks do.

Reports count the stored outcomes in SQL; these tests hold them to the clocks read on the fly,
with arrivals pushed through the sync endpoint and the other steps recorded on the office pages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from server.domain import sla
from server.extensions import db
from server.office.reports import sla_by_period, tally_clocks, week_starts
from server.register.board import clocks_of
from server.register.models import ServiceRequest
from server.register.sla_store import COLUMNS, store_all
from tests.api.sync_http import HttpPhone
from tests.sync.sync_helpers import transition

T0 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Shanghai


def _read_now(request: ServiceRequest, now: datetime) -> dict[str, str | None]:
    """The outcome of each clock read now, kept only once it can no longer change."""
    out = {}
    for clock, column in COLUMNS.items():
        reading = clocks_of(request, now)[clock]
        done = reading["done_at"] is not None or reading["state"] == sla.NOT_APPLICABLE
        out[column] = reading["state"] if done else None
    return out


def _stored(request: ServiceRequest) -> dict[str, str | None]:
    return {column: getattr(request, column) for column in COLUMNS.values()}


def _arrive(phone: HttpPhone, visit_id: int) -> None:
    # Some arrivals here miss the 2 hours on purpose: the phone then gives a reason (S16).
    arrived = transition("arrived", permission_granted=True, late_reason="路上堵车，已致电客户")
    phone.op("visit.transition", visit_id, arrived)
    body = phone.push()
    assert [r["status"] for r in body["results"]] == ["applied"], body


@pytest.fixture
def company(make, login, signed_device):
    engineer = make.user("engineer")
    return {
        "engineer": engineer,
        "phone": HttpPhone(signed_device(engineer)),
        "office": login(make.user("office", "clerk-li")),
    }


def test_stored_outcomes_match_the_clocks_through_sync_and_office_pages(make, company):
    # Real time: the phone stamps its arrival with its own clock, and the pages sign forms.
    office, phone = company["office"], company["phone"]
    t0 = datetime.now(UTC)
    on_time = make.request(received_at=t0 - timedelta(minutes=10))
    late = make.request(received_at=t0 - timedelta(hours=3))
    remote = make.request(received_at=t0 - timedelta(minutes=10), needs_visit=False)
    running = make.request(received_at=t0)
    v_on_time = make.visit(on_time, company["engineer"])
    v_late = make.visit(late, company["engineer"])
    for request in (on_time, late, running):  # nothing has stopped yet
        assert (request.sla_phone, request.sla_onsite) == (None, None)

    for request in (on_time, late):
        answer = office.post(f"/office/requests/{request.id}/steps/phone-response", data={})
        assert answer.status_code == 302, answer.get_data(as_text=True)
    for step in ("remote-consent", "remote-login"):
        answer = office.post(f"/office/requests/{remote.id}/steps/{step}", data={})
        assert answer.status_code == 302, answer.get_data(as_text=True)
    _arrive(phone, v_on_time.id)
    _arrive(phone, v_late.id)

    db.session.expire_all()
    now = datetime.now(UTC)
    expected = {
        on_time.id: (sla.MET, sla.MET, sla.NOT_APPLICABLE),
        late.id: (sla.MISSED, sla.MISSED, sla.NOT_APPLICABLE),
        remote.id: (None, sla.NOT_APPLICABLE, sla.MET),
        running.id: (None, None, sla.NOT_APPLICABLE),
    }
    for request_id, outcomes in expected.items():
        request = db.session.get(ServiceRequest, request_id)
        assert _stored(request) == _read_now(request, now)
        assert tuple(_stored(request).values()) == outcomes, request_id


def test_retriage_that_drops_the_visit_unsettles_nothing_it_should_not(make, company):
    """A clock decided by a changed input is re-read: needs_visit off makes on-site n/a."""
    with freeze_time(T0):
        request = make.request(received_at=T0 - timedelta(hours=3))
        assert request.sla_onsite is None  # running (overdue, but not stopped)
        request.needs_visit = False
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(ServiceRequest, request.id).sla_onsite == sla.NOT_APPLICABLE


def test_report_counts_in_sql_equal_the_clocks_read_one_by_one(make, company):
    office, phone = company["office"], company["phone"]
    t0 = datetime.now(UTC)
    made = []
    for hours in (0, 1, 3, 5):
        request = make.request(received_at=t0 - timedelta(hours=hours, minutes=10))
        made.append((request, make.visit(request, company["engineer"])))
    make.request(received_at=t0, needs_visit=False)
    for request, visit in made[:3]:
        office.post(f"/office/requests/{request.id}/steps/phone-response", data={})
        _arrive(phone, visit.id)
    now = datetime.now(UTC)
    starts = week_starts(now, 2)  # a request received early on Monday falls in last week
    computed = sla_by_period("week", starts, now)
    # An upgraded database: outcomes not there yet, read on the fly, then filled in once.
    db.session.execute(db.update(ServiceRequest).values(sla_phone=None, sla_onsite=None))
    db.session.commit()
    on_the_fly = sla_by_period("week", starts, now)
    assert store_all() == 5
    stored = sla_by_period("week", starts, now)

    requests = db.session.scalars(db.select(ServiceRequest)).all()
    one_by_one = tally_clocks(clocks_of(r, now) for r in requests)
    for figures in (computed, on_the_fly, stored):
        assert sum(week.requests for week in figures) == len(requests) == 5
        for clock, tally in one_by_one.items():
            got = [sum(getattr(w.clocks[clock], k) for w in figures) for k in ("met", "missed")]
            assert got == [tally.met, tally.missed], clock
            assert sum(w.clocks[clock].pending for w in figures) == tally.pending
    assert one_by_one["onsite"].missed >= 1 and one_by_one["phone"].met >= 1
