"""Finance: price lists by date, handovers, day reconciliations and the append-only audit log.

Prices are never edited: a new row with a later `effective_from` supersedes the old one, so a
visit is always priced by the list of its own business day (S3). Handovers and reconciliations
record who did what; every finance action also writes one `FinanceAudit` row, which nothing in
the code updates or deletes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship

from server.db_types import JSONType, UTCDateTime, utcnow
from server.extensions import db

PAYMENT_METHODS = ("cash", "wechat", "alipay", "card", "bank_transfer")


class FeeRate(db.Model):
    """The on-site service fee charged out of warranty (S3) from a business day onwards."""

    __tablename__ = "finance_fee_rate"
    __table_args__ = (CheckConstraint("onsite_fee_fen >= 0", name="fee_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(unique=True)
    onsite_fee_fen: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartPrice(db.Model):
    """A part's manufacturer's cost price (S3) from a business day onwards."""

    __tablename__ = "finance_part_price"
    __table_args__ = (
        UniqueConstraint("part_code", "effective_from"),
        CheckConstraint("unit_cost_fen >= 0", name="cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    part_code: Mapped[str] = mapped_column(String(100), index=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    effective_from: Mapped[date]
    unit_cost_fen: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Handover(db.Model):
    """Money an engineer handed to finance on returning to the office (S23).

    A handover is never edited; a mistaken one is voided with a reason and recorded again.
    """

    __tablename__ = "finance_handover"

    id: Mapped[int] = mapped_column(primary_key=True)
    engineer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)
    # Set when the money was seen on an imported statement rather than handed over in person:
    # confirming a statement line records it as this handover (one per line, unique), so the
    # receipt's one live handover is the single guard against counting it twice.
    statement_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_statement_entry.id"), unique=True
    )

    engineer = relationship("User", foreign_keys=[engineer_id])
    received_by = relationship("User", foreign_keys=[received_by_id])
    voided_by = relationship("User", foreign_keys=[voided_by_id])
    statement_entry = relationship("StatementEntry", foreign_keys=[statement_entry_id])
    lines: Mapped[list[HandoverLine]] = relationship(
        back_populates="handover", order_by="HandoverLine.method"
    )
    receipts: Mapped[list[HandoverReceipt]] = relationship(back_populates="handover")

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class HandoverLine(db.Model):
    """The amount handed over in one payment method."""

    __tablename__ = "finance_handover_line"
    __table_args__ = (
        UniqueConstraint("handover_id", "method"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("finance_handover.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int]

    handover: Mapped[Handover] = relationship(back_populates="lines")


class HandoverReceipt(db.Model):
    """A receipt (payment) that a handover says it covers.

    `live_payment_id` is the payment's id while the handover is live and NULL once it is voided;
    being unique, it lets the database refuse a receipt in two live handovers at once (two
    clerks on two servers), while a voided handover keeps its rows as history.
    """

    __tablename__ = "finance_handover_receipt"

    handover_id: Mapped[int] = mapped_column(ForeignKey("finance_handover.id"), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payment.id"), primary_key=True, index=True)
    live_payment_id: Mapped[str | None] = mapped_column(String(36), unique=True)

    handover: Mapped[Handover] = relationship(back_populates="receipts")
    payment = relationship("Payment")


class Transfer(db.Model):
    """Money for a visit that reached the company directly (a bank transfer, say), as finance saw
    it on the statement; usually settling a customer's promise made on site."""

    __tablename__ = "finance_transfer"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    promise_id: Mapped[str | None] = mapped_column(ForeignKey("payment_promise.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int]
    received_on: Mapped[date]
    reference: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A transfer recorded by mistake is voided with a reason, never deleted or edited.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)

    recorded_by = relationship("User", foreign_keys=[recorded_by_id])
    voided_by = relationship("User", foreign_keys=[voided_by_id])

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class StatementImport(db.Model):
    """A statement file finance imported (WeChat Pay, Alipay or a bank's CSV)."""

    __tablename__ = "finance_statement_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    layout: Mapped[str] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(String(200), default="")
    skipped: Mapped[int] = mapped_column(default=0)
    imported_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    imported_by = relationship("User", foreign_keys=[imported_by_id])
    lines: Mapped[list[StatementEntry]] = relationship(
        back_populates="statement", order_by="StatementEntry.line_no"
    )


class StatementEntry(db.Model):
    """One income line of an imported statement, and the receipt it pays in, once matched.

    `payment_id` is unique: a receipt is matched to at most one statement line, whoever
    confirms or assigns it. `state` is unmatched, suggested (by the matcher) or confirmed.
    """

    __tablename__ = "finance_statement_entry"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("finance_statement_import.id"), index=True)
    line_no: Mapped[int]
    day: Mapped[date] = mapped_column(index=True)
    amount_fen: Mapped[int]
    reference: Mapped[str] = mapped_column(String(100), default="")
    payer: Mapped[str] = mapped_column(String(120), default="")
    text: Mapped[str] = mapped_column(String(500), default="")
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payment.id"), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="unmatched")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    statement: Mapped[StatementImport] = relationship(back_populates="lines")
    payment = relationship("Payment")


