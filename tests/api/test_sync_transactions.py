"""A pull runs without a transaction around it; a push runs in one, on the same pooled connections.

A pull's statements stand alone (the head is read before the changes, R27a), so it spares the
database a BEGIN and a COMMIT. A push's effects, op records and device state must commit together
(R2), whichever connection a pull used before it.
"""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
from sqlalchemy import event

from server.extensions import db
from tests.api.sync_http import at_head


def _in_transaction(dbapi_connection) -> bool:
    status = getattr(getattr(dbapi_connection, "info", None), "transaction_status", None)
    if status is not None:  # psycopg
        return status != psycopg.pq.TransactionStatus.IDLE
    return dbapi_connection.in_transaction  # sqlite3


@contextmanager
def statements():
    """Collect (statement, its connection, whether a transaction was open after it)."""
    seen: list[tuple[str, int, bool]] = []

    def record(_conn, cursor, statement, *_args) -> None:
        seen.append((statement, id(cursor.connection), _in_transaction(cursor.connection)))

    event.listen(db.engine, "after_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "after_cursor_execute", record)


def test_a_pull_runs_each_statement_on_its_own(make, signed_device):
    # On PostgreSQL a transaction would be open after the sign-in's SELECT; SQLite's driver opens
    # one only before a write, so there this holds either way.
    phone, visit = at_head(make, signed_device)
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    phone.push()
    db.session.commit()  # the test's own reads end: each request starts afresh, as in production
    with statements() as pulled:
        phone.pull_all()  # a page with the change
        not_modified = phone.dev.get(
            "/api/sync/pull",
            query_string={"cursor": phone.cursor},
            headers={"If-None-Match": f'"{phone.cursor}"'},
        )
    assert not_modified.status_code == 304
    assert any("sync_change" in s for s, _, _ in pulled)
    assert [s for s, _, open_ in pulled if open_] == []


def test_a_push_after_pulls_on_the_same_connection_runs_in_one_transaction(make, signed_device):
    phone, visit = at_head(make, signed_device)
    phone.op("part.add", visit.id, _part())
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    db.session.commit()  # the test's own reads end: each request starts afresh, as in production
    with statements() as pulled:
        phone.pull_all()
    with statements() as pushed:
        phone.push()
    # The connection the pulls ran on in autocommit is back in a transaction for the push.
    assert {c for _, c, _ in pushed} & {c for _, c, _ in pulled}
    # From the device lock (the first write) to the feed's numbering, one transaction.
    writes = [(s, open_) for s, _, open_ in pushed][1:]
    assert any(s.startswith("UPDATE device") for s, _ in writes)
    assert [s for s, open_ in writes if not open_] == []


def _part() -> dict:
    return {
        "kind": "used",
        "part_code": "P-1",
        "description": "fuse",
        "qty": 1,
        "unit_cost_fen": 100,
        "reverses": None,
    }
