"""Who is asking: browser sessions for office staff, bearer tokens for engineers' devices."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, g, request, session
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from .errors import ApiError
from .extensions import csrf, db
from .models import Device, Role, User
from .models.types import utcnow

F = TypeVar("F", bound=Callable[..., Any])

# Endpoints that authenticate by credentials in the body and use no cookie: nothing to forge.
CSRF_EXEMPT_ENDPOINTS = {"api_accounts.device_login"}

OFFICE_ROLES = (Role.OFFICE, Role.SUPERVISOR, Role.ADMIN)
FINANCE_ROLES = (Role.FINANCE, Role.ADMIN)
# Who may reopen a reconciled day: above the clerks who lock them.
FINANCE_SUPERVISOR_ROLES = (Role.ADMIN,)


def hash_password(password: str) -> str:
    """Hash a password for storage (scrypt via werkzeug unless the config says otherwise)."""
    from flask import current_app

    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


def check_password(user: User, password: str) -> bool:
    """Tell whether the password is the user's."""
    return check_password_hash(user.password_hash, password)


def hash_token(token: str) -> str:
    """Hash a device token; tokens are 256 random bits, so a plain SHA-256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """Make a fresh device token."""
    return secrets.token_urlsafe(32)


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None or not user.is_active or not check_password(user, password):
        return None
    return user


def _load_principal() -> None:
    g.user = None
    g.device = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header[len("Bearer ") :].strip()
        # One statement for device and user: every sync request (an idle pull above all) pays it.
        device = db.session.scalar(
            db.select(Device)
            .options(joinedload(Device.user))
            .where(Device.token_hash == hash_token(token))
        )
        now = utcnow()
        if device is None or device.revoked_at is not None or device.expires_at <= now:
            raise ApiError(401, "This device's sign-in is no longer valid; sign in again.")
        if not device.user.is_active:
            raise ApiError(401, "This account is disabled.")
        g.device = device
        g.user = device.user
        g.auth_kind = "token"
        return
    user_id = session.get("user_id")
    if user_id is not None:
        user = db.session.get(User, user_id)
        if user is not None and user.is_active and session.get("pw") == user.password_hash[-12:]:
            g.user = user
            g.auth_kind = "session"
        else:
            session.clear()


def current_user() -> User | None:
    """Return the signed-in user of this request, if any."""
    return g.get("user")


def login_session(user: User) -> None:
    """Start a browser session for the user, keeping the language chosen before signing in."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    session["user_id"] = user.id
    # Changing the password ends the other sessions.
    session["pw"] = user.password_hash[-12:]
    session.permanent = True


def require_roles(*roles: str) -> Callable[[F], F]:
    """Refuse the view unless the caller is signed in with one of the roles."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                raise ApiError(401, "Sign in first.")
            if user.role not in roles:
                raise ApiError(403, "Your role may not do this.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def require_device(view: F) -> F:
    """Refuse the view unless the caller is an engineer's signed-in device."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("device") is None:
            raise ApiError(401, "This needs a device sign-in (bearer token).")
        if g.user.role != Role.ENGINEER:
            raise ApiError(403, "Only engineers' devices may sync.")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def init_app(app: Flask) -> None:
    """Load the principal for every request and check CSRF for cookie-authenticated writes."""
    # CSRF is checked below, only for cookie-authenticated writes.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False

    @app.before_request
    def _before() -> None:
        _load_principal()
        # Bearer-token requests carry no cookie, so they cannot be forged cross-site.
        if (
            request.method not in ("GET", "HEAD", "OPTIONS")
            and g.get("auth_kind") != "token"
            and request.endpoint not in CSRF_EXEMPT_ENDPOINTS
            and app.config.get("WTF_CSRF_ENABLED", True)
        ):
            csrf.protect()
