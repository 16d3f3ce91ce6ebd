"""The SLA board: open requests with their response clocks, the riskiest first (S5, S11)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import selectinload

from server.domain import sla
from server.extensions import db
from server.register.listing import requests_query
from server.register.models import Level, ServiceRequest
from server.register.sla_view import request_clocks
from server.visits.models import Visit, VisitStatus

# A clock still running is ranked by how bad it is now; a finished clock no longer needs action.
_OPEN_RANK = {sla.MISSED: 0, sla.AT_RISK: 1, sla.RUNNING: 2}
_NOTHING_OPEN = 3
_LEVEL_RANK = {Level.CRITICAL: 0, Level.HIGH: 1, Level.NORMAL: 2, Level.LOW: 3}
CLOCKS = ("phone", "onsite", "remote")


@dataclass(frozen=True)
class ClockInputs:
    """The times a request's clocks are read from, with arrival taken from its visits if need be."""

    received_at: datetime
    needs_visit: bool
    phone_response_at: datetime | None
    first_arrival_at: datetime | None
    remote_consent_at: datetime | None
    remote_login_at: datetime | None


def arrival_of(request: ServiceRequest) -> datetime | None:
    """Return the first arrival on site: the synced value, else the earliest visit arrival."""
    if request.first_arrival_at is not None:
        return request.first_arrival_at
    arrivals = [v.arrived_at for v in request.visits if v.arrived_at is not None]
    return min(arrivals) if arrivals else None


def clocks_of(request: ServiceRequest, now: datetime) -> dict[str, dict[str, Any]]:
    """Read the three clocks of a request at `now`, without touching the request row."""
    inputs = ClockInputs(
        received_at=request.received_at,
        needs_visit=request.needs_visit,
        phone_response_at=request.phone_response_at,
        first_arrival_at=arrival_of(request),
        remote_consent_at=request.remote_consent_at,
        remote_login_at=request.remote_login_at,
    )
    return request_clocks(inputs, now)  # type: ignore[arg-type]


def risk_key(
    clocks: dict[str, dict[str, Any]],
    severity: str,
    urgency: str,
    received_at: datetime,
    request_id: int = 0,
) -> tuple:
    """Return the sort key of a board row: lower is riskier.

    First the worst clock still running (missed, then at risk, then running); among equals the
    one with the fewest minutes left (the most overdue first); then severity and urgency (S11);
    then the oldest request.
    """
    open_clocks = [c for c in clocks.values() if c["done_at"] is None and c["state"] in _OPEN_RANK]
    if open_clocks:
        rank = min(_OPEN_RANK[c["state"]] for c in open_clocks)
        minutes = min(c["minutes"] for c in open_clocks if _OPEN_RANK[c["state"]] == rank)
    else:
        rank, minutes = _NOTHING_OPEN, 0
    return (
        rank,
        minutes,
        _LEVEL_RANK.get(severity, 9),
        _LEVEL_RANK.get(urgency, 9),
        received_at,
        request_id,
    )


@dataclass
class BoardRow:
    request: ServiceRequest
    clocks: dict[str, dict[str, Any]]
    visits: list[Visit] = field(default_factory=list)

    @property
    def alarm(self) -> str | None:
        """Return "missed" or "at_risk" if any clock is so, for the row's highlight."""
        states = {c["state"] for c in self.clocks.values()}
        if sla.MISSED in states:
            return sla.MISSED
        if sla.AT_RISK in states:
            return sla.AT_RISK
        return None

    @property
    def open_alarm(self) -> str | None:
        """Return "missed" or "at_risk" for the worst clock still running, else None (S11).

        A clock already done, even late, needs no more telling: what is still to come does.
        """
        states = {c["state"] for c in self.clocks.values() if c["done_at"] is None}
        if sla.MISSED in states:
            return sla.MISSED
        if sla.AT_RISK in states:
            return sla.AT_RISK
        return None


def board_rows(filters: dict[str, Any], now: datetime) -> list[BoardRow]:
    """Return the open requests matching the filters, riskiest first."""
    query = requests_query({**filters, "open": True}).options(
        selectinload(ServiceRequest.visits).selectinload(Visit.engineer),
        selectinload(ServiceRequest.customer),
        selectinload(ServiceRequest.equipment),
    )
    rows = []
    for request in db.session.scalars(query):
        visits = [v for v in request.visits if v.status != VisitStatus.CANCELLED]
        rows.append(BoardRow(request, clocks_of(request, now), visits))
    rows.sort(
        key=lambda r: risk_key(
            r.clocks, r.request.severity, r.request.urgency, r.request.received_at, r.request.id
        )
    )
    return rows
