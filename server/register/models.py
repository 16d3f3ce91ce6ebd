"""The service register: one entry per customer request (S10-S12)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db_types import UTCDateTime, utcnow
from server.extensions import db


class Channel(enum.StrEnum):
    HOTLINE = "hotline"
    EMAIL = "email"
    FAX = "fax"
    REMOTE = "remote"
    ONSITE = "onsite"
    RETURN_VISIT = "return_visit"


class Level(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class RequestStatus(enum.StrEnum):
    REGISTERED = "registered"
    RESPONDED = "responded"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    CLOSED = "closed"


OPEN_STATUSES = frozenset(
    {
        RequestStatus.REGISTERED,
        RequestStatus.RESPONDED,
        RequestStatus.SCHEDULED,
        RequestStatus.IN_PROGRESS,
        RequestStatus.ESCALATED,
    }
)


class ServiceRequest(db.Model):
    __tablename__ = "service_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"), index=True)
    contact_name: Mapped[str] = mapped_column(String(120))
    contact_phone: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(400))
    problem: Mapped[str] = mapped_column(String(400))
    symptoms: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10), default=Level.NORMAL)
    urgency: Mapped[str] = mapped_column(String(10), default=Level.NORMAL)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.REGISTERED, index=True)
    needs_visit: Mapped[bool] = mapped_column(default=True)

    # The SLA clocks (S5a/S5b/S5c) are computed from these.
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    phone_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_arrival_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_note: Mapped[str | None] = mapped_column(Text)
    # Each clock's outcome once it can no longer change: "met", "missed" once stopped, or
    # "not_applicable"; NULL while it runs. Written only by register/sla_store.py from
    # domain/sla.py, so reports count in SQL instead of reading every request's clocks.
    sla_phone: Mapped[str | None] = mapped_column(String(16))
    sla_onsite: Mapped[str | None] = mapped_column(String(16))
    sla_remote: Mapped[str | None] = mapped_column(String(16))
    # S11: a customer who cannot be served in time is told so.
    delay_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # S6: a request by fax is followed at once by a call to the customer's technical staff.
    fax_call_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fax_call_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    fax_call_note: Mapped[str | None] = mapped_column(Text)

    result: Mapped[str | None] = mapped_column(Text)  # S29
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    customer = relationship("Customer")
    equipment = relationship("Equipment")
    visits = relationship("Visit", back_populates="request", order_by="Visit.visit_no")
    callbacks = relationship("Callback", back_populates="request", order_by="Callback.called_at")

    @property
    def number(self) -> str:
        return f"SR{self.id:06d}"


class FirstFix(db.Model):
    """A request's first-time-fix verdict (S19), as `domain/first_fix.py` decides it.

    Written only by `register/first_fix_store.py`, in the transaction that changes one of its
    inputs, so the reports count verdicts in SQL. A request has a row once its first repair
    visit is over, and none before.
    """

    __tablename__ = "request_first_fix"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_request.id", ondelete="CASCADE"), primary_key=True
    )
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fixed: Mapped[bool]


class Callback(db.Model):
    """A call back to the customer after a job (S12)."""

    __tablename__ = "callback"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    called_at: Mapped[datetime] = mapped_column(UTCDateTime)
    called_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reached: Mapped[bool] = mapped_column(default=True)
    satisfied: Mapped[bool | None]
    notes: Mapped[str | None] = mapped_column(Text)

    request = relationship("ServiceRequest", back_populates="callbacks")
