"""Shared fixtures: a real database (SQLite, or PostgreSQL when named), the app, clients, factories.

Set ONSITE_TEST_POSTGRES to a server URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres) to
run the suite on PostgreSQL: a database of its own is created for the run and dropped after it.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from server import create_app
from server.config import TestConfig
from server.extensions import db
from tests.api.device_client import DeviceClient


def _postgres_url() -> str | None:
    url = os.environ.get("ONSITE_TEST_POSTGRES")
    if not url:
        return None
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", url)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """Make a database for this run and drop it afterwards."""
    server_url = _postgres_url()
    if server_url is None:
        path = Path(tmp_path_factory.mktemp("db")) / "onsite-test.sqlite3"
        yield f"sqlite:///{path}"
        return
    name = f"onsite_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = server_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def postgres(is_postgres):
    """Skip a test of what only a PostgreSQL server does (dump and restore, dropped sessions)."""
    if not is_postgres:
        pytest.skip("POSTGRES-ONLY TEST SKIPPED: set ONSITE_TEST_POSTGRES to run it")


@pytest.fixture
def postgres_only(is_postgres):
    """Skip a test that stages two writers at once: SQLite runs one writer at a time, so the
    second cannot write before the first commits and the race cannot happen there."""
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time: the staged race cannot happen there")


@pytest.fixture(scope="session")
def _migrated_app(database_url, tmp_path_factory):
    """Build one app for the run and bring its database to the latest migration."""
    from flask_migrate import upgrade

    config = TestConfig(database_url=database_url)
    app = create_app(config)
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
    return app


def _wipe(app) -> None:
    """Empty every table, so each test starts from the migrated, default-seeded state."""
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # A browser test's server thread may still be finishing a request: end it, so
                # the truncation neither waits on its locks nor deadlocks with it.
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                conn.execute(
                    text(
                        "TRUNCATE "
                        + ", ".join(f'"{t}"' for t in tables)
                        + " RESTART IDENTITY CASCADE"
                    )
                )
            else:
                conn.execute(text("PRAGMA foreign_keys=OFF"))
                for table in reversed(tables):
                    conn.execute(text(f'DELETE FROM "{table}"'))
                conn.execute(text("PRAGMA foreign_keys=ON"))
            conn.execute(text("INSERT INTO sync_counter (id, value) VALUES (1, 0)"))
        # The pool's other connections were just ended: it must not lend them out (the app
        # pings only a connection left idle, as server.db_pool says).
        db.engine.dispose()
        from server.feed.defaults import ensure_defaults

        ensure_defaults()
        db.session.remove()


class FreshGClient(FlaskClient):
    """A test client whose requests each start with an empty `g`, as in production.

    Tests keep one app context open for database access, and Flask reuses it for the requests
    they make; without this, `g` (signed-in user, CSRF token, locale) would leak between them.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for key in list(g):
                g.pop(key)
        return super().open(*args, **kwargs)


@pytest.fixture
def app(_migrated_app):
    """The app, with a freshly emptied database."""
    _wipe(_migrated_app)
    _migrated_app.test_client_class = FreshGClient
    with _migrated_app.app_context():
        yield _migrated_app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


class Factory:
    """Makes domain rows with sensible defaults; every call commits."""

    def __init__(self, app) -> None:
        self.app = app
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def user(self, role: str = "engineer", username: str | None = None, password: str = "pw"):
        from server.accounts.operations import create_user

        user = create_user(username or f"{role}{self._next()}", password, role)
        db.session.commit()
        return user

    def customer(self, **kw):
        from server.customers.models import Customer

        n = self._next()
        values = {
            "name": f"客户{n}",
            "contact_person": "周老师",
            "phone": f"029-8800{n:04d}",
            "address": f"西安市雁塔区科技路 {n} 号",
        }
        values.update(kw)
        customer = Customer(**values)
        db.session.add(customer)
        db.session.commit()
        return customer

    def equipment(self, customer=None, **kw):
        from server.customers.models import Equipment

        customer = customer or self.customer()
        values = {
            "customer_id": customer.id,
            "brand": "华为",
            "model": "S5735",
            "serial_number": f"SN{self._next():05d}",
            "acceptance_date": datetime.now(UTC).date() - timedelta(days=100),
            "warranty_months": 12,
        }
        values.update(kw)
        item = Equipment(**values)
        db.session.add(item)
        db.session.commit()
        return item

    def request(self, customer=None, by=None, **kw):
        from server.register.operations import register_request

        customer = customer or self.customer()
        by = by or self.user("office")
        data = {
            "customer_id": customer.id,
            "equipment_id": None,
            "problem": "网络中断",
            "symptoms": None,
            "channel": "hotline",
            "severity": "normal",
            "urgency": "normal",
            "needs_visit": True,
            "received_at": None,
        }
        data.update(kw)
        request = register_request(data, by)
        db.session.commit()
        return request

    def visit(self, request=None, engineer=None, **kw):
        from server.dispatch.operations import schedule_visit

        request = request or self.request()
        data = {"engineer_id": engineer.id if engineer else None}
        data.update(kw)
        visit = schedule_visit(request, data)
        db.session.commit()
        return visit


@pytest.fixture
def make(app) -> Factory:
    return Factory(app)


class Session:
    """A signed-in browser-like client for office, supervisor, finance or admin users."""

    def __init__(self, client, user) -> None:
        self.client = client
        self.user = user
        response = client.post(
            "/login",
            data={"username": user.username, "password": "pw", "csrf_token": self._login_csrf()},
        )
        assert response.status_code == 302, response.data
        self.csrf = client.get("/api/csrf-token").get_json()["csrf_token"]

    def _login_csrf(self) -> str:
        page = self.client.get("/login").get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, json=None, **kw):
        headers = {"X-CSRFToken": self.csrf, **kw.pop("headers", {})}
        return self.client.post(url, json=json, headers=headers, **kw)

    def patch(self, url, json=None, **kw):
        headers = {"X-CSRFToken": self.csrf, **kw.pop("headers", {})}
        return self.client.patch(url, json=json, headers=headers, **kw)


@pytest.fixture
def login(app):
    """Sign a user in with a browser session: login(user) -> Session."""

    def _login(user) -> Session:
        return Session(app.test_client(), user)

    return _login


@pytest.fixture
def signed_device(app):
    """Sign an engineer's device in: device(user) -> DeviceClient."""

    def _device(user, device_id: str | None = None) -> DeviceClient:
        return DeviceClient(app.test_client(), user, device_id)

    return _device
