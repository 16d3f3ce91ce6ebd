"""The office's day as queues: every promise of the commitment that is due, in one place.

Each queue lists what waits, the longest waiting or most at risk first, with its count, and
where each line is dealt with; dealing with it (the step recorded, the visit reviewed, the call
made) takes it off. Queues read stored facts through indexes (a visit's `finished_at`,
`reviewed_at`, `called_back_at`; a request's `fax_call_at`, `delay_notified_at`), so a page
costs the same with a year of visits behind it as with a week.

`owner_id` narrows a queue to one clerk's own work: the requests they registered, the
follow-ups they planned, the complaints and escalations they hold. Shared work (returned parts,
sync problems) has no owner and is listed for everyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.orm import selectinload

from server.aftercare import escalations as office_escalations
from server.aftercare import returned_parts as office_parts
from server.aftercare.models import Complaint, ComplaintStatus, FollowUp, FollowUpStatus
from server.domain import sla
from server.domain.aftercare import callback_due
from server.domain.timezone import COMPANY_TZ
from server.extensions import count_rows, db
from server.feed.models import SyncOperation
from server.register import board as office_board
from server.register.models import OPEN_STATUSES, Channel, RequestStatus, ServiceRequest
from server.review.operations import PROBLEM_STATUSES, review_queue_query
from server.visits.field_models import Conflict
from server.visits.models import Visit, VisitStatus


@dataclass
class WorkLine:
    """One thing to do: what it is, since when it waits, and where it is dealt with."""

    ref: str
    customer: str
    since: datetime | date | None
    endpoint: str
    args: dict[str, Any]
    anchor: str = ""
    note_key: str = ""
    note_params: dict[str, Any] = field(default_factory=dict)
    late: bool = False


@dataclass
class Queue:
    name: str
    count: int
    lines: list[WorkLine]
    shared: bool = False


def _open_requests(owner_id: int | None):
    query = db.select(ServiceRequest).where(
        ServiceRequest.status.in_([str(s) for s in OPEN_STATUSES])
    )
    if owner_id is not None:
        query = query.where(ServiceRequest.created_by_id == owner_id)
    return query


def _page(query, limit: int) -> tuple[int, list]:
    count = count_rows(query)
    return count, list(db.session.scalars(query.limit(limit)))


def _request_line(r: ServiceRequest, anchor: str, **kw: Any) -> WorkLine:
    return WorkLine(
        r.number,
        r.customer.name,
        r.received_at,
        "office.request_detail",
        {"request_id": r.id},
        anchor,
        **kw,
    )


def sla_untold(now: datetime, owner_id: int | None, limit: int) -> Queue:
    """Requests with an SLA clock at risk or missed whose customer is not yet told (S5, S11)."""
    filters = {"created_by_id": owner_id} if owner_id is not None else {}
    rows = [
        row
        for row in office_board.board_rows(filters, now)
        if row.open_alarm is not None and row.request.delay_notified_at is None
    ]
    lines = [
        _request_line(
            row.request,
            "#steps",
            note_key=f"office.clock.{row.open_alarm}",
            late=row.open_alarm == sla.MISSED,
        )
        for row in rows[:limit]
    ]
    return Queue("sla_untold", len(rows), lines)


def fax_calls(owner_id: int | None, limit: int) -> Queue:
    """Requests received by fax whose customer's technical staff has not been called (S6)."""
    query = (
        _open_requests(owner_id)
        .where(ServiceRequest.channel == Channel.FAX, ServiceRequest.fax_call_at.is_(None))
        .order_by(ServiceRequest.received_at, ServiceRequest.id)
    )
    count, rows = _page(query, limit)
    return Queue("fax", count, [_request_line(r, "#fax-call", late=True) for r in rows])