class DayReconciliation(db.Model):
    """Finance's verdict on one engineer's business day; `figures` is frozen once reconciled."""

    __tablename__ = "finance_day_reconciliation"
    __table_args__ = (UniqueConstraint("engineer_id", "business_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engineer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    business_day: Mapped[date] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open|reconciled|disputed
    note: Mapped[str] = mapped_column(Text, default="")
    # The figures and the ids of the rows they were computed from, at the moment of locking.
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Every change checks the version it read, so a change made on stale figures is refused.
    version: Mapped[int] = mapped_column(server_default="1")
    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    decided_by = relationship("User", foreign_keys=[decided_by_id])


class DayCheck(db.Model):
    """Whether a reconciled day changed since it was locked in a way a clerk must look at.

    One row per (engineer, business day) that money or a visit touched. A transaction that
    changes a day's figures locks the day's row as it commits (creating it if need be) and, if
    the day is reconciled, decides `needs_attention` again (`services.finance_store`); a clerk
    locking the day takes the same row lock before reading the figures. A change and a lock at
    the same moment are therefore ordered, and the overview reads the verdict instead of
    computing every locked day of the year.
    """

    __tablename__ = "finance_day_check"

    engineer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    business_day: Mapped[date] = mapped_column(primary_key=True)
    # False only for a reconciled day with nothing since that a clerk must look at; NULL for a
    # day not locked (or locked before this was kept, not decided yet: the overview computes it).
    needs_attention: Mapped[bool | None]


def day_check_open() -> ColumnElement[bool]:
    """A day that is not locked and settled: the overview's candidates, indexed below."""
    return DayCheck.needs_attention.is_not(False)


Index(
    "ix_finance_day_check_open",
    DayCheck.business_day,
    postgresql_where=day_check_open(),
    sqlite_where=day_check_open(),
)


class FinanceAudit(db.Model):
    """One finance action: who, when, what. Append-only: rows are inserted and never changed."""

    __tablename__ = "finance_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    user = relationship("User")


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove an audit row."""


@event.listens_for(FinanceAudit, "before_update")
def _refuse_update(_mapper, _connection, target: FinanceAudit) -> None:
    raise AppendOnlyError(f"finance_audit row {target.id} is append-only")


@event.listens_for(FinanceAudit, "before_delete")
def _refuse_delete(_mapper, _connection, target: FinanceAudit) -> None:
    raise AppendOnlyError(f"finance_audit row {target.id} is append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    # Bulk UPDATE and DELETE statements on the audit model skip the per-row hooks above.
    if (state.is_update or state.is_delete) and any(
        m.class_ is FinanceAudit for m in state.all_mappers
    ):
        raise AppendOnlyError("finance_audit is append-only")
