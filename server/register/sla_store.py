"""Keep each request's settled SLA outcomes (S5) stored, so reports count them in SQL.

A clock's outcome is settled once it has stopped (met or missed for good) or when the request
has no such clock (not applicable); a running clock changes with the time and is not stored.
The outcome is always the one `domain/sla.py` gives (through `office_board.clocks_of`): a
session hook re-reads the clocks of every request whose times, or whose visits' arrivals, change
in a flush, whichever code path made the change (sync, office forms, the API).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, selectinload

from server.db_types import utcnow
from server.domain import sla
from server.extensions import changed, db
from server.register.board import CLOCKS, clocks_of
from server.register.models import ServiceRequest
from server.visits.models import Visit

SETTLED = (sla.MET, sla.MISSED, sla.NOT_APPLICABLE)
COLUMNS = {clock: f"sla_{clock}" for clock in CLOCKS}
# What a request's clocks are read from; a change to any of them may settle or unsettle one.
_INPUTS = (
    "received_at",
    "needs_visit",
    "phone_response_at",
    "first_arrival_at",
    "remote_consent_at",
    "remote_login_at",
)


def settled_outcomes(request: ServiceRequest) -> dict[str, str | None]:
    """Return, per clock column, its settled outcome, or None while the clock still runs."""
    clocks = clocks_of(request, utcnow())
    out: dict[str, str | None] = {}
    for clock, column in COLUMNS.items():
        reading = clocks[clock]
        settled = reading["state"] == sla.NOT_APPLICABLE or reading["done_at"] is not None
        out[column] = reading["state"] if settled and reading["state"] in SETTLED else None
    return out


def store_outcomes(request: ServiceRequest) -> None:
    """Write the request's settled outcomes onto it (only columns that differ are touched)."""
    for column, value in settled_outcomes(request).items():
        if getattr(request, column) != value:
            setattr(request, column, value)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    touched: dict[int, ServiceRequest] = {}
    with session.no_autoflush:
        for obj in (*session.new, *session.dirty):
            if isinstance(obj, ServiceRequest):
                if obj in session.new or changed(obj, _INPUTS):
                    touched[id(obj)] = obj
            elif isinstance(obj, Visit) and (obj in session.new or changed(obj, ("arrived_at",))):
                request = obj.request
                if request is not None:
                    touched[id(request)] = request
        for request in touched.values():
            if request.received_at is not None:
                store_outcomes(request)


def install() -> None:
    """Hook the outcomes into every flush of every ORM session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)


def store_all(batch: int = 2000) -> int:
    """Fill the outcomes of every request not yet stored (after a bulk load or an upgrade).

    Returns how many requests were read. Requests whose clocks all still run stay NULL and are
    read again next time; reports read those on the fly either way.
    """
    done, last_id = 0, 0
    while True:
        requests = db.session.scalars(
            db.select(ServiceRequest)
            .options(selectinload(ServiceRequest.visits))
            .where(
                ServiceRequest.id > last_id,
                db.or_(*(getattr(ServiceRequest, c).is_(None) for c in COLUMNS.values())),
            )
            .order_by(ServiceRequest.id)
            .limit(batch)
        ).all()
        if not requests:
            return done
        for request in requests:
            store_outcomes(request)
        last_id = requests[-1].id
        done += len(requests)
        db.session.commit()