def to_triage(owner_id: int | None, limit: int) -> Queue:
    """Requests not yet answered, or needing a visit that is not yet scheduled (S11)."""
    live_visit = (
        db.select(Visit.id)
        .where(Visit.request_id == ServiceRequest.id, Visit.status != VisitStatus.CANCELLED)
        .exists()
    )
    query = (
        _open_requests(owner_id)
        .where(
            or_(
                ServiceRequest.status == RequestStatus.REGISTERED,
                and_(
                    ServiceRequest.status == RequestStatus.RESPONDED,
                    ServiceRequest.needs_visit.is_(True),
                    ~live_visit,
                ),
            )
        )
        .order_by(ServiceRequest.received_at, ServiceRequest.id)
    )
    count, rows = _page(query, limit)
    return Queue(
        "triage",
        count,
        [_request_line(r, "#steps", note_key=f"office.status.{r.status}") for r in rows],
    )


def _visit_query(query, owner_id: int | None):
    query = query.options(
        selectinload(Visit.request).selectinload(ServiceRequest.customer),
    )
    if owner_id is not None:
        query = query.join(ServiceRequest, ServiceRequest.id == Visit.request_id).where(
            ServiceRequest.created_by_id == owner_id
        )
    return query


def to_review(owner_id: int | None, limit: int) -> Queue:
    """Finished visits the office has not yet reviewed, the longest waiting first (S29)."""
    count, rows = _page(_visit_query(review_queue_query(), owner_id), limit)
    lines = [
        WorkLine(
            f"{v.request.number}/{v.visit_no}",
            v.request.customer.name,
            v.finished_at,
            "office.visit_review",
            {"visit_id": v.id},
            note_key=f"office.visit_status.{v.status}",
        )
        for v in rows
    ]
    return Queue("review", count, lines)


def callback_queue_query():
    """Finished visits whose customer has not yet been reached by a call back (S12)."""
    return (
        db.select(Visit)
        .where(Visit.called_back_at.is_(None), Visit.finished_at.is_not(None))
        .order_by(Visit.finished_at, Visit.id)
    )


def to_call_back(now: datetime, owner_id: int | None, limit: int) -> Queue:
    """Finished visits awaiting their call back, the most overdue first (S12)."""
    count, rows = _page(_visit_query(callback_queue_query(), owner_id), limit)
    lines = [
        WorkLine(
            f"{v.request.number}/{v.visit_no}",
            v.request.customer.name,
            v.finished_at,
            "office.request_detail",
            {"request_id": v.request_id},
            "#callbacks",
            note_key="office.work.due",
            note_params={"at": callback_due(v.finished_at)},
            late=callback_due(v.finished_at) < now,
        )
        for v in rows
    ]
    return Queue("callback", count, lines)


def follow_ups_due(today: date, owner_id: int | None, limit: int) -> Queue:
    """Follow-ups and return visits due today or before, not yet done (S7, S33)."""
    query = (
        db.select(FollowUp)
        .options(selectinload(FollowUp.customer))
        .where(
            FollowUp.status.in_([FollowUpStatus.PLANNED, FollowUpStatus.BOOKED]),
            FollowUp.due_on <= today,
        )
        .order_by(FollowUp.due_on, FollowUp.id)
    )
    if owner_id is not None:
        query = query.where(FollowUp.created_by_id == owner_id)
    count, rows = _page(query, limit)
    lines = [
        WorkLine(
            f"FU{f.id:05d}",
            f.customer.name,
            f.due_on,
            "office.follow_ups",
            {},
            f"#fu{f.id}",
            note_key=f"office.followups.kind.{f.kind}",
            late=f.due_on < today,
        )
        for f in rows
    ]
    return Queue("follow_ups", count, lines)


def open_escalations(owner_id: int | None, limit: int) -> Queue:
    """Escalations not yet resolved, waiting ones first (S30)."""
    items = office_escalations.escalation_queue()
    if owner_id is not None:
        items = [i for i in items if i.handling and i.handling.taken_by_id == owner_id]
    lines = [
        WorkLine(
            i.request.number,
            i.request.customer.name,
            i.request.received_at,
            "office.escalations",
            {},
            note_key=f"office.escalations.state.{i.state}",
            late=i.state == "waiting",
        )
        for i in items[:limit]
    ]
    return Queue("escalations", len(items), lines)


