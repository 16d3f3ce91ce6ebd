"""Writing the security audit log: who did what to which account or device, from where."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from server.accounts.models import User
from server.accounts.security_models import SecurityAudit
from server.db_types import utcnow
from server.extensions import db


def client_address() -> str:
    """The caller's address (the TLS proxy's ProxyFix, if any, has already put the client's)."""
    if not has_request_context():
        return "local"
    return (request.remote_addr or "unknown")[:64]


def record(action: str, subject: str, actor: User | None = None, **details: Any) -> SecurityAudit:
    """Append one security event (flushed with the caller's transaction)."""
    row = SecurityAudit(
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject=subject[:120],
        address=client_address(),
        details=details,
    )
    db.session.add(row)
    return row
