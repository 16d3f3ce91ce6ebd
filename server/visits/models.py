"""Visits to a customer's site; a request may need several (S19 keeps repeats visible)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    literal,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db_types import UTCDateTime, utcnow
from server.extensions import db


class VisitStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    EN_ROUTE = "en_route"
    ARRIVED = "arrived"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    NOT_FIXED = "not_fixed"
    CANCELLED = "cancelled"


REVIEW_QUEUE = "reviewed_at IS NULL AND finished_at IS NOT NULL"
CALLBACK_QUEUE = "called_back_at IS NULL AND finished_at IS NOT NULL"


class Visit(db.Model):
    __tablename__ = "visit"
    __table_args__ = (
        UniqueConstraint("request_id", "visit_no"),
        # The office's queues, longest waiting first: finished and not yet reviewed / called
        # back. Partial, so a queue's page is read from its own few rows, not found among the
        # year's visits (their predicates are the queue queries' filters, word for word).
        Index(
            "ix_visit_review_queue",
            "finished_at",
            "id",
            postgresql_where=text(REVIEW_QUEUE),
            sqlite_where=text(REVIEW_QUEUE),
        ),
        Index(
            "ix_visit_callback_queue",
            "finished_at",
            "id",
            postgresql_where=text(CALLBACK_QUEUE),
            sqlite_where=text(CALLBACK_QUEUE),
        ),
        # Reports count call backs by the period a visit finished in.
        Index("ix_visit_finished_at", "finished_at"),
        # Finance lists days: which engineers had visits on which business days.
        Index("ix_visit_business_day", "business_day", "engineer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    visit_no: Mapped[int] = mapped_column(default=1)
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20), default="repair")  # repair|return_visit
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=VisitStatus.SCHEDULED, index=True)
    # Arrival: the server's time of receipt orders it; the device's own claim is kept beside it.
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_device_time: Mapped[str | None] = mapped_column(String(40))
    arrived_hlc: Mapped[str | None] = mapped_column(String(80))
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    late_reason: Mapped[str | None] = mapped_column(Text)
    customer_informed: Mapped[bool | None]
    permission_granted: Mapped[bool | None]
    outcome_summary: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[str | None] = mapped_column(Text)  # S22
    escalate: Mapped[bool] = mapped_column(default=False)  # S30
    onsite_fee_fen: Mapped[int | None]
    inspection_only: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    # When the server learnt the visit was over (completed or not fixed): the office's
    # after-visit clocks (review, call-back S12) start here, not at a device's say-so.
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    review_note: Mapped[str | None] = mapped_column(Text)
    # The first call back to the customer after this visit (S12), copied from the callback.
    called_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Stored by `services.finance_store` in the transaction that changes any of their inputs,
    # as `visit_charges.explain_visit_charges` computes them, so finance lists read them rather
    # than pricing every visit per load: what the visit owes by the rules (NULL: not stored yet,
    # or being repriced by a price-list edit at that moment; read on the fly), how many price
    # flags it raised, and its business day (Shanghai day of arrival, else window, else creation).
    owed_fen: Mapped[int | None]
    charge_flags: Mapped[int | None]
    business_day: Mapped[date | None]

    request = relationship("ServiceRequest", back_populates="visits")
    engineer = relationship("User", foreign_keys=[engineer_id])


def visit_moment() -> ColumnElement:
    """When a visit took place, as SQL: its arrival, else its booked window, else its creation.

    The moment a visit's business day is taken from (finance) and its time for first-time fix
    (S19) both read; one expression for both.
    """
    return func.coalesce(Visit.arrived_at, Visit.window_start, Visit.created_at)


def visit_flagged() -> ColumnElement[bool]:
    """A visit the supervisor must look at (S30): escalated by the engineer, or not fixed.

    The escalation queue filters by it and the partial index below is built on it, so the two
    are one expression and PostgreSQL answers the queue from the index, not by reading every
    visit (the status is written into the SQL, as the index's predicate has it).
    """
    return or_(
        Visit.escalate.is_(True),
        Visit.status == literal(VisitStatus.NOT_FIXED.value, literal_execute=True),
    )


Index(
    "ix_visit_flagged",
    Visit.id,
    postgresql_where=visit_flagged(),
    sqlite_where=visit_flagged(),
)


class VisitAssignment(db.Model):
    """Who was sent on a visit and when; an engineer keeps the right to sync what they captured."""

    __tablename__ = "visit_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    engineer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unassigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RevokeNotice(db.Model):
    """When a device first pulled the news that a visit was taken from its engineer.

    Work the phone recorded before this moment is real field work and is kept (flagged for the
    office); what it recorded after is refused as a conflict (docs/sync-protocol.md, R36).
    """

    __tablename__ = "revoke_notice"

    device_id: Mapped[str] = mapped_column(ForeignKey("device.id"), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), primary_key=True)
    heard_at: Mapped[datetime] = mapped_column(UTCDateTime)
