"""The `onsite` command: run, db (migrations), seed-demo, create-user, new-epoch."""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext


def _create_app() -> Flask:
    from server import create_app

    return create_app()


def fill_stored_figures() -> None:
    """Store the figures of rows written before their hooks were (after an upgrade or a bulk
    load); from then on each is written in the transaction that changes one of its inputs."""
    from server.finance import stored_figures as finance_store
    from server.register import first_fix_store
    from server.register import sla_store as office_sla_store

    office_sla_store.store_all()
    finance_store.store_all()
    first_fix_store.store_all()


def _upgrade() -> None:
    from flask_migrate import upgrade

    from server.feed.defaults import ensure_defaults

    upgrade()
    ensure_defaults()
    fill_stored_figures()


@click.command("run")
@click.option("--host", default=lambda: os.environ.get("ONSITE_HOST", "127.0.0.1"))
@click.option("--port", default=lambda: int(os.environ.get("ONSITE_PORT", "5000")), type=int)
@click.option("--threads", default=8, type=int, help="Worker threads of this process.")
@click.option("--demo/--no-demo", default=False, help="Load the demo company first.")
@with_appcontext
def run_command(host: str, port: int, threads: int, demo: bool) -> None:
    """Apply migrations, optionally load demo data, and serve with waitress."""
    from flask import current_app
    from waitress import serve

    from server.demo import DEMO_PASSWORD, DEMO_USERS, load_demo

    _upgrade()
    if demo:
        load_demo()
    url = f"http://{host}:{port}"
    click.echo(f"Onsite is running at {url}/  (engineers' app: {url}/app/)")
    click.echo(f"Database: {current_app.config['SQLALCHEMY_DATABASE_URI']}")
    if demo:
        names = ", ".join(username for username, _, _ in DEMO_USERS)
        click.echo(f"Demo logins (password '{DEMO_PASSWORD}'): {names}")
    from server import freeze_startup_heap

    freeze_startup_heap()
    serve(current_app._get_current_object(), host=host, port=port, threads=threads)


@click.command("upgrade")
@with_appcontext
def upgrade_command() -> None:
    """Apply migrations and create the default rows (checklist template, epoch)."""
    _upgrade()
    click.echo("Database is at the latest migration.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the demo company (a second load changes nothing)."""
    from server.demo import load_demo

    _upgrade()
    click.echo("Demo data loaded." if load_demo() else "Demo data was already there.")


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["engineer", "office", "supervisor", "finance", "admin"]),
)
@click.option("--name", "display_name", default=None)
@click.password_option()
@with_appcontext
def create_user_command(username: str, role: str, display_name: str | None, password: str) -> None:
    """Create a user account."""
    from server.accounts.operations import create_user
    from server.extensions import db

    try:
        create_user(username, password, role, display_name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {role} {username}.")


@click.command("new-epoch")
@with_appcontext
def new_epoch_command() -> None:
    """Start a new sync epoch; run it after restoring a backup so every phone resyncs."""
    from server.feed.defaults import new_epoch

    click.echo(f"New epoch: {new_epoch()}")


@click.command("store-sla")
@with_appcontext
def store_sla_command() -> None:
    """Store the settled SLA outcomes of requests that have none yet (after an upgrade)."""
    from server.register.sla_store import store_all

    click.echo(f"Read {store_all()} requests.")


@click.command("store-finance")
@with_appcontext
def store_finance_command() -> None:
    """Store the owed figures and business days of visits that have none yet (after an upgrade)."""
    from server.finance.stored_figures import store_all

    click.echo(f"Priced {store_all()} visits.")


@click.command("store-first-fix")
@with_appcontext
def store_first_fix_command() -> None:
    """Decide the first-time-fix verdicts of requests that have none yet (after an upgrade)."""
    from server.register.first_fix_store import store_all

    click.echo(f"Decided {store_all()} requests.")


def register_commands(app: Flask) -> None:
    """Attach the commands to the app's CLI (also reachable as `flask --app server ...`)."""
    for command in (
        run_command,
        upgrade_command,
        seed_demo_command,
        create_user_command,
        new_epoch_command,
        store_sla_command,
        store_finance_command,
        store_first_fix_command,
    ):
        app.cli.add_command(command)


@click.group(
    cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False
)
def main() -> None:
    """Onsite: offline-first field service."""
