"""Wires every domain into the app: its blueprints and the folder of its page templates."""

from pathlib import Path

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader

SERVER = Path(__file__).resolve().parent

# Each domain keeps its page templates beside its views; the shared frame (base, error, the
# office layout and form macros) is web's. Template names stay unique across the folders.
TEMPLATE_PACKAGES = (
    "web",
    "accounts",
    "customers",
    "register",
    "review",
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
    """Attach every domain's API and pages to the app, and every domain's templates."""
    from server.accounts import api as api_accounts
    from server.accounts import home
    from server.accounts import views as accounts
    from server.aftercare import views as aftercare_pages  # noqa: F401  (adds its routes to the office blueprint)
    from server.customers import api as api_customers
    from server.customers import views as customer_pages  # noqa: F401  (adds its routes to the office blueprint)
    from server.extensions import api
    from server.finance import api as api_finance
    from server.finance import views as finance
    from server.office import views as office_home  # noqa: F401  (adds its routes to the office blueprint)
    from server.register import api as api_requests
    from server.register import views as register_pages  # noqa: F401  (adds its routes to the office blueprint)
    from server.review import views as review_pages  # noqa: F401  (adds its routes to the office blueprint)
    from server.syncing import api as sync_api
    from server.syncing import blobs as sync_blobs
    from server.visits import api as api_visits
    from server.web import api_guard, office_pages, pwa

    app.jinja_loader = template_loader()
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
    app.register_blueprint(office_pages.bp)
    app.register_blueprint(finance.bp)
    api.register_blueprint(api_finance.blp)
    api_guard.init_app(app)
    app.register_blueprint(accounts.bp)
    accounts.init_app(app)
