"""The supervisor's escalation queue (S30): faults not fixed, or not fully fixed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from ..errors import ApiError
from ..extensions import db
from ..models import Escalation, RequestStatus, Role, ServiceRequest, User, Visit, VisitStatus
from ..models.types import utcnow

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


def _sources() -> list[tuple[str, ServiceRequest, Visit | None, str]]:
    """Find everything that calls for the supervisor: flagged visits and escalated requests."""
    visits = db.session.scalars(
        db.select(Visit)
        .options(selectinload(Visit.request), selectinload(Visit.engineer))
        .where(or_(Visit.escalate.is_(True), Visit.status == VisitStatus.NOT_FIXED))
        .order_by(Visit.id)
    ).all()
    found = [
        (
            f"visit:{v.id}",
            v.request,
            v,
            "visit_escalated" if v.escalate else "visit_not_fixed",
        )
        for v in visits
    ]
    # A request escalated because of a visit already listed needs no second line.
    covered = {v.request_id for v in visits}
    requests = db.session.scalars(
        db.select(ServiceRequest)
        .where(ServiceRequest.status == RequestStatus.ESCALATED)
        .order_by(ServiceRequest.id)
    ).all()
    found += [
        (f"request:{r.id}", r, None, "request_escalated") for r in requests if r.id not in covered
    ]
    return found


def escalation_queue(include_resolved: bool = False) -> list[EscalationItem]:
    """Return the escalations, waiting ones first, then taken; resolved ones only if asked."""
    handling = {e.key: e for e in db.session.scalars(db.select(Escalation))}
    items = [
        EscalationItem(key, request, visit, reason, handling.get(key))
        for key, request, visit, reason in _sources()
    ]
    order = {"waiting": 0, "taken": 1, "resolved": 2}
    items = [i for i in items if include_resolved or i.state != "resolved"]
    items.sort(key=lambda i: (order[i.state], i.request.received_at, i.key))
    return items


def find_item(key: str) -> EscalationItem:
    """Return the queue item with this key, or 404."""
    for item in escalation_queue(include_resolved=True):
        if item.key == key:
            return item
    raise ApiError(404, "No such escalation.")


def _require_handler(by: User) -> None:
    if by.role not in HANDLERS:
        raise ApiError(403, "Only the after-sales supervisor handles escalations (S30).")


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
        raise ApiError(409, "This escalation is already resolved.")
    handling = _handling(item)
    handling.taken_by_id = by.id
    handling.taken_at = utcnow()
    return handling


def resolve_escalation(key: str, resolution: str, by: User) -> Escalation:
    """Record how the supervisor resolved an escalation."""
    _require_handler(by)
    item = find_item(key)
    if item.state == "resolved":
        raise ApiError(409, "This escalation is already resolved.")
    handling = _handling(item)
    now = utcnow()
    if handling.taken_at is None:
        handling.taken_by_id, handling.taken_at = by.id, now
    handling.resolved_by_id = by.id
    handling.resolved_at = now
    handling.resolution = resolution
    return handling
