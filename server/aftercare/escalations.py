"""The supervisor's escalation queue (S30): faults not fixed, or not fully fixed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import selectinload

from server.accounts.models import Role, User
from server.aftercare.models import Escalation
from server.db_types import utcnow
from server.errors import ApiError
from server.extensions import db
from server.register.models import RequestStatus, ServiceRequest
from server.visits.models import Visit, VisitStatus, visit_flagged

HANDLERS = (Role.SUPERVISOR, Role.ADMIN)


@dataclass
class EscalationItem:
    key: str
    request: ServiceRequest
    visit: Visit | None
    reason: str  # visit_escalated | visit_not_fixed | request_escalated
    handling: Escalation | None

    @property
    def state(self) -> str:
        if self.handling is None or self.handling.taken_at is None:
            return "waiting"
        return "resolved" if self.handling.resolved_at else "taken"


def _sources(include_resolved: bool) -> list[tuple[str, ServiceRequest, Visit | None, str]]:
    """Find everything that calls for the supervisor: flagged visits and escalated requests.

    Without `include_resolved`, what a supervisor has resolved is left out in the query, so the
    open queue costs the same however many were resolved over the years.
    """
    flagged = visit_flagged()
    query = (
        db.select(Visit)
        .options(
            selectinload(Visit.request).selectinload(ServiceRequest.customer),
            selectinload(Visit.engineer),
        )
        .where(flagged)
        .order_by(Visit.id)
    )
    if not include_resolved:
        query = query.where(
            ~db.select(Escalation.id)
            .where(Escalation.visit_id == Visit.id, Escalation.resolved_at.is_not(None))
            .exists()
        )
    visits = db.session.scalars(query).all()
    found = [
        (
            f"visit:{v.id}",
            v.request,
            v,
            "visit_escalated" if v.escalate else "visit_not_fixed",
        )
        for v in visits
    ]
    # A request escalated because of a flagged visit (listed or resolved) needs no second line.
    covered = db.select(Visit.request_id).where(flagged)
    query = (
        db.select(ServiceRequest)
        .options(selectinload(ServiceRequest.customer))
        .where(ServiceRequest.status == RequestStatus.ESCALATED, ServiceRequest.id.not_in(covered))
        .order_by(ServiceRequest.id)
    )
    if not include_resolved:
        query = query.where(
            ~db.select(Escalation.id)
            .where(
                Escalation.request_id == ServiceRequest.id,
                Escalation.visit_id.is_(None),
                Escalation.resolved_at.is_not(None),
            )
            .exists()
        )
    found += [(f"request:{r.id}", r, None, "request_escalated") for r in db.session.scalars(query)]
    return found


def escalation_queue(include_resolved: bool = False) -> list[EscalationItem]:
    """Return the escalations, waiting ones first, then taken; resolved ones only if asked."""
    sources = _sources(include_resolved)
    keys = [key for key, *_ in sources]
    handling = {
        e.key: e for e in db.session.scalars(db.select(Escalation).where(Escalation.key.in_(keys)))
    }
    items = [
        EscalationItem(key, request, visit, reason, handling.get(key))
        for key, request, visit, reason in sources
    ]
    order = {"waiting": 0, "taken": 1, "resolved": 2}
    items = [i for i in items if include_resolved or i.state != "resolved"]
    items.sort(key=lambda i: (order[i.state], i.request.received_at, i.key))
    return items


def recently_resolved(limit: int = 20) -> list[EscalationItem]:
    """Return the escalations resolved last, newest first, for the page to show beneath."""
    rows = db.session.scalars(
        db.select(Escalation)
        .where(Escalation.resolved_at.is_not(None))
        .order_by(Escalation.resolved_at.desc(), Escalation.id.desc())
        .limit(limit)
    ).all()
    items = []
    for row in rows:
        visit = db.session.get(Visit, row.visit_id) if row.visit_id else None
        reason = "request_escalated"
        if visit is not None:
            reason = "visit_escalated" if visit.escalate else "visit_not_fixed"
        request = db.session.get(ServiceRequest, row.request_id)
        items.append(EscalationItem(row.key, request, visit, reason, row))
    return items


def find_item(key: str) -> EscalationItem:
    """Return the queue item with this key, or 404; looked up directly, not by listing all."""
    kind, _, ident = key.partition(":")
    handling = db.session.scalar(db.select(Escalation).where(Escalation.key == key))
    if kind == "visit" and ident.isdigit():
        visit = db.session.get(Visit, int(ident))
        if visit is not None and (visit.escalate or visit.status == VisitStatus.NOT_FIXED):
            reason = "visit_escalated" if visit.escalate else "visit_not_fixed"
            return EscalationItem(key, visit.request, visit, reason, handling)
    elif kind == "request" and ident.isdigit():
        request = db.session.get(ServiceRequest, int(ident))
        flagged_visit = (
            db.select(Visit.id)
            .where(
                Visit.request_id == int(ident),
                visit_flagged(),
            )
            .exists()
        )
        if (
            request is not None
            and request.status == RequestStatus.ESCALATED
            and not db.session.scalar(db.select(flagged_visit))
        ):
            return EscalationItem(key, request, None, "request_escalated", handling)
    raise ApiError(404, "err.aftercare.no_escalation")


def _require_handler(by: User) -> None:
    if by.role not in HANDLERS:
        raise ApiError(403, "err.aftercare.escalation_supervisor")


def _handling(item: EscalationItem) -> Escalation:
    if item.handling is None:
        item.handling = Escalation(
            key=item.key,
            request_id=item.request.id,
            visit_id=item.visit.id if item.visit else None,
        )
        db.session.add(item.handling)
    return item.handling


def take_escalation(key: str, by: User) -> Escalation:
    """Let the supervisor take an escalation, so the office sees it is in hand."""
    _require_handler(by)
    item = find_item(key)
    if item.state == "resolved":
        raise ApiError(409, "err.aftercare.escalation_resolved")
    handling = _handling(item)
    handling.taken_by_id = by.id
    handling.taken_at = utcnow()
    return handling


def resolve_escalation(key: str, resolution: str, by: User) -> Escalation:
    """Record how the supervisor resolved an escalation."""
    _require_handler(by)
    item = find_item(key)
    if item.state == "resolved":
        raise ApiError(409, "err.aftercare.escalation_resolved")
    handling = _handling(item)
    now = utcnow()
    if handling.taken_at is None:
        handling.taken_by_id, handling.taken_at = by.id, now
    handling.resolved_by_id = by.id
    handling.resolved_at = now
    handling.resolution = resolution
    return handling
