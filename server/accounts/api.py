"""Device sign-in for the engineers' app, and device management."""

from flask_smorest import Blueprint

from server.accounts.auth import OFFICE_ROLES, current_user, require_roles, sign_in
from server.accounts.models import Device, Role, User
from server.accounts.operations import revoke_device, sign_in_device
from server.accounts.schemas import (
    CsrfTokenSchema,
    DeviceLoginResultSchema,
    DeviceLoginSchema,
    DeviceSchema,
    UserSchema,
)
from server.db_types import utcnow
from server.errors import ApiError
from server.extensions import db

blp = Blueprint("api_accounts", __name__, url_prefix="/api", description="Accounts and devices")


@blp.route("/auth/device", methods=["POST"])
@blp.arguments(DeviceLoginSchema)
@blp.response(201, DeviceLoginResultSchema)
def device_login(data):
    """Sign an engineer's device in and issue its bearer token (shown once)."""
    user = sign_in(data["username"], data["password"], roles=(Role.ENGINEER,))
    if user.must_change_password:
        raise ApiError(
            403,
            "Choose a new password first: sign in at /login.",
            error="password_change_required",
        )
    device, token = sign_in_device(
        user, str(data["device_id"]), data["device_name"], data.get("app_version")
    )
    db.session.commit()
    return {"token": token, "device": device, "user": user, "server_time": utcnow()}


@blp.route("/me", methods=["GET"])
@blp.response(200, UserSchema)
def me():
    """Return the signed-in user."""
    user = current_user()
    if user is None:
        raise ApiError(401, "Sign in first.")
    return user


@blp.route("/devices", methods=["GET"])
@blp.response(200, DeviceSchema(many=True))
def list_devices():
    """List devices: an engineer sees their own, office staff see everyone's."""
    user = current_user()
    if user is None:
        raise ApiError(401, "Sign in first.")
    query = db.select(Device).order_by(Device.created_at)
    if user.role not in OFFICE_ROLES:
        query = query.where(Device.user_id == user.id)
    return db.session.scalars(query).all()


@blp.route("/devices/<string:device_id>/revoke", methods=["POST"])
@blp.response(200, DeviceSchema)
def revoke(device_id: str):
    """Revoke a device's token: its own engineer or office staff may."""
    user = current_user()
    if user is None:
        raise ApiError(401, "Sign in first.")
    device = db.session.get(Device, device_id)
    if device is None or (user.role not in OFFICE_ROLES and device.user_id != user.id):
        raise ApiError(404, "No such device.")
    # Office staff revoke a lost phone (it wipes itself); an engineer signs their own out.
    revoke_device(device, "revoked" if user.role in OFFICE_ROLES else "signed_out", by=user)
    db.session.commit()
    return device


@blp.route("/engineers", methods=["GET"])
@blp.response(200, UserSchema(many=True))
@require_roles(*OFFICE_ROLES, Role.FINANCE)
def engineers():
    """List active engineers, for dispatch."""
    return db.session.scalars(
        db.select(User).where(User.role == Role.ENGINEER, User.is_active).order_by(User.username)
    ).all()


@blp.route("/csrf-token", methods=["GET"])
@blp.response(200, CsrfTokenSchema)
def csrf_token():
    """Return a CSRF token for a browser session's JSON writes (send it as X-CSRFToken)."""
    from flask_wtf.csrf import generate_csrf

    return {"csrf_token": generate_csrf()}
