"""Migrations build the schema the models describe, on SQLite and PostgreSQL alike."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from server.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_migrations_go_down_to_empty_and_up_again(app):
    downgrade(revision="base")
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == ()
    upgrade()
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() != ()
        assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
