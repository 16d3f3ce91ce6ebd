"""Users, their roles and the devices engineers sign in from."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db_types import UTCDateTime, utcnow
from server.extensions import db


class Role(enum.StrEnum):
    ENGINEER = "engineer"
    OFFICE = "office"
    SUPERVISOR = "supervisor"
    FINANCE = "finance"
    ADMIN = "admin"


class User(db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str | None] = mapped_column(String(10))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    # Set when an administrator resets the password: the user picks a new one at next sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    devices: Mapped[list[Device]] = relationship(back_populates="user")

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class Device(db.Model):
    """An engineer's phone or tablet; its bearer token is stored hashed, and it keeps sync state."""

    __tablename__ = "device"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # made on the device
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    receipt_prefix: Mapped[str] = mapped_column(String(8), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the sign-in ended: "revoked" and "deactivated" make the app wipe itself (a lost phone,
    # a leaver); "password" and "signed_out" only ask for a fresh sign-in.
    revoked_reason: Mapped[str | None] = mapped_column(String(20))
    # Exactly-once bookkeeping: the highest operation sequence number applied.
    last_seq: Mapped[int] = mapped_column(default=0)
    # The highest clock stamp ordered for this device, so its next stamps never go backwards.
    last_hlc: Mapped[str | None] = mapped_column(String(80))
    app_version: Mapped[str | None] = mapped_column(String(40))
    # What the phone said of its outbox at its last push, reckoned after that push was applied:
    # finance must not lock a day a phone still holds payments for, and a revoked phone's unsent
    # work is known by its sequence numbers (last_seq + 1 .. outbox_high_seq).
    outbox_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outbox_high_seq: Mapped[int | None] = mapped_column()
    outbox_unsent_ops: Mapped[int | None] = mapped_column()
    outbox_unsent_payments: Mapped[int | None] = mapped_column()

    user: Mapped[User] = relationship(back_populates="devices")
