"""`server.bulk.insert_rows` (COPY on PostgreSQL) writes what `insert(table)` writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, func, insert, select
from sqlalchemy.exc import IntegrityError

from server.bulk import insert_rows
from server.extensions import db
from server.feed.models import SyncChange


def _rows(first: int) -> list[dict]:
    # JSON with text that needs escaping in COPY's format, a JSON null, and columns left out
    # (is_global and created_at have Python defaults).
    datas = [{"note": 'tab\there, "quotes", back\\slash\nnewline 中文', "n": [1, 2.5, None]}, None]
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


@freeze_time("2026-12-01 08:00:00")
def test_insert_rows_stores_what_an_insert_stores(app):
    connection = db.session.connection()
    insert_rows(connection, SyncChange.__table__, _rows(1000))
    connection.execute(insert(SyncChange.__table__), _rows(2000))
    copied, inserted = _stored(1000), _stored(2000)
    assert copied == inserted
    assert copied[0][1]["note"].startswith("tab\there") and copied[0][2] is False
    assert copied[0][3] == datetime(2026, 12, 1, 8, tzinfo=UTC)


def test_a_row_that_breaks_a_key_is_an_integrity_error_as_with_an_insert(app):
    connection = db.session.connection()
    insert_rows(connection, SyncChange.__table__, _rows(3000))
    with pytest.raises(IntegrityError):
        insert_rows(connection, SyncChange.__table__, _rows(3001))
    db.session.rollback()


def test_a_default_the_database_computes_is_computed_for_rows_that_leave_it_out(app):
    probe = Table(
        "bulk_probe",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("at", DateTime(timezone=True), default=func.now(), nullable=False),
        prefixes=["TEMPORARY"],
    )
    connection = db.session.connection()
    probe.create(connection)
    insert_rows(connection, probe, [{"id": 1}, {"id": 2}])
    assert connection.execute(select(func.count()).where(probe.c.at.is_not(None))).scalar() == 2
    db.session.rollback()
