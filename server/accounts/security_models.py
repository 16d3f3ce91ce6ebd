"""Browser sessions kept on the server, sign-in throttles and the security audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship

from server.db_types import JSONType, UTCDateTime, utcnow
from server.extensions import db


class WebSession(db.Model):
    """One signed-in browser; the cookie holds a random token whose hash is the key.

    Deleting the row ends the session at once, wherever the cookie has been copied to.
    """

    __tablename__ = "web_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User")


class SignInThrottle(db.Model):
    """Failed sign-ins counted per account or per client address, shared by every process."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))  # "account" or "address"
    key: Mapped[str] = mapped_column(String(120))
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SecurityAudit(db.Model):
    """One security event: locks, unlocks, accounts and devices changed. Append-only."""

    __tablename__ = "security_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    actor = relationship("User")


class AuditIsAppendOnly(RuntimeError):
    """Raised when code tries to change or remove a security audit row."""


@event.listens_for(SecurityAudit, "before_update")
def _refuse_update(_mapper, _connection, target: SecurityAudit) -> None:
    raise AuditIsAppendOnly(f"security_audit row {target.id} is append-only")


@event.listens_for(SecurityAudit, "before_delete")
def _refuse_delete(_mapper, _connection, target: SecurityAudit) -> None:
    raise AuditIsAppendOnly(f"security_audit row {target.id} is append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        m.class_ is SecurityAudit for m in state.all_mappers
    ):
        raise AuditIsAppendOnly("security_audit is append-only")
