"""`server.bulk.insert_rows` writes what `insert(table)` writes.

On PostgreSQL a few rows go as one INSERT and more as COPY: each test runs both sizes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg._queries
import pytest
from freezegun import freeze_time
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, func, insert, select
from sqlalchemy.exc import IntegrityError

from server.bulk import MAX_INSERT_PARAMS, insert_rows
from server.extensions import db
from server.feed.models import SyncChange

# Two rows of SyncChange's ten columns go as one INSERT; eight (80 values) as COPY.
SIZES = pytest.mark.parametrize("count", [2, 8], ids=["insert", "copy"])


def test_the_insert_path_stays_within_what_psycopg_parses_once():
    assert 2 * len(SyncChange.__table__.c) <= MAX_INSERT_PARAMS < 8 * len(SyncChange.__table__.c)
    assert MAX_INSERT_PARAMS <= psycopg._queries.MAX_CACHED_STATEMENT_PARAMS


def _rows(first: int, count: int = 2) -> list[dict]:
    # JSON with text that needs escaping in COPY's format, a JSON null, and columns left out
    # (is_global and created_at have Python defaults).
    note = {"note": 'tab\there, "quotes", back\\slash\nnewline 中文', "n": [1, 2.5, None]}
    datas = [note, None] * (count // 2)
    return [
        {
            "position": first + i,
            "entity": "part_event",
            "entity_id": f"e{i}",
            "op": "upsert",
            "data": data,
            "visit_id": None,
            "customer_id": None,
            "audience_user_id": None,
        }
        for i, data in enumerate(datas)
    ]


def _stored(first: int) -> list[tuple]:
    table = SyncChange.__table__
    found = db.session.execute(
        select(table).where(table.c.position.between(first, first + 9)).order_by(table.c.position)
    )
    return [(r.entity_id, r.data, r.is_global, r.created_at) for r in found]


@SIZES
@freeze_time("2026-12-01 08:00:00")
def test_insert_rows_stores_what_an_insert_stores(app, count):
    connection = db.session.connection()
    insert_rows(connection, SyncChange.__table__, _rows(1000, count))
    connection.execute(insert(SyncChange.__table__), _rows(2000, count))
    copied, inserted = _stored(1000), _stored(2000)
    assert len(copied) == count
    assert copied == inserted
    assert copied[0][1]["note"].startswith("tab\there") and copied[0][2] is False
    assert copied[0][3] == datetime(2026, 12, 1, 8, tzinfo=UTC)


@SIZES
def test_a_row_that_breaks_a_key_is_an_integrity_error_as_with_an_insert(app, count):
    connection = db.session.connection()
    insert_rows(connection, SyncChange.__table__, _rows(3000, count))
    with pytest.raises(IntegrityError):
        insert_rows(connection, SyncChange.__table__, _rows(3000 + count - 1, count))
    db.session.rollback()


@SIZES
def test_a_default_the_database_computes_is_computed_for_rows_that_leave_it_out(app, count):
    probe = Table(
        "bulk_probe",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("at", DateTime(timezone=True), default=func.now(), nullable=False),
        prefixes=["TEMPORARY"],
    )
    connection = db.session.connection()
    probe.create(connection)
    insert_rows(connection, probe, [{"id": i} for i in range(count)])
    assert connection.execute(select(func.count()).where(probe.c.at.is_not(None))).scalar() == count
    db.session.rollback()