def open_complaints(owner_id: int | None, limit: int) -> Queue:
    """Complaints not yet resolved, the oldest first (S32)."""
    query = (
        db.select(Complaint)
        .options(selectinload(Complaint.customer))
        .where(Complaint.status != ComplaintStatus.RESOLVED)
        .order_by(Complaint.received_at, Complaint.id)
    )
    if owner_id is not None:
        query = query.where(
            or_(
                Complaint.handler_id == owner_id,
                and_(Complaint.handler_id.is_(None), Complaint.created_by_id == owner_id),
            )
        )
    count, rows = _page(query, limit)
    lines = [
        WorkLine(
            c.number,
            c.customer.name,
            c.received_at,
            "office.complaint_detail",
            {"complaint_id": c.id},
            note_key=f"office.complaints.status.{c.status}",
            late=c.status == ComplaintStatus.RECEIVED,
        )
        for c in rows
    ]
    return Queue("complaints", count, lines)


def parts_pending(limit: int) -> Queue:
    """Faulty parts brought back and not yet dealt with, the oldest first (S31)."""
    count = office_parts.count_returned_parts("pending")
    items = office_parts.returned_parts("pending", limit=limit, oldest_first=True)
    lines = [
        WorkLine(
            p.event.part_code,
            p.visit.request.customer.name,
            p.event.received_at,
            "office.parts",
            {"state": "pending"},
            note_key="",
            note_params={},
        )
        for p in items
    ]
    return Queue("parts", count, lines, shared=True)


def sync_problems(limit: int) -> Queue:
    """Sync conflicts not resolved and refused operations not reviewed, the oldest first."""
    conflicts = db.select(
        Conflict.id.label("id"),
        Conflict.visit_id.label("visit_id"),
        Conflict.created_at.label("at"),
        Conflict.entity.label("what"),
    ).where(Conflict.resolved_at.is_(None))
    operations = db.select(
        SyncOperation.id.label("id"),
        SyncOperation.visit_id.label("visit_id"),
        SyncOperation.received_at.label("at"),
        SyncOperation.kind.label("what"),
    ).where(
        SyncOperation.status.in_(PROBLEM_STATUSES),
        SyncOperation.reviewed_at.is_(None),
        # A conflict's operation is settled with the conflict: list it once.
        ~db.select(Conflict.id)
        .where(Conflict.op_id == SyncOperation.op_id, Conflict.resolved_at.is_(None))
        .exists(),
    )
    count = count_rows(conflicts) + count_rows(operations)
    rows = db.session.execute(
        conflicts.add_columns(db.literal("conflict").label("kind"))
        .union_all(operations.add_columns(db.literal("operation").label("kind")))
        .order_by("at", "id")
        .limit(limit)
    ).all()
    lines = []
    for row in rows:
        anchor = "#conflicts" if row.kind == "conflict" else "#operations"
        if row.visit_id is None:
            lines.append(
                WorkLine(row.what, "", row.at, "office.index", {}, "#restore-gaps", late=True)
            )
        else:
            lines.append(
                WorkLine(
                    row.what,
                    "",
                    row.at,
                    "office.visit_review",
                    {"visit_id": row.visit_id},
                    anchor,
                    note_key=f"office.work.sync.{row.kind}",
                    late=True,
                )
            )
    return Queue("sync", count, lines, shared=True)


def my_work(now: datetime, owner_id: int | None = None, limit: int = 10) -> list[Queue]:
    """Return every queue of the office's day, each with its count and first `limit` lines."""
    today = now.astimezone(COMPANY_TZ).date()
    return [
        sla_untold(now, owner_id, limit),
        fax_calls(owner_id, limit),
        to_triage(owner_id, limit),
        to_review(owner_id, limit),
        to_call_back(now, owner_id, limit),
        follow_ups_due(today, owner_id, limit),
        open_escalations(owner_id, limit),
        open_complaints(owner_id, limit),
        parts_pending(limit),
        sync_problems(limit),
    ]
