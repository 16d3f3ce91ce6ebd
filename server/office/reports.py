"""Reports: weekly SLA compliance (S5), first-time fix rate (S19), the register as CSV.

Weeks run Monday to Sunday on the company's calendar (Shanghai). A request belongs to the week
it was received in. Return visits (channel ``return_visit``) are booked by the company itself,
so they are left out of both figures.

SLA compliance counts, per commitment, the requests whose clock is decided: met (done in time)
or missed (done late, or not done and past due). Clocks still running are shown as pending and
do not count either way; requests with no such clock (no visit needed, no remote consent) are
not counted for that commitment.

First-time fix (S19) counts the requests whose first repair visit is over, and of them those
fixed first time, by the rule stated in `domain/first_fix.py`; each request's verdict is stored
(`register/first_fix_store.py`). A verdict whose 30 days are not over yet is counted on what is
known today and marked provisional.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case
from sqlalchemy.orm import selectinload

from server.aftercare.models import Complaint, ComplaintStatus
from server.domain import sla
from server.domain.aftercare import callback_state
from server.domain.first_fix import provisional_since
from server.domain.timezone import COMPANY_TZ, business_day, day_bounds_utc
from server.extensions import db
from server.register.board import CLOCKS, arrival_of, clocks_of
from server.register.models import Channel, FirstFix, ServiceRequest
from server.register.sla_store import COLUMNS as STORED
from server.visits.models import Visit, VisitStatus

PERIOD_KINDS = ("week", "month", "quarter")


def week_start(day: date) -> date:
    """Return the Monday of the week containing `day`."""
    return day - timedelta(days=day.weekday())


def period_start(kind: str, day: date) -> date:
    """Return the first day of the week (Monday), month or quarter containing `day`."""
    if kind == "week":
        return week_start(day)
    if kind == "month":
        return day.replace(day=1)
    if kind == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise ValueError(f"unknown period {kind!r}")


def next_period(kind: str, start: date) -> date:
    """Return the first day of the period after the one starting on `start`."""
    if kind == "week":
        return start + timedelta(weeks=1)
    months = 1 if kind == "month" else 3
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def periods_between(kind: str, first: date, last: date) -> list[date]:
    """Return the starts of the periods that cover the days `first` to `last`, oldest first."""
    starts, current = [], period_start(kind, first)
    while current <= last:
        starts.append(current)
        current = next_period(kind, current)
    return starts


def last_periods(kind: str, now: datetime, count: int) -> list[date]:
    """Return the starts of the last `count` periods, oldest first, ending with the current one."""
    starts = [period_start(kind, business_day(now))]
    while len(starts) < count:
        starts.insert(0, period_start(kind, starts[0] - timedelta(days=1)))
    return starts


def week_starts(now: datetime, weeks: int) -> list[date]:
    """Return the Mondays of the last `weeks` weeks, oldest first, ending with this week."""
    return last_periods("week", now, weeks)


def percent(part: int, whole: int) -> float | None:
    """Return part of whole in percent to one decimal, or None when there is nothing to count."""
    if whole == 0:
        return None
    return round(part * 100 / whole, 1)


@dataclass
class ClockTally:
    met: int = 0
    missed: int = 0
    pending: int = 0

    @property
    def decided(self) -> int:
        return self.met + self.missed

    @property
    def percent(self) -> float | None:
        return percent(self.met, self.decided)


@dataclass
class WeekSla:
    """SLA compliance of the requests received in one period (a week, month or quarter)."""

    start: date
    clocks: dict[str, ClockTally] = field(default_factory=lambda: {c: ClockTally() for c in CLOCKS})
    requests: int = 0


def _count(tally: ClockTally, state: str | None, n: int = 1) -> None:
    if state == sla.MET:
        tally.met += n
    elif state == sla.MISSED:
        tally.missed += n
    elif state in (sla.RUNNING, sla.AT_RISK):
        tally.pending += n


def tally_clocks(readings: Iterable[dict[str, dict[str, Any]]]) -> dict[str, ClockTally]:
    """Count met, missed and pending clocks over many requests' readings."""
    tallies = {c: ClockTally() for c in CLOCKS}
    for clocks in readings:
        for name in CLOCKS:
            _count(tallies[name], clocks[name]["state"])
    return tallies


def _span(kind: str, starts: list[date]) -> tuple[datetime, datetime]:
    return day_bounds_utc(starts[0])[0], day_bounds_utc(next_period(kind, starts[-1]))[0]


def _period_index(column: Any, kind: str, starts: list[date]) -> Any:
    """SQL for the index in `starts` of the period a moment falls in (periods are contiguous)."""
    ends = [day_bounds_utc(next_period(kind, start))[0] for start in starts]
    return case(*((column < end, i) for i, end in enumerate(ends)))


