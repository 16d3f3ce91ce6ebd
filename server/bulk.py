"""Write many new rows of one table at once: one statement on PostgreSQL, an executemany elsewhere.

A push writes a row per op in three tables (the op record, the field record, the feed entry).
Sent as an executemany, PostgreSQL parses, binds and executes an INSERT per row; COPY streams
the rows into one command, which costs both the app and the database a fraction of that. A
phone's usual push is a few ops, though, and COPY takes two round trips (the command, then the
data); a few rows go as one multi-row INSERT on the driver's cursor instead (MAX_INSERT_PARAMS).

The rows are the ones `insert(table)` would take: each value goes through its column type's
bind processor (JSON, UTC datetimes), and a column a row leaves out gets its Python default,
exactly as SQLAlchemy's insert would give it. A key or check the rows break is raised as the
SQLAlchemy error the executemany would have raised (IntegrityError), so callers handle both
paths alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.exc import DBAPIError

# A batch with at most this many values goes as one INSERT: one round trip, where COPY takes
# two. psycopg caches its parsing of a statement with at most 50 parameters
# (psycopg._queries.MAX_CACHED_STATEMENT_PARAMS, tests/server/test_bulk.py holds us to it);
# past that it parses the statement every time, and COPY is the cheaper way.
MAX_INSERT_PARAMS = 50


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (all with the same keys) into `table`, in their order."""
    if not rows:
        return
    dialect = connection.dialect
    left_out = [c for c in table.c if c.name not in rows[0] and c.default is not None]
    # A default SQL computes (a clause, a sequence) has no value to stream: the insert runs it.
    computed = any(not (c.default.is_scalar or c.default.is_callable) for c in left_out)
    if dialect.name != "postgresql" or dialect.driver != "psycopg" or computed:
        connection.execute(insert(table), list(rows))
        return
    given = list(rows[0].keys())
    fixed = [c for c in left_out if c.default.is_scalar]
    made = [c for c in left_out if c.default.is_callable]
    columns = [table.c[name] for name in given] + fixed + made
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    constants = [c.default.arg for c in fixed]
    makers = [c.default.arg for c in made]  # wrapped by SQLAlchemy to take a context
    quote = dialect.identifier_preparer
    names = ", ".join(quote.quote(c.name) for c in columns)

    def values(row: Mapping[str, Any]) -> list[Any]:
        given_values = [row[name] for name in given] + constants + [m(None) for m in makers]
        return [v if p is None else p(v) for v, p in zip(given_values, processors, strict=True)]

    cursor = connection.connection.driver_connection.cursor()
    few = len(rows) * len(columns) <= MAX_INSERT_PARAMS
    if few:
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        statement = f"INSERT INTO {quote.format_table(table)} ({names}) VALUES " + ", ".join(
            [one] * len(rows)
        )
    else:
        statement = f"COPY {quote.format_table(table)} ({names}) FROM STDIN"
    try:
        if few:
            cursor.execute(statement, [v for row in rows for v in values(row)])
        else:
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(values(row))
    except dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy wraps a driver's error (IntegrityError for a broken key, and so on).
        raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()
