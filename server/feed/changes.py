"""The pull feed: changes are collected during a transaction and numbered at its very end.

Numbering uses one counter row that every writing transaction updates last
(``UPDATE sync_counter SET value = value + k RETURNING value``). The row lock is held until
commit, so position N+1 is handed out only after the transaction holding N has finished:
a pull that has seen N has seen everything below it (SYNC-LESSONS, "A counter row taken last").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, event, update
from sqlalchemy.orm import Session

from server.bulk import insert_rows
from server.db_types import utcnow
from server.feed.models import SyncChange, SyncCounter

PENDING = "onsite_pending_changes"


@dataclass(frozen=True)
class Change:
    entity: str
    entity_id: str
    op: str = "upsert"
    data: dict[str, Any] | None = None
    visit_id: int | None = None
    customer_id: int | None = None
    audience_user_id: int | None = None
    is_global: bool = False


def emit(session: Session, change: Change) -> None:
    """Queue a change for the pull feed; it is numbered when the transaction commits."""
    session.info.setdefault(PENDING, []).append(change)


def _number_pending(session: Session) -> None:
    if session.in_nested_transaction():
        # A savepoint is being released: the counter is taken once, by the outer commit.
        return
    pending: list[Change] = session.info.pop(PENDING, [])
    if not pending:
        return
    session.flush()
    connection = session.connection()
    top = connection.execute(_TAKE_POSITIONS, {"count": len(pending)}).scalar_one()
    first = top - len(pending) + 1
    now = utcnow()
    # Plain values, no ORM objects to build or track; COPY on PostgreSQL (server.bulk).
    insert_rows(
        connection,
        SyncChange.__table__,
        [
            {
                "position": first + i,
                "entity": c.entity,
                "entity_id": c.entity_id,
                "op": c.op,
                "data": c.data,
                "visit_id": c.visit_id,
                "customer_id": c.customer_id,
                "audience_user_id": c.audience_user_id,
                "is_global": c.is_global,
                "created_at": now,
            }
            for i, c in enumerate(pending)
        ],
    )


_COUNTER = SyncCounter.__table__.c
_TAKE_POSITIONS = (
    update(SyncCounter.__table__)
    .where(_COUNTER.id == 1)
    .values(value=_COUNTER.value + bindparam("count"))
    .returning(_COUNTER.value)
)


def _discard_pending(session: Session, previous_transaction: Any) -> None:
    # Only the outer transaction's end drops the queue: a rolled-back savepoint (one refused op
    # of a push) takes back only its own changes (SqlStore.savepoint trims them), and the ops
    # applied before it must still be published.
    if previous_transaction.nested or previous_transaction.parent is not None:
        return
    session.info.pop(PENDING, None)


def install() -> None:
    """Hook the numbering into every commit of every ORM session (idempotent).

    Any session that queued changes numbers them, so no writer can bypass the counter.
    """
    session_cls = Session
    if not event.contains(session_cls, "before_commit", _number_pending):
        event.listen(session_cls, "before_commit", _number_pending)
        event.listen(session_cls, "after_soft_rollback", _discard_pending)
