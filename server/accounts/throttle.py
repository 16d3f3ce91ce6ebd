"""Sign-in throttling per account and per client address, kept in the database.

The counters live in `sign_in_throttle`, so every server process sees the same ones. A lock
refuses even the right password until it runs out or an office user lifts it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.accounts import security_audit
from server.accounts.models import User
from server.accounts.security_models import SignInThrottle
from server.db_types import utcnow
from server.extensions import db

# The policy, in one place.
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
LIMITS = {"account": 5, "address": 30}


@dataclass(frozen=True)
class Locked:
    """A sign-in refused because of too many failures: how long to wait."""

    scope: str
    until: datetime

    def retry_after(self, now: datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds()))


def _keys(username: str, address: str) -> list[tuple[str, str]]:
    return [("account", username.strip().lower()[:120]), ("address", address[:120])]


def check(username: str, address: str) -> Locked | None:
    """Return the lock that refuses this sign-in, if any (checked before the password)."""
    now = utcnow()
    for scope, key in _keys(username, address):
        row = db.session.scalar(
            db.select(SignInThrottle).where(
                SignInThrottle.scope == scope, SignInThrottle.key == key
            )
        )
        if row is not None and row.locked_until is not None and row.locked_until > now:
            return Locked(scope, row.locked_until)
    return None


def _locked_row(scope: str, key: str) -> SignInThrottle:
    """Make sure the counter exists and lock it against other processes for this transaction."""
    table = SignInThrottle.__table__
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(table)
        .values(scope=scope, key=key, failures=0, window_started_at=utcnow())
        .on_conflict_do_nothing(index_elements=["scope", "key"])
    )
    # On SQLite the insert above already holds the database's write lock.
    return db.session.scalars(
        db.select(SignInThrottle)
        .where(SignInThrottle.scope == scope, SignInThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def record_failure(username: str, address: str) -> Locked | None:
    """Count a failed sign-in; lock the account or address when it reaches its limit.

    Commits, so that the count holds even though the request then answers with an error.
    """
    now = utcnow()
    locked: Locked | None = None
    for scope, key in _keys(username, address):
        row = _locked_row(scope, key)
        if row.window_started_at <= now - WINDOW or (
            row.locked_until is not None and row.locked_until <= now
        ):
            row.failures = 0
            row.window_started_at = now
            row.locked_until = None
        row.failures += 1
        if row.failures >= LIMITS[scope] and row.locked_until is None:
            row.locked_until = now + LOCK
            security_audit.record(
                "sign_in.locked",
                f"{scope}:{key}",
                failures=row.failures,
                until=row.locked_until.isoformat(),
            )
            locked = Locked(scope, row.locked_until)
    db.session.commit()
    return locked


def record_success(username: str) -> None:
    """Forget the account's failures after a good sign-in (the address keeps its count)."""
    db.session.execute(
        db.delete(SignInThrottle).where(
            SignInThrottle.scope == "account",
            SignInThrottle.key == username.strip().lower()[:120],
        )
    )


def current_locks() -> list[SignInThrottle]:
    """The locks in force now, for the accounts page."""
    return db.session.scalars(
        db.select(SignInThrottle)
        .where(SignInThrottle.locked_until > utcnow())
        .order_by(SignInThrottle.locked_until)
    ).all()


def unlock(lock_id: int, by: User) -> SignInThrottle | None:
    """Lift a lock (office staff); the counter starts again from zero."""
    row = db.session.get(SignInThrottle, lock_id)
    if row is None:
        return None
    security_audit.record("sign_in.unlocked", f"{row.scope}:{row.key}", actor=by)
    db.session.delete(row)
    return row
