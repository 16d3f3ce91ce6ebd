"""Reports: weekly SLA compliance (S5), first-time fix rate (S19), the register as CSV.

Weeks run Monday to Sunday on the company's calendar (Shanghai). A request belongs to the week
it was received in. Return visits (channel ``return_visit``) are booked by the company itself,
so they are left out of both figures.

SLA compliance counts, per commitment, the requests whose clock is decided: met (done in time)
or missed (done late, or not done and past due). Clocks still running are shown as pending and
do not count either way; requests with no such clock (no visit needed, no remote consent) are
not counted for that commitment.

First-time fix (S19), stated plainly: a request with a finished repair visit was fixed first
time when its first repair visit ended ``completed`` (not ``not_fixed``, not flagged for
escalation), the request needed no second repair visit, and no later request for the same
equipment arrived within 30 days of that first visit. Requests without a named equipment can
only fail by the first two tests. A request whose 30 days are not over yet is counted on what is
known today and marked provisional.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import selectinload

from ..domain import sla
from ..domain.timezone import COMPANY_TZ, business_day, day_bounds_utc
from ..extensions import db
from ..models import Channel, ServiceRequest, Visit, VisitStatus
from .office_board import CLOCKS, arrival_of, clocks_of

REPEAT_WINDOW = timedelta(days=30)
FINISHED = (VisitStatus.COMPLETED, VisitStatus.NOT_FIXED)


def week_start(day: date) -> date:
    """Return the Monday of the week containing `day`."""
    return day - timedelta(days=day.weekday())


def week_starts(now: datetime, weeks: int) -> list[date]:
    """Return the Mondays of the last `weeks` weeks, oldest first, ending with this week."""
    this_week = week_start(business_day(now))
    return [this_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


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
    start: date
    clocks: dict[str, ClockTally] = field(default_factory=lambda: {c: ClockTally() for c in CLOCKS})
    requests: int = 0


def tally_clocks(readings: Iterable[dict[str, dict[str, Any]]]) -> dict[str, ClockTally]:
    """Count met, missed and pending clocks over many requests' readings."""
    tallies = {c: ClockTally() for c in CLOCKS}
    for clocks in readings:
        for name in CLOCKS:
            state = clocks[name]["state"]
            if state == sla.MET:
                tallies[name].met += 1
            elif state == sla.MISSED:
                tallies[name].missed += 1
            elif state in (sla.RUNNING, sla.AT_RISK):
                tallies[name].pending += 1
    return tallies


def _requests_between(start: date, end: date) -> list[ServiceRequest]:
    lo, _ = day_bounds_utc(start)
    hi, _ = day_bounds_utc(end)
    return list(
        db.session.scalars(
            db.select(ServiceRequest)
            .options(selectinload(ServiceRequest.visits))
            .where(
                ServiceRequest.received_at >= lo,
                ServiceRequest.received_at < hi,
                ServiceRequest.channel != Channel.RETURN_VISIT,
            )
            .order_by(ServiceRequest.received_at, ServiceRequest.id)
        )
    )


def weekly_sla(now: datetime, weeks: int = 8) -> list[WeekSla]:
    """Return, for each of the last `weeks` weeks, met/missed/pending per commitment."""
    starts = week_starts(now, weeks)
    result = []
    for start in starts:
        requests = _requests_between(start, start + timedelta(weeks=1))
        week = WeekSla(start=start, requests=len(requests))
        week.clocks = tally_clocks(clocks_of(r, now) for r in requests)
        result.append(week)
    return result


def _visit_time(visit: Visit) -> datetime:
    return visit.arrived_at or visit.window_start or visit.created_at


def first_time_fixed(
    first_visit_status: str,
    first_visit_escalated: bool,
    later_repair_visits: int,
    first_visit_at: datetime,
    later_requests_at: Sequence[datetime],
) -> bool:
    """Decide S19 for one request; see the module docstring for the rule in words."""
    if first_visit_status != VisitStatus.COMPLETED or first_visit_escalated:
        return False
    if later_repair_visits:
        return False
    return not any(
        first_visit_at < at <= first_visit_at + REPEAT_WINDOW for at in later_requests_at
    )


@dataclass
class WeekFix:
    start: date
    counted: int = 0
    fixed: int = 0
    provisional: int = 0

    @property
    def percent(self) -> float | None:
        return percent(self.fixed, self.counted)


def first_time_fix(now: datetime, weeks: int = 8) -> list[WeekFix]:
    """Return the first-time fix rate for each of the last `weeks` weeks."""
    starts = week_starts(now, weeks)
    result = []
    for start in starts:
        week = WeekFix(start=start)
        for request in _requests_between(start, start + timedelta(weeks=1)):
            repairs = sorted(
                (
                    v
                    for v in request.visits
                    if v.purpose == "repair" and v.status != VisitStatus.CANCELLED
                ),
                key=lambda v: v.visit_no,
            )
            if not repairs or repairs[0].status not in FINISHED:
                continue
            first = repairs[0]
            at = _visit_time(first)
            later = []
            if request.equipment_id is not None:
                later = list(
                    db.session.scalars(
                        db.select(ServiceRequest.received_at).where(
                            ServiceRequest.equipment_id == request.equipment_id,
                            ServiceRequest.id != request.id,
                            ServiceRequest.channel != Channel.RETURN_VISIT,
                            ServiceRequest.received_at > at,
                        )
                    )
                )
            week.counted += 1
            if first_time_fixed(first.status, first.escalate, len(repairs) - 1, at, later):
                week.fixed += 1
            if at + REPEAT_WINDOW > now:
                week.provisional += 1
        result.append(week)
    return result


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
