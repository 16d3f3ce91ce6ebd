"""Ping a pooled database connection only when it has sat idle long enough to have gone stale.

SQLAlchemy's `pool_pre_ping` makes a round trip to the database before every checkout. A phone's
sync cycle is two requests, so that was two of its round trips, and under load each round trip
waits its turn for the database's CPU: in a profile of gunicorn at 3,000 engineers the ping
was a sixth of a worker's time in requests. A connection in steady use cannot go stale unseen:
the request using it would have failed. One idle for IDLE_PING_SECONDS may have (a restart of
the database, a firewall's idle timeout), and is pinged with the dialect's own ping before use;
a dead one is replaced by the pool.

If the database goes away under connections in use, the request that finds out gets a 503
(server.errors), SQLAlchemy drops that connection and remakes the idle ones (`Pool.recreate`),
and the next request connects afresh.
"""

from __future__ import annotations

import time
from typing import Any
from weakref import WeakSet

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

# Longer than a busy pool leaves a connection unused, far shorter than any idle timeout a
# database or a network in between would set.
IDLE_PING_SECONDS = 10.0
_IDLE_SINCE = "onsite_idle_since"
_INSTALLED: WeakSet[Engine] = WeakSet()


def install(engine: Engine) -> None:
    """Ping idle connections at checkout, instead of every connection (once per engine)."""
    if engine in _INSTALLED:
        return
    _INSTALLED.add(engine)
    dialect = engine.dialect

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # just connected, or in steady use
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # The pool drops this connection and takes another (or connects), up to 3 times.
            raise DisconnectionError(str(exc)) from exc
        if alive is False:
            raise DisconnectionError("the database did not answer a ping")

    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", ping_if_idle)


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info[_IDLE_SINCE] = time.monotonic()
