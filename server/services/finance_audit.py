"""The finance audit log: every finance action, who and when, appended and never changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import FinanceAudit, User
from ..models.types import utcnow


def record_action(user: User, action: str, subject: str, **details: Any) -> FinanceAudit:
    """Append one audit row to the session (committed with the action it records)."""
    entry = FinanceAudit(
        at=utcnow(), user_id=user.id, action=action, subject=subject, details=details
    )
    db.session.add(entry)
    return entry


def recent_actions(limit: int = 200, subject: str | None = None) -> list[FinanceAudit]:
    """Return the newest audit rows first, optionally for one subject."""
    query = select(FinanceAudit).order_by(FinanceAudit.id.desc()).limit(limit)
    if subject is not None:
        query = query.where(FinanceAudit.subject == subject)
    return list(db.session.scalars(query))
