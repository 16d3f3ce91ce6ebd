"""Customer complaints, tracked from receipt to resolution (S32)."""

from __future__ import annotations

from typing import Any

from server.accounts.models import Role, User
from server.aftercare.models import Complaint, ComplaintStatus, ComplaintUpdate
from server.db_types import utcnow
from server.errors import ApiError
from server.extensions import db
from server.register.models import ServiceRequest
from server.register.operations import get_customer

HANDLERS = (Role.SUPERVISOR, Role.ADMIN)


def _log(complaint: Complaint, status: str, note: str | None, by: User) -> None:
    db.session.add(
        ComplaintUpdate(complaint=complaint, status=status, note=note, by_id=by.id, at=utcnow())
    )


def receive_complaint(data: dict[str, Any], by: User) -> Complaint:
    """Register a complaint as received, optionally tied to a register entry of the customer."""
    customer = get_customer(data["customer_id"])
    request_id = data.get("request_id")
    if request_id is not None:
        request = db.session.get(ServiceRequest, request_id)
        if request is None or request.customer_id != customer.id:
            raise ApiError(
                422,
                "err.aftercare.request_not_customers",
                {"request_id": ["form.err.no_request"]},
            )
    now = utcnow()
    received_at = data.get("received_at") or now
    if received_at > now:
        raise ApiError(
            422,
            "err.aftercare.complaint_in_future",
            {"received_at": ["form.err.future"]},
        )
    complaint = Complaint(
        customer_id=customer.id,
        request_id=request_id,
        received_at=received_at,
        channel=data["channel"],
        summary=data["summary"],
        details=data.get("details"),
        status=ComplaintStatus.RECEIVED,
        created_by_id=by.id,
    )
    db.session.add(complaint)
    _log(complaint, ComplaintStatus.RECEIVED, data.get("details"), by)
    db.session.flush()
    return complaint


def _open(complaint: Complaint) -> None:
    if complaint.status == ComplaintStatus.RESOLVED:
        raise ApiError(409, "err.aftercare.complaint_resolved")


def take_complaint(complaint: Complaint, by: User) -> Complaint:
    """Let the supervisor take a complaint in hand."""
    if by.role not in HANDLERS:
        raise ApiError(403, "err.aftercare.complaint_take_supervisor")
    _open(complaint)
    complaint.handler_id = by.id
    complaint.status = ComplaintStatus.IN_PROGRESS
    _log(complaint, ComplaintStatus.IN_PROGRESS, None, by)
    return complaint


def note_complaint(complaint: Complaint, note: str, by: User) -> Complaint:
    """Add a note of progress (a call made, a visit booked) to an open complaint."""
    _open(complaint)
    _log(complaint, complaint.status, note, by)
    return complaint


def resolve_complaint(complaint: Complaint, resolution: str, by: User) -> Complaint:
    """Record how a complaint was resolved; the supervisor's decision."""
    if by.role not in HANDLERS:
        raise ApiError(403, "err.aftercare.complaint_resolve_supervisor")
    _open(complaint)
    complaint.status = ComplaintStatus.RESOLVED
    complaint.resolution = resolution
    complaint.resolved_at = utcnow()
    complaint.handler_id = complaint.handler_id or by.id
    _log(complaint, ComplaintStatus.RESOLVED, resolution, by)
    return complaint
