"""Wires every domain into the app: its blueprints and the folder of its page templates."""

from pathlib import Path

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader

SERVER = Path(__file__).resolve().parent.parent

# Each domain keeps its page templates beside its views; the shared frame (base, error, the
# office layout and form macros) is web's. Template names stay unique across the folders.
TEMPLATE_PACKAGES = (
    "web",
    "accounts",
    "customers",
    "register",
    "visits",
    "aftercare",
    "office",
    "finance",
)


def template_loader() -> ChoiceLoader:
    """One loader over every domain's templates folder."""
    return ChoiceLoader(
        [FileSystemLoader(SERVER / name / "templates") for name in TEMPLATE_PACKAGES]
    )


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint to the app, and every domain's templates."""
    app.jinja_loader = template_loader()
    from server.accounts import api as api_accounts
    from server.accounts import home
    from server.customers import api as api_customers
    from server.extensions import api
    from server.finance import views as finance
    from server.office import views as office
    from server.register import api as api_requests
    from server.syncing import api as sync_api
    from server.syncing import blobs as sync_blobs
    from server.visits import api as api_visits
    from server.web import pwa

    for blp in (
        api_accounts.blp,
        api_customers.blp,
        api_requests.blp,
        api_visits.blp,
        sync_api.blp,
        sync_blobs.blp,
    ):
        api.register_blueprint(blp)
    app.register_blueprint(home.bp)
    app.register_blueprint(pwa.bp)
    app.register_blueprint(office.bp)
    app.register_blueprint(finance.bp)
    from server.finance.api import blp as finance_api

    api.register_blueprint(finance_api)
    from server.accounts import views as accounts
    from server.web import api_guard

    api_guard.init_app(app)
    app.register_blueprint(accounts.bp)
    accounts.init_app(app)
