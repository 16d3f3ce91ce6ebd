"""Onsite's Flask server: the application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from server.config import DEV_SECRET, Config

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    """Build an Onsite app from a Config (read from the environment when none is given)."""
    config = config or Config()
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.config.from_object(config)
    app.config.update(overrides)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        db_file = Path(app.instance_path) / "onsite.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_file}"
    if not config.is_development and app.config["SECRET_KEY"] in (None, "", DEV_SECRET):
        raise RuntimeError(
            "ONSITE_SECRET_KEY must be set to a long random value outside development "
            "(ONSITE_ENV=development uses a built-in key)."
        )
    app.config["STATIC_DIR"] = str(STATIC_DIR)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgres"):
        # Sessions in UTC: the driver then hands back timestamps already in datetime.UTC, which
        # UTCDateTime passes through instead of converting each one (a report reads 100,000).
        # Nothing reads the session zone otherwise: every local day is an explicit AT TIME ZONE.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("options", "-c TimeZone=UTC")
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "connect_args": connect_args}

    from server import (
        db_pool,
        errors,
        i18n,
        tables,  # noqa: F401  (every mapper, before the first query)
    )
    from server.accounts import auth
    from server.extensions import api, compress, csrf, db, migrate
    from server.web import cookie_session, json_guard, routing, security_headers

    routing.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    compress.init_app(app)
    api.init_app(app)
    errors.init_app(app)
    json_guard.init_app(app)
    auth.init_app(app)
    i18n.init_app(app)
    security_headers.init_app(app)
    cookie_session.init_app(app)
    _enable_sqlite_pragmas(app)
    with app.app_context():
        db_pool.install(db.engine)

    from server.feed import changes
    from server.finance import stored_figures as finance_store
    from server.register import first_fix_store
    from server.register import sla_store as office_sla_store

    changes.install()
    office_sla_store.install()
    # Before finance: each puts its commit hook first, so finance's runs first, then this one.
    first_fix_store.install()
    finance_store.install()

    from server.wiring import register_blueprints

    register_blueprints(app)

    from server.cli import register_commands

    register_commands(app)

    from server.web import observability

    observability.init_app(app)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    return app


def _enable_sqlite_pragmas(app: Flask) -> None:
    """Turn on foreign keys and WAL for SQLite, which has them off by default."""
    from sqlalchemy import event

    from server.extensions import db

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()


def freeze_startup_heap() -> None:
    """Leave what the app built at start-up out of the garbage collector's full passes.

    Call once in each serving process, after `create_app` (gunicorn's `post_worker_init`,
    `onsite run`). The modules, mappers, templates and caches built at start-up live as long as
    the process; without this every full collection walks them all again, a pause of a hundred
    milliseconds and more in the middle of whichever request happened to trigger it.
    """
    import gc

    gc.collect()
    gc.freeze()
