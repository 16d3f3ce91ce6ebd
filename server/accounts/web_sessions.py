"""Browser sessions kept on the server: the cookie holds only a random token.

Logout, a password change, deactivation and "sign out everywhere" delete rows, which ends
those sessions at once, however many copies of the cookie exist.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from server.accounts.models import Role, User
from server.accounts.security_models import WebSession
from server.db_types import utcnow
from server.extensions import db

# Idle lifetimes by role: staff who handle money or the whole register get the shortest.
IDLE = {
    Role.FINANCE: timedelta(minutes=15),
    Role.ADMIN: timedelta(minutes=30),
    Role.SUPERVISOR: timedelta(minutes=30),
    Role.OFFICE: timedelta(minutes=30),
    Role.ENGINEER: timedelta(hours=8),
}
# However active, a session ends after a working day.
ABSOLUTE = timedelta(hours=12)
# Refresh last_seen_at at most this often, so that reads do not each write.
TOUCH_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User) -> str:
    """Open a session for the user and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        WebSession(token_hash=_hash(token), user_id=user.id, created_at=now, last_seen_at=now)
    )
    return token


def resolve(token: str) -> WebSession | None:
    """Return the live session for a cookie's token (touching it), or None; ends stale ones."""
    row = db.session.get(WebSession, _hash(token))
    if row is None:
        return None
    now = utcnow()
    user = row.user
    if not user.is_active or _expired(row, user.role, now):
        db.session.delete(row)
        db.session.commit()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    return row


def _expired(row: WebSession, role: str, now: datetime) -> bool:
    idle = IDLE.get(role, min(IDLE.values()))
    return now - row.last_seen_at > idle or now - row.created_at > ABSOLUTE


def end(token: str) -> None:
    """End one session (logout)."""
    db.session.execute(db.delete(WebSession).where(WebSession.token_hash == _hash(token)))


def end_all(user: User, keep: str | None = None) -> int:
    """End every session of the user (but `keep`, the caller's own); return how many."""
    query = db.delete(WebSession).where(WebSession.user_id == user.id)
    if keep is not None:
        query = query.where(WebSession.token_hash != _hash(keep))
    return db.session.execute(query).rowcount or 0
