"""Reports: weekly SLA compliance, first-time fix rate (S19), the register as CSV."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from freezegun import freeze_time

from server.domain.timezone import COMPANY_TZ
from server.extensions import db
from server.office.reports import (
    csv_cell,
    first_time_fix,
    percent,
    register_csv,
    week_starts,
    weekly_sla,
)
from server.register import operations as register
from server.visits.models import Visit
from tests.office.fieldkit import FieldKit


def local(*args) -> datetime:
    """A Shanghai wall-clock time, as the UTC instant it is."""
    return datetime(*args, tzinfo=COMPANY_TZ).astimezone(UTC)


NOW = local(2026, 3, 10, 14, 0)  # a Tuesday afternoon in Shanghai


def test_weeks_run_monday_to_sunday_in_shanghai():
    assert week_starts(NOW, 3) == [date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 9)]
    # 00:30 on Monday in Shanghai is still Sunday in UTC; the company's week has begun.
    assert week_starts(local(2026, 3, 9, 0, 30), 1) == [date(2026, 3, 9)]


def test_percent_is_none_when_nothing_is_decided():
    assert percent(0, 0) is None
    assert percent(2, 3) == 66.7
    assert percent(3, 3) == 100.0


@freeze_time(NOW)
def test_weekly_sla_counts_met_missed_and_pending_per_commitment(make):
    engineer = make.user("engineer")
    a = make.request(received_at=local(2026, 3, 9, 10, 0))
    register.record_phone_response(a, {"at": local(2026, 3, 9, 10, 30)})  # phone met
    kit = FieldKit(make.visit(a, engineer), engineer)
    kit.arrive(local(2026, 3, 9, 13, 0), late_reason="路上堵车")  # after 3 h: on-site missed
    make.request(received_at=local(2026, 3, 10, 13, 30))  # both clocks still running
    c = make.request(received_at=local(2026, 3, 9, 20, 0), needs_visit=False)  # phone missed
    register.record_remote_consent(c, {"at": local(2026, 3, 9, 20, 10)})
    register.record_remote_login(c, {"at": local(2026, 3, 9, 20, 30)})  # remote met
    e = make.request(received_at=local(2026, 3, 9, 0, 10))  # Monday 00:10 belongs to this week
    register.record_phone_response(e, {"at": local(2026, 3, 9, 0, 20)})  # never arrived: missed
    d = make.request(received_at=local(2026, 3, 8, 23, 30))  # Sunday: last week
    register.record_phone_response(d, {"at": local(2026, 3, 8, 23, 40)})
    make.request(received_at=local(2026, 3, 9, 9, 0), channel="return_visit")  # left out
    db.session.commit()
    db.session.expire_all()
    # The arrival is the phone's word, as sync kept it; it stopped the on-site clock, late.
    assert a.first_arrival_at == local(2026, 3, 9, 13, 0)
    assert (a.sla_phone, a.sla_onsite, a.sla_remote) == ("met", "missed", "not_applicable")

    last_week, this_week = weekly_sla(NOW, weeks=2)
    assert this_week.start == date(2026, 3, 9) and this_week.requests == 4
    phone, onsite, remote = (this_week.clocks[k] for k in ("phone", "onsite", "remote"))
    assert (phone.met, phone.missed, phone.pending) == (2, 1, 1)
    assert phone.percent == 66.7
    assert (onsite.met, onsite.missed, onsite.pending) == (0, 2, 1)
    assert onsite.percent == 0.0
    assert (remote.met, remote.missed, remote.pending) == (1, 0, 0)
    assert last_week.start == date(2026, 3, 2) and last_week.requests == 1
    assert (last_week.clocks["phone"].met, last_week.clocks["onsite"].missed) == (1, 1)
    assert last_week.clocks["remote"].percent is None


@freeze_time(local(2026, 4, 20, 12, 0))
def test_first_time_fix_rate_over_a_week(make):
    engineer = make.user("engineer")
    customer = make.customer()
    day = local(2026, 3, 3, 9, 0)

    def visit(request, arrived: datetime, status="completed", purpose="repair", **answers):
        # A phone of its own for each visit: one phone's clock never runs back between ops.
        kit = FieldKit(make.visit(request, engineer, purpose=purpose), engineer)
        kit.arrive(arrived)
        if status == "completed":
            answers.setdefault("outcome_summary", "更换电源模块,恢复正常")
        else:
            answers.setdefault("explanation", "主板损坏,需返厂维修")
        kit.finish(status, **answers)

    def job(status="completed", escalate=False, visits=1, equipment=None, purpose_after=None):
        request = make.request(
            customer, received_at=day, equipment_id=equipment.id if equipment else None
        )
        for n in range(visits):
            visit(request, day + timedelta(hours=1 + 24 * n), status, escalate=escalate)
        if purpose_after:
            visit(request, day + timedelta(days=3), purpose=purpose_after)
        return request

    job()  # 1 fixed
    job(status="not_fixed")  # 2
    job(escalate=True)  # 3
    job(visits=2)  # 4 a second repair visit
    e5, e6, e7 = (make.equipment(customer) for _ in range(3))
    job(equipment=e5)  # 5 the same equipment came back within 30 days
    make.request(customer, equipment_id=e5.id, received_at=local(2026, 3, 20, 9, 0))
    job(equipment=e6)  # 6 came back after 30 days: still fixed first time
    make.request(customer, equipment_id=e6.id, received_at=local(2026, 4, 10, 9, 0))
    job(equipment=e7)  # 7 a periodic return visit is not a repeat
    make.request(
        customer, equipment_id=e7.id, received_at=local(2026, 3, 10, 9, 0), channel="return_visit"
    )
    scheduled = make.request(customer, received_at=day)  # 8 no finished visit: not counted
    make.visit(scheduled, engineer)
    job(purpose_after="follow_up")  # 9 a follow-up visit is not a second repair

    # What the phones sent is what the visits hold: 10 finished, one not fixed, one escalated.
    finished = db.session.execute(
        db.select(Visit.status, Visit.escalate).where(Visit.status != "scheduled")
    ).all()
    assert Counter(tuple(row) for row in finished) == {
        ("completed", False): 8,
        ("not_fixed", False): 1,
        ("completed", True): 1,
    }
    weeks = {w.start: w for w in first_time_fix(local(2026, 4, 20, 12, 0), weeks=8)}
    week = weeks[date(2026, 3, 2)]
    assert (week.counted, week.fixed, week.provisional) == (8, 4, 0)
    assert week.percent == 50.0
    assert all(w.counted == 0 for start, w in weeks.items() if start != date(2026, 3, 2))


@freeze_time(local(2026, 3, 10, 12, 0))
def test_first_time_fix_within_30_days_is_provisional(make):
    engineer = make.user("engineer")
    request = make.request(received_at=local(2026, 3, 9, 9, 0))
    kit = FieldKit(make.visit(request, engineer), engineer)
    kit.arrive(local(2026, 3, 9, 10, 0))
    kit.finish("completed", outcome_summary="更换电源模块,恢复正常")
    (week,) = first_time_fix(local(2026, 3, 10, 12, 0), weeks=1)
    assert (week.counted, week.fixed, week.provisional) == (1, 1, 1)
    # Thirty days after the arrival the equipment has not come back: the fix is settled.
    settled = first_time_fix(local(2026, 4, 8, 10, 1), weeks=5)
    assert settled[0].start == date(2026, 3, 9)
    assert (settled[0].counted, settled[0].fixed, settled[0].provisional) == (1, 1, 0)


def test_csv_cells_never_run_as_formulas():
    assert csv_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert csv_cell("+86 29 8888") == "'+86 29 8888"
    assert csv_cell("-1") == "'-1"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("网络中断") == "网络中断"
    assert csv_cell(None) == ""
    assert csv_cell(local(2026, 3, 9, 8, 5)) == "2026-03-09 08:05"


@freeze_time(NOW)
def test_register_csv_exports_the_days_asked_for(make):
    customer = make.customer(name="西安第一中学")
    make.request(customer, received_at=local(2026, 3, 8, 23, 59), problem="before")
    inside = make.request(customer, received_at=local(2026, 3, 9, 0, 0), problem="=1+1")
    make.request(customer, received_at=local(2026, 3, 10, 9, 0), problem="after")
    body = register_csv(date(2026, 3, 9), date(2026, 3, 9), NOW)
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert [r["number"] for r in rows] == [inside.number]
    row = rows[0]
    assert row["problem"] == "'=1+1"
    assert row["customer"] == "西安第一中学"
    assert row["received_at"] == "2026-03-09 00:00"
    assert row["sla_phone"] == "missed" and row["status"] == "registered"
    everything = list(csv.DictReader(io.StringIO(register_csv(None, None, NOW).lstrip("\ufeff"))))
    assert len(everything) == 3
