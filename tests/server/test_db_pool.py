"""A pooled connection the database dropped never reaches a request unseen twice.

A connection left idle is pinged before use and replaced if dead, so a request after a quiet
spell does not notice a restart at all. One in steady use is not pinged (a round trip saved on
every request): the request that finds it dead is answered 503 with nothing saved, and the next
one connects afresh. The database really drops the connections here (pg_terminate_backend).
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from server import db_pool
from server.customers.models import Customer
from server.extensions import db


def _drop_the_apps_connections() -> int:
    """End the sessions of the app's connections, as a restart of the database would."""
    admin = create_engine(db.engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        ended = conn.execute(
            text("SELECT count(pg_terminate_backend(pid)) FROM unnest(:pids) AS pid"),
            {"pids": sorted(_OPENED)},
        ).scalar_one()
    admin.dispose()
    _OPENED.clear()
    return ended


_OPENED: set[int] = set()  # backends of the connections the app's pool opened in this test


def _opened(dbapi_connection, _record) -> None:
    _OPENED.add(dbapi_connection.info.backend_pid)


def _served(answer):
    """End the request's session, as the end of its app context does when served: the tests
    keep one app context open, which Flask lends to the requests they make."""
    db.session.remove()
    return answer


@pytest.fixture
def office(app, make, login, postgres):
    session = login(make.user("office"))
    session.customer_id = make.customer(contact_person="周老师").id
    db.session.remove()  # the test's own connection back in the pool, like the app's
    db.engine.dispose()  # from here on, every connection of the pool is one this test saw open
    event.listen(db.engine, "connect", _opened)
    yield session
    event.remove(db.engine, "connect", _opened)
    db.session.remove()
    db.engine.dispose()  # no connection this test killed is left for the next test


def test_an_idle_connection_that_died_is_replaced_unseen(office, monkeypatch):
    assert _served(office.get("/api/customers")).status_code == 200
    assert _drop_the_apps_connections() >= 1
    monkeypatch.setattr(db_pool, "IDLE_PING_SECONDS", 0.0)  # every pooled one counts as idle
    answer = _served(office.get("/api/customers"))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["items"][0]["contact_person"] == "周老师"


def test_a_connection_that_died_in_use_is_a_503_then_the_next_request_connects(office, monkeypatch):
    assert _served(office.get("/api/customers")).status_code == 200
    monkeypatch.setattr(db_pool, "IDLE_PING_SECONDS", 3600.0)  # in steady use: no ping
    assert _drop_the_apps_connections() >= 1
    customer_id = office.customer_id
    lost = _served(office.patch(f"/api/customers/{customer_id}", json={"contact_person": "王工"}))
    assert lost.status_code == 503, lost.get_json()
    assert lost.get_json()["message_key"] == "err.database_reconnecting"
    assert lost.headers["Retry-After"] == "1"
    again = _served(office.patch(f"/api/customers/{customer_id}", json={"contact_person": "王工"}))
    assert again.status_code == 200, again.get_json()
    db.session.expire_all()
    assert db.session.get(Customer, customer_id).contact_person == "王工"


def test_a_database_that_cannot_be_reached_is_a_503_not_a_500():
    """Whatever the suite runs on: this app's database is a port where nothing listens."""
    from server import create_app
    from server.config import TestConfig

    down = create_app(TestConfig(database_url="postgresql+psycopg://onsite@127.0.0.1:9/onsite"))
    down.config["PROPAGATE_EXCEPTIONS"] = False
    answer = down.test_client().get(
        "/api/sync/pull", headers={"Authorization": "Bearer " + "x" * 40}
    )
    assert answer.status_code == 503, answer.get_json()
    assert answer.get_json()["message_key"] == "err.database_unavailable"
    assert answer.headers["Retry-After"] == "1"
    assert down.test_client().get("/healthz").status_code == 503