def _counted_requests(kind: str, starts: list[date]) -> tuple:
    lo, hi = _span(kind, starts)
    return (
        ServiceRequest.received_at >= lo,
        ServiceRequest.received_at < hi,
        ServiceRequest.channel != Channel.RETURN_VISIT,
    )


def sla_by_period(kind: str, starts: list[date], now: datetime) -> list[WeekSla]:
    """Return, for each period, met/missed/pending per commitment (S5).

    Settled outcomes are stored on the request (`office_sla_store`) and counted in SQL; only
    the clocks still running (NULL there) are read now, from their requests.
    """
    result = [WeekSla(start=start) for start in starts]
    if not starts:
        return result
    where = _counted_requests(kind, starts)
    index = _period_index(ServiceRequest.received_at, kind, starts).label("period")
    stored = [getattr(ServiceRequest, column) for column in STORED.values()]
    rows = db.session.execute(
        db.select(index, *stored, db.func.count()).where(*where).group_by(index, *stored)
    )
    for i, *states, n in rows:
        period = result[i]
        period.requests += n
        for clock, state in zip(CLOCKS, states, strict=True):
            _count(period.clocks[clock], state, n)
    running = db.session.scalars(
        db.select(ServiceRequest)
        .options(selectinload(ServiceRequest.visits))
        .where(*where, db.or_(*(column.is_(None) for column in stored)))
    )
    first = {start: i for i, start in enumerate(starts)}
    for request in running:
        clocks = clocks_of(request, now)
        period = result[first[period_start(kind, business_day(request.received_at))]]
        for clock, column in STORED.items():
            if getattr(request, column) is None:
                _count(period.clocks[clock], clocks[clock]["state"])
    return result


def weekly_sla(now: datetime, weeks: int = 8) -> list[WeekSla]:
    """Return, for each of the last `weeks` weeks, met/missed/pending per commitment."""
    return sla_by_period("week", week_starts(now, weeks), now)


@dataclass
class WeekFix:
    """First-time fix (S19) of the requests received in one period."""

    start: date
    counted: int = 0
    fixed: int = 0
    provisional: int = 0

    @property
    def percent(self) -> float | None:
        return percent(self.fixed, self.counted)


def fix_by_period(kind: str, starts: list[date], now: datetime) -> list[WeekFix]:
    """Return the first-time fix rate (S19) for each period, counted from the stored verdicts."""
    result = [WeekFix(start=start) for start in starts]
    if not starts:
        return result
    index = _period_index(ServiceRequest.received_at, kind, starts)
    provisional = FirstFix.first_at > provisional_since(now)
    rows = db.session.execute(
        db.select(index, FirstFix.fixed, provisional, db.func.count())
        .join(FirstFix, FirstFix.request_id == ServiceRequest.id)
        .where(*_counted_requests(kind, starts))
        .group_by(index, FirstFix.fixed, provisional)
    )
    for i, fixed, is_provisional, n in rows:
        period = result[i]
        period.counted += n
        period.fixed += n if fixed else 0
        period.provisional += n if is_provisional else 0
    return result


def first_time_fix(now: datetime, weeks: int = 8) -> list[WeekFix]:
    """Return the first-time fix rate for each of the last `weeks` weeks."""
    return fix_by_period("week", week_starts(now, weeks), now)


@dataclass
class CallbackTally:
    """Call backs (S12) after the visits that finished in one period."""

    start: date
    on_time: int = 0
    late: int = 0
    pending: int = 0

    @property
    def percent(self) -> float | None:
        return percent(self.on_time, self.on_time + self.late)


def callbacks_by_period(kind: str, starts: list[date], now: datetime) -> list[CallbackTally]:
    """Count visits called back within the promise, late, or not yet due, per period (S12)."""
    result = [CallbackTally(start=start) for start in starts]
    if not starts:
        return []
    lo, hi = _span(kind, starts)
    index = _period_index(Visit.finished_at, kind, starts)
    rows = db.session.execute(
        db.select(index, Visit.finished_at, Visit.called_back_at).where(
            Visit.finished_at >= lo, Visit.finished_at < hi
        )
    )
    for i, finished_at, called_at in rows:
        tally = result[i]
        state = callback_state(finished_at, called_at, now)
        if state == "pending":
            tally.pending += 1
        elif state == "on_time":
            tally.on_time += 1
        else:
            tally.late += 1
    return result


@dataclass
class ComplaintTally:
    """Complaints (S32) received in one period and what became of them."""

    start: date
    received: int = 0
    resolved: int = 0

    @property
    def open(self) -> int:
        return self.received - self.resolved


