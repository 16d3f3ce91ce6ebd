"""What the office tracks after a visit: escalations, returned parts, complaints, follow-ups.

Field records stay insert-only; the office's handling of them lives in these tables beside them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db_types import UTCDateTime, utcnow
from server.extensions import db


class Escalation(db.Model):
    """The supervisor's handling of one escalated fault (S30).

    The queue itself is derived (visits flagged `escalate` or `not_fixed`, requests with status
    `escalated`); a row exists once a supervisor takes or resolves an item. `key` names the
    source: ``visit:<id>`` or ``request:<id>``.
    """

    __tablename__ = "escalation"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    taken_by = relationship("User", foreign_keys=[taken_by_id])
    resolved_by = relationship("User", foreign_keys=[resolved_by_id])


class PartDisposition(enum.StrEnum):
    TO_MANUFACTURER = "to_manufacturer"
    REPAIRED = "repaired"
    SCRAPPED = "scrapped"
    TO_STOCK = "to_stock"


class ReturnedPartHandling(db.Model):
    """How the office dealt with a faulty part an engineer brought back (S31)."""

    __tablename__ = "returned_part_handling"

    part_event_id: Mapped[str] = mapped_column(ForeignKey("part_event.id"), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    handled_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    handled_by = relationship("User")


class ComplaintStatus(enum.StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


class Complaint(db.Model):
    """A customer's complaint or feedback, tracked from receipt to resolution (S32)."""

    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_request.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ComplaintStatus.RECEIVED, index=True)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer = relationship("Customer")
    request = relationship("ServiceRequest")
    handler = relationship("User", foreign_keys=[handler_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    updates = relationship(
        "ComplaintUpdate", back_populates="complaint", order_by="ComplaintUpdate.id"
    )

    @property
    def number(self) -> str:
        return f"CP{self.id:05d}"


class ComplaintUpdate(db.Model):
    """One step in a complaint's history: received, taken, a note, resolved."""

    __tablename__ = "complaint_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    complaint = relationship("Complaint", back_populates="updates")
    by = relationship("User")


class FollowUpKind(enum.StrEnum):
    FOLLOW_UP = "follow_up"  # S33: how a special case runs afterwards
    RETURN_VISIT = "return_visit"  # S7: periodic check and maintenance


class FollowUpStatus(enum.StrEnum):
    PLANNED = "planned"
    BOOKED = "booked"
    DONE = "done"
    CANCELLED = "cancelled"


class FollowUp(db.Model):
    """A follow-up or periodic return visit the office has planned (S7, S33)."""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_request.id"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    kind: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[date] = mapped_column(index=True)
    # Periodic return visits repeat: the next one is planned when this one is done.
    interval_months: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=FollowUpStatus.PLANNED, index=True)
    # The register entry booked to carry the visit out, when one was booked.
    booked_request_id: Mapped[int | None] = mapped_column(ForeignKey("service_request.id"))
    outcome: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer = relationship("Customer")
    request = relationship("ServiceRequest", foreign_keys=[request_id])
    booked_request = relationship("ServiceRequest", foreign_keys=[booked_request_id])
    equipment = relationship("Equipment")
