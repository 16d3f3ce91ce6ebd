"""Sync bookkeeping: every operation received, the change feed, its counter and the epoch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db_types import JSONType, UTCDateTime, utcnow
from server.extensions import db


class SyncOperation(db.Model):
    """One operation a device sent, with the result recorded in the transaction that applied it.

    Rejected operations are kept too, exactly as received (`raw`), for the office to act on.
    """

    __tablename__ = "sync_operation"
    __table_args__ = (UniqueConstraint("device_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None only for an op refused because its op_id was already used by another op.
    op_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("device.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    seq: Mapped[int]
    kind: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(80))
    visit_id: Mapped[int | None] = mapped_column(index=True)
    hlc: Mapped[str | None] = mapped_column(String(80))
    schema_version: Mapped[int | None]
    raw: Mapped[dict | None] = mapped_column(JSONType)
    device_time: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    review_note: Mapped[str | None] = mapped_column(Text)


class SyncChange(db.Model):
    """One entry of the pull feed; `position` comes from the counter row taken last."""

    __tablename__ = "sync_change"
    __table_args__ = (
        Index("ix_sync_change_visit_position", "visit_id", "position"),
        Index("ix_sync_change_audience_position", "audience_user_id", "position"),
        # The few entries everyone sees, and those reaching a device by its customer: a pull
        # reads them without walking the feed (SqlStore.changes_after).
        Index(
            "ix_sync_change_global_position",
            "position",
            postgresql_where=text("is_global"),
            sqlite_where=text("is_global = 1"),
        ),
        Index(
            "ix_sync_change_customer_position",
            "customer_id",
            "position",
            postgresql_where=text("visit_id IS NULL"),
            sqlite_where=text("visit_id IS NULL"),
        ),
    )

    position: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80))
    op: Mapped[str] = mapped_column(String(10))  # upsert | delete | revoke | grant
    visit_id: Mapped[int | None]
    customer_id: Mapped[int | None]
    # None: everyone may see it (reference data); otherwise only this user.
    audience_user_id: Mapped[int | None]
    is_global: Mapped[bool] = mapped_column(default=False)
    data: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncCounter(db.Model):
    """The single row every writing transaction updates last, numbering its changes."""

    __tablename__ = "sync_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), default=0)


class ServerState(db.Model):
    """Small named values: the epoch that changes when the server is restored from a backup."""

    __tablename__ = "server_state"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ChecklistTemplate(db.Model):
    """The on-site procedure checklist, versioned; the newest active one is sent to phones."""

    __tablename__ = "checklist_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    version: Mapped[int]
    body: Mapped[dict] = mapped_column(JSONType)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
