"""The finance audit log: every finance action, who and when, appended and never changed."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, select

from server.accounts.models import User
from server.db_types import utcnow
from server.domain.timezone import day_bounds_utc
from server.extensions import db
from server.finance.models import FinanceAudit

# Every action the finance code records; the audit page filters by them.
ACTIONS = (
    "day.reconciled",
    "day.disputed",
    "day.open",
    "day.reopen",
    "handover.record",
    "handover.void",
    "fee.add",
    "part_price.add",
    "transfer.record",
    "transfer.void",
    "statement.import",
    "statement.confirm",
    "statement.assign",
    "statement.unmatch",
)


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


def audit_query(
    action: str | None = None,
    subject: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Select:
    """Select audit rows, newest first; `subject` matches a prefix ("day:3:" is all of 3's days)."""
    query = select(FinanceAudit).order_by(FinanceAudit.id.desc())
    if action is not None:
        query = query.where(FinanceAudit.action == action)
    if subject is not None:
        query = query.where(FinanceAudit.subject.startswith(subject, autoescape=True))
    if start is not None:
        query = query.where(FinanceAudit.at >= day_bounds_utc(start)[0])
    if end is not None:
        query = query.where(FinanceAudit.at < day_bounds_utc(end)[1])
    return query
