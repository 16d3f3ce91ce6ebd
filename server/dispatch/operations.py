"""Dispatch: schedule visits, assign engineers, and tell their phones (S11, S14)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, update

from server.accounts.models import Role, User
from server.db_types import utcnow
from server.errors import ApiError
from server.extensions import db
from server.feed import changes
from server.register.models import RequestStatus, ServiceRequest
from server.register.snapshots import customer_snapshot, equipment_snapshot
from server.syncing.store import SqlStore, visit_record
from server.visits.models import Visit, VisitAssignment, VisitStatus
from sync.engine import emit_visit_snapshot, mark_stale_signoffs

CLOSED_VISIT = {VisitStatus.COMPLETED, VisitStatus.NOT_FIXED, VisitStatus.CANCELLED}


def get_engineer(engineer_id: int) -> User:
    """Return the active engineer or raise a 422 naming the field."""
    user = db.session.get(User, engineer_id)
    if user is None or user.role != Role.ENGINEER or not user.is_active:
        raise ApiError(
            422,
            f"User {engineer_id} is not an active engineer.",
            {"engineer_id": ["form.err.no_engineer"]},
        )
    return user


def _announce(visit: Visit, previous_engineer_id: int | None) -> None:
    """Queue the feed entries that bring the visit to its engineer and take it from the last."""
    session = db.session()
    db.session.flush()
    now = utcnow()
    if previous_engineer_id is not None and previous_engineer_id != visit.engineer_id:
        db.session.execute(
            update(VisitAssignment)
            .where(
                VisitAssignment.visit_id == visit.id,
                VisitAssignment.engineer_id == previous_engineer_id,
                VisitAssignment.unassigned_at.is_(None),
            )
            .values(unassigned_at=now)
        )
        changes.emit(
            session,
            changes.Change(
                entity="visit",
                entity_id=str(visit.id),
                op="revoke",
                audience_user_id=previous_engineer_id,
                data={"id": visit.id},
            ),
        )
    if visit.engineer_id is not None and visit.engineer_id != previous_engineer_id:
        db.session.add(
            VisitAssignment(visit_id=visit.id, engineer_id=visit.engineer_id, assigned_at=now)
        )
        # Reference data first, addressed to the engineer: their cursor may be past it already.
        request = visit.request
        changes.emit(
            session,
            changes.Change(
                entity="customer",
                entity_id=str(request.customer_id),
                audience_user_id=visit.engineer_id,
                data=customer_snapshot(request.customer),
            ),
        )
        if request.equipment is not None:
            changes.emit(
                session,
                changes.Change(
                    entity="equipment",
                    entity_id=str(request.equipment_id),
                    audience_user_id=visit.engineer_id,
                    data=equipment_snapshot(request.equipment),
                ),
            )
        # The whole visit with every record it has (WatermelonDB #1264: never pulled otherwise).
        emit_visit_snapshot(SqlStore(None), visit.id)
    else:
        changes.emit(
            session,
            changes.Change(
                entity="visit",
                entity_id=str(visit.id),
                op="upsert",
                visit_id=visit.id,
                customer_id=visit.request.customer_id,
                data=visit_record(visit),
            ),
        )


def schedule_visit(request: ServiceRequest, data: dict[str, Any]) -> Visit:
    """Create a visit for a request, optionally assigned with an appointment window (S14)."""
    if request.status in (RequestStatus.CLOSED,):
        raise ApiError(409, "err.dispatch.request_closed")
    if data.get("engineer_id") is not None:
        get_engineer(data["engineer_id"])
    number = db.session.scalar(
        db.select(func.coalesce(func.max(Visit.visit_no), 0)).where(Visit.request_id == request.id)
    )
    visit = Visit(
        request_id=request.id,
        visit_no=number + 1,
        engineer_id=data.get("engineer_id"),
        window_start=data.get("window_start"),
        window_end=data.get("window_end"),
        purpose=data.get("purpose", "repair"),
        onsite_fee_fen=data.get("onsite_fee_fen"),
        inspection_only=data.get("inspection_only", False),
        notes=data.get("notes"),
        status=VisitStatus.SCHEDULED,
    )
    db.session.add(visit)
    visit.request = request
    if request.status in (
        RequestStatus.REGISTERED,
        RequestStatus.RESPONDED,
        RequestStatus.RESOLVED,
    ):
        request.status = RequestStatus.SCHEDULED
    _announce(visit, None)
    return visit


def update_visit(visit: Visit, data: dict[str, Any]) -> Visit:
    """Reassign or reschedule a visit; both phones learn of it at their next pull."""
    if visit.status in CLOSED_VISIT:
        raise ApiError(409, "err.dispatch.visit_frozen", params={"status": visit.status})
    previous = visit.engineer_id
    if "engineer_id" in data and data["engineer_id"] is not None:
        get_engineer(data["engineer_id"])
    for key in (
        "engineer_id",
        "window_start",
        "window_end",
        "onsite_fee_fen",
        "inspection_only",
        "notes",
    ):
        if key in data:
            setattr(visit, key, data[key])
    if visit.window_start and visit.window_end and visit.window_end <= visit.window_start:
        raise ApiError(
            422,
            "err.dispatch.window",
            {"window_end": ["form.err.window"]},
        )
    if "onsite_fee_fen" in data or "inspection_only" in data:
        # What the customer signed for may no longer hold (sync rule R25).
        mark_stale_signoffs(SqlStore(None), visit.id, "the office changed the visit's charges")
    _announce(visit, previous)
    return visit


def cancel_visit(visit: Visit, reason: str | None) -> Visit:
    """Cancel a visit that has not finished."""
    if visit.status in CLOSED_VISIT:
        raise ApiError(409, "err.dispatch.visit_already", params={"status": visit.status})
    visit.status = VisitStatus.CANCELLED
    if reason:
        visit.notes = (visit.notes + "\n" if visit.notes else "") + reason
    _announce(visit, visit.engineer_id)
    return visit
