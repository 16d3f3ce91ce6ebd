"""What engineers capture on site, arriving through the sync protocol.

Insert-only records (payments, receipts, feedback, sign-offs) are never updated in place:
corrections are new rows (a reversal, a void) so that every fen stays traceable.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    literal,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db_types import JSONType, UTCDateTime, utcnow
from server.extensions import db
from sync.limits import text_limit


class _Captured:
    """Who captured a record, on which device, and when by each clock."""

    device_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    op_id: Mapped[str] = mapped_column(String(36))
    hlc: Mapped[str] = mapped_column(String(80))
    device_time: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChecklistEntry(_Captured, db.Model):
    """The current value of one checklist item of a visit (last writer wins, S13-S31)."""

    __tablename__ = "checklist_entry"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    # The stamp the phone gave; `hlc` is the one the server ordered by (clamped if far ahead).
    device_hlc: Mapped[str | None] = mapped_column(String(80))


class PartEvent(_Captured, db.Model):
    """A part used, replaced or brought back (S31); a reversal cancels an earlier event."""

    __tablename__ = "part_event"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        # One correction per event. Partial: only corrections are in it. With every row in it
        # (nearly all NULL) a planner short of statistics matched the pricing's "not a
        # correction" test to it and read the whole table's NULLs on every push.
        Index(
            "uq_part_event_reverses_id",
            "reverses_id",
            unique=True,
            postgresql_where=text("reverses_id IS NOT NULL"),
            sqlite_where=text("reverses_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    part_code: Mapped[str] = mapped_column(String(text_limit("part.add", "part_code")))
    description: Mapped[str] = mapped_column(String(text_limit("part.add", "description")))
    qty: Mapped[int]
    unit_cost_fen: Mapped[int]
    reverses_id: Mapped[str | None] = mapped_column(ForeignKey("part_event.id"))


def part_returned() -> ColumnElement[bool]:
    """A faulty part brought back (S31): the office's returned-parts queue filters by it.

    The partial index below is built on the same expression, so the queue and its counts read
    the few returned parts, not every part event of the year.
    """
    return PartEvent.kind == literal("returned", literal_execute=True)


Index("ix_part_event_returned", PartEvent.received_at, postgresql_where=part_returned())


class Payment(_Captured, db.Model):
    """A fee collected on site, with the receipt shown to the customer (S23)."""

    __tablename__ = "payment"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    payer: Mapped[str] = mapped_column(String(120))
    receipt_no: Mapped[str] = mapped_column(String(40), unique=True)


class PaymentPromise(_Captured, db.Model):
    """Money the customer will pay later (by transfer, say): who, how, how much, by when."""

    __tablename__ = "payment_promise"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int]
    payer: Mapped[str] = mapped_column(String(120))
    # A calendar day as the phone sent it (YYYY-MM-DD, checked by the op's validation): kept as
    # text so the record goes to and from phones unchanged.
    due_on: Mapped[str] = mapped_column(String(10), index=True)
    note: Mapped[str] = mapped_column(Text, default="")


class PaymentVoid(_Captured, db.Model):
    __tablename__ = "payment_void"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payment.id"), unique=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)


class ChargeWaiver(_Captured, db.Model):
    __tablename__ = "charge_waiver"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    amount_fen: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)


class EquipmentReceipt(_Captured, db.Model):
    """The customer equipment receipt issued before equipment leaves the site (S21)."""

    __tablename__ = "equipment_receipt"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    receipt_no: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(
        String(text_limit("equipment_receipt.issue", "description"))
    )
    brand: Mapped[str] = mapped_column(String(120), default="")
    model: Mapped[str] = mapped_column(String(120), default="")
    serial: Mapped[str] = mapped_column(String(120), default="")
    accessories: Mapped[str] = mapped_column(Text, default="")
    condition: Mapped[str] = mapped_column(Text, default="")
    customer_name: Mapped[str] = mapped_column(String(120))
    signature_blob: Mapped[str | None] = mapped_column(String(64))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DamageRecord(_Captured, db.Model):
    """Damaged hardware registered on site, with warranty proof where claimed (S20)."""

    __tablename__ = "damage_record"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    brand: Mapped[str] = mapped_column(String(120))
    model: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    warranty_claimed: Mapped[bool] = mapped_column(default=False)
    purchase_proof_blob: Mapped[str | None] = mapped_column(String(64))
    warranty_card_blob: Mapped[str | None] = mapped_column(String(64))
    photo_blobs: Mapped[list] = mapped_column(JSONType, default=list)


class Feedback(_Captured, db.Model):
    """The service feedback form (S24, S29)."""

    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    satisfaction: Mapped[int]
    comments: Mapped[str] = mapped_column(Text, default="")


class SignOff(_Captured, db.Model):
    """The customer's sign-off, bound by digest to what they were shown (S24)."""

    __tablename__ = "signoff"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    customer_name: Mapped[str] = mapped_column(String(120))
    signature_blob: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    server_digest: Mapped[str] = mapped_column(String(64))
    signed_hlc: Mapped[str] = mapped_column(String(80))
    stale: Mapped[bool] = mapped_column(default=False)
    stale_reason: Mapped[str | None] = mapped_column(Text)


class Blob(db.Model):
    """A signature or photo, addressed by its SHA-256; in the database so every process sees it."""

    __tablename__ = "blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_device: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlobLoss(db.Model):
    """A photo or signature a phone lost before uploading it, given up with the engineer's reason.

    Ops naming it are then applied without it (instead of waiting forever, R13) and the office
    is shown the gap beside the record.
    """

    __tablename__ = "blob_loss"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("device.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Conflict(db.Model):
    """Something the merge rules could not settle alone, with both sides, for the office."""

    __tablename__ = "sync_conflict"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    kept: Mapped[dict | None] = mapped_column(JSONType)
    other: Mapped[dict | None] = mapped_column(JSONType)
    op_id: Mapped[str | None] = mapped_column(String(36))
    device_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
