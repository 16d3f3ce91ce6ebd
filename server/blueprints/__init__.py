"""One blueprint per audience."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint to the app."""
    from ..extensions import api
    from . import (
        api_accounts,
        api_customers,
        api_requests,
        api_visits,
        finance,
        home,
        office,
        pwa,
        sync_api,
        sync_blobs,
    )

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
    from .api_finance import blp as finance_api

    api.register_blueprint(finance_api)
    from . import accounts, api_guard

    api_guard.init_app(app)
    app.register_blueprint(accounts.bp)
    accounts.init_app(app)
