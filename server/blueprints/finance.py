"""Finance pages (handover, reconciliation): server-rendered, finance role only."""

from flask import Blueprint, redirect, render_template, request, url_for

from ..auth import FINANCE_ROLES, current_user
from ..errors import ApiError

bp = Blueprint("finance", __name__, url_prefix="/finance")


@bp.before_request
def _finance_only():
    user = current_user()
    if user is None:
        return redirect(url_for("home.login", next=request.path))
    if user.role not in FINANCE_ROLES:
        raise ApiError(403, "These pages are for finance staff.")
    return None


@bp.get("/")
def index():
    """The finance home page."""
    return render_template("finance/index.html")
