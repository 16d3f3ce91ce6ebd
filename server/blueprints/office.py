"""Office pages (register, SLA board, dispatch, review): server-rendered, office roles only."""

from flask import Blueprint, redirect, render_template, request, url_for

from ..auth import OFFICE_ROLES, current_user
from ..errors import ApiError

bp = Blueprint("office", __name__, url_prefix="/office")


@bp.before_request
def _office_only():
    user = current_user()
    if user is None:
        return redirect(url_for("home.login", next=request.path))
    if user.role not in OFFICE_ROLES:
        raise ApiError(403, "These pages are for office staff.")
    return None


@bp.get("/")
def index():
    """The office home page."""
    return render_template("office/index.html")
