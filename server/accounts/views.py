"""Accounts pages: one's own password, and users, devices and sign-in locks for managers.

Supervisors and admins manage users and devices; every office user may lift a sign-in lock.
Views are thin: they load a form through its schema, call one operation, commit, redirect.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from marshmallow import EXCLUDE, ValidationError, fields

from server.accounts import operations as accounts
from server.accounts import throttle
from server.accounts.auth import (
    ACCOUNT_ROLES,
    OFFICE_ROLES,
    WIPE_REASONS,
    current_user,
    login_session,
)
from server.accounts.models import Device, Role, User
from server.errors import ApiError
from server.extensions import db
from server.i18n import translate as _
from server.web.api_schemas import StrictSchema, one_of, text

bp = Blueprint("account", __name__)

# While a reset password is pending, only these pages answer.
ALLOWED_WHILE_MUST_CHANGE = {
    "account.password",
    "account.sign_out_mine",
    "home.logout",
    "home.healthz",
    "home.asset",
    "office.assets",
    "api_accounts.csrf_token",
}


class PasswordForm(StrictSchema):
    class Meta:
        unknown = EXCLUDE

    current = fields.String(required=True)
    new = fields.String(required=True)
    repeat = fields.String(required=True)


class NewUserForm(StrictSchema):
    class Meta:
        unknown = EXCLUDE

    username = text(64, required=True)
    display_name = text(120, required=True)
    role = one_of(list(Role), required=True)
    password = fields.String(required=True)


class ResetForm(StrictSchema):
    class Meta:
        unknown = EXCLUDE

    password = fields.String(required=True)


def _user() -> User:
    user = current_user()
    if user is None or g.get("auth_kind") != "session":
        raise ApiError(401, _("account.sign_in_first"))
    return user


def _manager() -> User:
    user = _user()
    if user.role not in ACCOUNT_ROLES:
        raise ApiError(403, _("account.not_allowed"))
    return user


def _target(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise ApiError(404, _("account.no_such_user"))
    return user


def _page(errors: dict | None = None, status: int = 200):
    viewer = _user()
    if viewer.role not in OFFICE_ROLES:
        raise ApiError(403, _("account.not_allowed"))
    users = db.session.scalars(db.select(User).order_by(User.role, User.username)).all()
    devices = db.session.scalars(
        db.select(Device).order_by(Device.user_id, Device.created_at)
    ).all()
    by_user: dict[int, list[Device]] = {}
    for device in devices:
        by_user.setdefault(device.user_id, []).append(device)
    return (
        render_template(
            "accounts/index.html",
            users=users,
            devices=by_user,
            locks=throttle.current_locks(),
            lost_ops=accounts.lost_ops,
            wipe_reasons=WIPE_REASONS,
            manager=viewer.role in ACCOUNT_ROLES,
            roles=list(Role),
            errors=errors or {},
            form=request.form,
        ),
        status,
    )


@bp.get("/accounts/")
def index():
    """Users, their devices (last sync, app version, unsent work) and the sign-in locks."""
    return _page()


@bp.post("/accounts/users")
def create():
    """Create a user with a role; they choose their own password at first sign-in."""
    by = _manager()
    try:
        data = NewUserForm().load(request.form)
    except ValidationError as exc:
        return _page(exc.messages, 422)
    problem = accounts.password_problem(data["password"])
    if problem:
        return _page({"password": [_(problem, n=accounts.MIN_PASSWORD)]}, 422)
    try:
        user = accounts.create_user(
            data["username"], data["password"], data["role"], data["display_name"]
        )
    except ValueError:
        return _page({"username": [_("account.username_taken")]}, 409)
    user.must_change_password = True
    from server.accounts import security_audit

    security_audit.record("user.created", f"user:{user.username}", actor=by, role=user.role)
    db.session.commit()
    flash(_("account.created", username=user.username))
    return redirect(url_for("account.index"))


@bp.post("/accounts/users/<int:user_id>/reset")
def reset(user_id: int):
    """Set a temporary password the user must change at next sign-in."""
    by = _manager()
    target = _target(user_id)
    try:
        data = ResetForm().load(request.form)
    except ValidationError as exc:
        return _page(exc.messages, 422)
    problem = accounts.password_problem(data["password"])
    if problem:
        return _page({"password": [_(problem, n=accounts.MIN_PASSWORD)]}, 422)
    accounts.reset_password(target, data["password"], by)
    db.session.commit()
    flash(_("account.reset_done", username=target.username))
    return redirect(url_for("account.index"))


@bp.post("/accounts/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    """Close an account: its sessions end, its devices are revoked and wipe themselves."""
    by = _manager()
    target = _target(user_id)
    if target.id == by.id:
        raise ApiError(409, _("account.not_yourself"))
    accounts.deactivate(target, by)
    db.session.commit()
    flash(_("account.deactivated", username=target.username))
    return redirect(url_for("account.index"))


@bp.post("/accounts/users/<int:user_id>/reactivate")
def reactivate(user_id: int):
    """Open a closed account again."""
    by = _manager()
    accounts.reactivate(_target(user_id), by)
    db.session.commit()
    return redirect(url_for("account.index"))


@bp.post("/accounts/users/<int:user_id>/sign-out")
def sign_out_everywhere(user_id: int):
    """End every browser session and device sign-in of a user."""
    by = _manager()
    target = _target(user_id)
    accounts.sign_out_everywhere(target, by)
    db.session.commit()
    flash(_("account.signed_out", username=target.username))
    if target.id == by.id:
        return redirect(url_for("home.login"))
    return redirect(url_for("account.index"))


@bp.post("/accounts/devices/<string:device_id>/revoke")
def revoke_device(device_id: str):
    """Revoke a lost or stolen phone: at its next contact it wipes what it holds."""
    by = _manager()
    device = db.session.get(Device, device_id[:36])
    if device is None:
        raise ApiError(404, _("account.no_such_device"))
    accounts.revoke_device(device, "revoked", by)
    db.session.commit()
    flash(_("account.device_revoked", name=device.name))
    return redirect(url_for("account.index"))


@bp.post("/accounts/locks/<int:lock_id>/unlock")
def unlock(lock_id: int):
    """Lift a sign-in lock (any office user)."""
    by = _user()
    if by.role not in OFFICE_ROLES:
        raise ApiError(403, _("account.not_allowed"))
    if throttle.unlock(lock_id, by) is None:
        raise ApiError(404, _("account.no_such_lock"))
    db.session.commit()
    flash(_("account.unlocked"))
    return redirect(url_for("account.index"))


@bp.route("/account/password", methods=["GET", "POST"])
def password():
    """Change one's own password; the other sessions and every device sign-in end."""
    user = _user()
    errors: dict = {}
    if request.method == "POST":
        try:
            data = PasswordForm().load(request.form)
        except ValidationError as exc:
            errors = exc.messages
        else:
            from server.accounts.auth import check_password

            problem = accounts.password_problem(data["new"])
            if not check_password(user, data["current"]):
                errors = {"current": [_("login.failed")]}
            elif problem:
                errors = {"new": [_(problem, n=accounts.MIN_PASSWORD)]}
            elif data["new"] != data["repeat"]:
                errors = {"repeat": [_("account.password.mismatch")]}
            elif data["new"] == data["current"]:
                errors = {"new": [_("account.password.same")]}
            else:
                accounts.change_password(user, data["new"], keep_session=session.get("sid"))
                db.session.commit()
                # A fresh session token as well: the old one may have been seen.
                login_session(user)
                flash(_("account.password.changed"))
                return redirect(url_for("home.index"))
    status = 422 if errors else 200
    return render_template("accounts/password.html", errors=errors, user=user), status


@bp.post("/account/sign-out-everywhere")
def sign_out_mine():
    """End all of one's own sessions and device sign-ins, this one included."""
    user = _user()
    accounts.sign_out_everywhere(user, user)
    db.session.commit()
    return redirect(url_for("home.login"))


def init_app(app) -> None:
    """Hold a user whose password was reset on the change page until they choose a new one."""

    @app.before_request
    def _must_change() -> None:
        user = g.get("user")
        if (
            user is None
            or g.get("auth_kind") != "session"
            or not user.must_change_password
            or request.endpoint in ALLOWED_WHILE_MUST_CHANGE
        ):
            return None
        if request.path.startswith("/api/"):
            raise ApiError(403, _("account.must_change"), error="password_change_required")
        return redirect(url_for("account.password"))