def complaints_by_period(kind: str, starts: list[date]) -> list[ComplaintTally]:
    """Count complaints received per period, and how many of them are resolved."""
    result = {start: ComplaintTally(start=start) for start in starts}
    if not starts:
        return []
    lo, _ = day_bounds_utc(starts[0])
    hi, _ = day_bounds_utc(next_period(kind, starts[-1]))
    rows = db.session.execute(
        db.select(Complaint.received_at, Complaint.status).where(
            Complaint.received_at >= lo, Complaint.received_at < hi
        )
    )
    for received_at, status in rows:
        tally = result[period_start(kind, business_day(received_at))]
        tally.received += 1
        tally.resolved += status == ComplaintStatus.RESOLVED
    return list(result.values())


@dataclass
class PeriodReport:
    """Every figure of the reports page for one run of periods."""

    kind: str
    starts: list[date]
    sla: list[WeekSla]
    fix: list[WeekFix]
    callbacks: list[CallbackTally]
    complaints: list[ComplaintTally]


def period_report(kind: str, starts: list[date], now: datetime) -> PeriodReport:
    """Gather SLA, first-time fix, call backs and complaints for the periods starting `starts`."""
    return PeriodReport(
        kind,
        starts,
        sla_by_period(kind, starts, now),
        fix_by_period(kind, starts, now),
        callbacks_by_period(kind, starts, now),
        complaints_by_period(kind, starts),
    )


REPORT_COLUMNS = (
    "period",
    "requests",
    *(f"{clock}_{what}" for clock in CLOCKS for what in ("met", "missed", "pending")),
    "first_visit_counted",
    "first_time_fixed",
    "first_time_fix_provisional",
    "callbacks_on_time",
    "callbacks_late",
    "callbacks_pending",
    "complaints_received",
    "complaints_resolved",
)


def report_csv(report: PeriodReport) -> str:
    """Return the report's figures as CSV, one row per period."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    for s, f, c, k in zip(report.sla, report.fix, report.callbacks, report.complaints, strict=True):
        clocks = [
            getattr(s.clocks[clock], what)
            for clock in CLOCKS
            for what in ("met", "missed", "pending")
        ]
        fix = (f.counted, f.fixed, f.provisional)
        calls = (c.on_time, c.late, c.pending)
        writer.writerow(
            [s.start.isoformat(), s.requests, *clocks, *fix, *calls, k.received, k.resolved]
        )
    return out.getvalue()


# --- CSV export of the register ---

CSV_COLUMNS = (
    "number",
    "received_at",
    "customer",
    "contact_name",
    "contact_phone",
    "address",
    "equipment",
    "problem",
    "symptoms",
    "channel",
    "severity",
    "urgency",
    "status",
    "phone_response_at",
    "first_arrival_at",
    "remote_consent_at",
    "remote_login_at",
    "sla_phone",
    "sla_onsite",
    "sla_remote",
    "visits",
    "callbacks",
    "result",
    "resolved_at",
    "closed_at",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """Render a value for a spreadsheet; text a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(COMPANY_TZ).strftime("%Y-%m-%d %H:%M")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def register_csv(start: date | None, end: date | None, now: datetime) -> str:
    """Return the register entries received from `start` to `end` (inclusive days) as CSV."""
    query = (
        db.select(ServiceRequest)
        .options(
            selectinload(ServiceRequest.visits),
            selectinload(ServiceRequest.callbacks),
            selectinload(ServiceRequest.customer),
            selectinload(ServiceRequest.equipment),
        )
        .order_by(ServiceRequest.received_at, ServiceRequest.id)
    )
    if start is not None:
        query = query.where(ServiceRequest.received_at >= day_bounds_utc(start)[0])
    if end is not None:
        query = query.where(ServiceRequest.received_at < day_bounds_utc(end)[1])
    out = io.StringIO()
    # The byte-order mark makes spreadsheet programs read the Chinese text as UTF-8.
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in db.session.scalars(query):
        clocks = clocks_of(r, now)
        equipment = f"{r.equipment.brand} {r.equipment.model}" if r.equipment else None
        writer.writerow(
            csv_cell(v)
            for v in (
                r.number,
                r.received_at,
                r.customer.name,
                r.contact_name,
                r.contact_phone,
                r.address,
                equipment,
                r.problem,
                r.symptoms,
                r.channel,
                r.severity,
                r.urgency,
                r.status,
                r.phone_response_at,
                arrival_of(r),
                r.remote_consent_at,
                r.remote_login_at,
                clocks["phone"]["state"],
                clocks["onsite"]["state"],
                clocks["remote"]["state"],
                len([v for v in r.visits if v.status != VisitStatus.CANCELLED]),
                len(r.callbacks),
                r.result,
                r.resolved_at,
                r.closed_at,
            )
        )
    return out.getvalue()
