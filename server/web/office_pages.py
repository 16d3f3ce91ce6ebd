"""The office pages' frame: one blueprint under /office for office staff, supervisors and admins,
and what every office view shares (filters for times and money, paging, the post/redirect/get
form cycle). Each domain adds its pages to this blueprint in its own views module.

Views are thin: they load a form through its schema, call one operation, commit, and redirect; a
form that fails is redrawn with the error beside the field, after a rollback, so nothing is
half-saved.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    request,
    url_for,
)
from marshmallow import ValidationError

from server.accounts.auth import OFFICE_ROLES, current_user
from server.accounts.models import Role, User
from server.domain.charges import format_fen
from server.domain.timezone import COMPANY_TZ
from server.errors import ApiError
from server.extensions import count_rows, db
from server.i18n import translate as _
from server.web.forms import PageQuery
from sync.limits import storable

bp = Blueprint("office", __name__, url_prefix="/office")

SUPERVISOR_ROLES = (Role.SUPERVISOR, Role.ADMIN)
PAGE_SIZE = 50


@bp.before_request
def _office_only():
    user = current_user()
    if user is None:
        return redirect(url_for("home.login", next=request.path))
    if user.role not in OFFICE_ROLES:
        raise ApiError(403, "err.office.staff_only")
    return None


# --- helpers shared by the views ---


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Show a stored UTC time on the company's clock."""
    return value.astimezone(COMPANY_TZ).strftime(fmt) if value else ""


def input_time(value: datetime | None) -> str:
    """Return a time as a datetime-local input wants it."""
    return local_time(value, "%Y-%m-%dT%H:%M")


bp.add_app_template_filter(local_time, "office_dt")
bp.add_app_template_filter(input_time, "office_input_dt")
bp.add_app_template_filter(lambda fen: format_fen(fen) if fen is not None else "", "office_fen")


@bp.app_template_filter("office_json")
def _json_text(value: Any) -> str:
    """Show stored JSON readably (Chinese as itself); a plain string, so Jinja escapes it.

    Rows kept before the server cleaned what it stores (issue 9) may hold lone surrogates or NUL:
    they are shown replaced, so the page still renders.
    """
    return json.dumps(storable(value), ensure_ascii=False, indent=2, sort_keys=True, default=str)


@bp.app_context_processor
def _office_globals() -> dict[str, Any]:
    user = current_user()
    return {
        "office_is_supervisor": bool(user and user.role in SUPERVISOR_ROLES),
        "office_user_names": user_name,
    }


def user_name(user_id: int | None) -> str:
    if user_id is None:
        return ""
    user = db.session.get(User, user_id)
    return user.display_name if user else f"#{user_id}"


def get_or_404(model, ident: Any, what: str):
    obj = db.session.get(model, ident)
    if obj is None:
        raise ApiError(404, f"err.no_such.{what}")
    return obj


def active_engineers() -> list[User]:
    return list(
        db.session.scalars(
            db.select(User)
            .where(User.role == Role.ENGINEER, User.is_active)
            .order_by(User.display_name, User.id)
        )
    )


def done(message_key: str, target: str):
    flash(_(message_key), "ok")
    return redirect(target)


def page_number() -> int:
    """Return the ?page= asked for; a bad one is a 422 naming the field."""
    values = {"page": request.args["page"]} if request.args.get("page") else {}
    try:
        return PageQuery().load(values)["page"]
    except ValidationError as exc:
        raise ApiError(422, "err.office.page_number", exc.messages) from None


def paged(query, page: int) -> tuple[int, list]:
    """Count a query and return one page of it."""
    total = count_rows(query)
    items = db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return total, list(items)


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))
