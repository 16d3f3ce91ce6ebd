"""Who is asking: browser sessions for office staff, bearer tokens for engineers' devices."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, g, request, session
from sqlalchemy import bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from server.accounts.models import Device, Role, User
from server.accounts.security_audit import client_address
from server.db_types import utcnow
from server.errors import ApiError
from server.extensions import csrf, db
from server.feed.models import ServerState, SyncCounter
from server.i18n import translate

F = TypeVar("F", bound=Callable[..., Any])

# Endpoints that authenticate by credentials in the body and use no cookie: nothing to forge.
CSRF_EXEMPT_ENDPOINTS = {"api_accounts.device_login"}

OFFICE_ROLES = (Role.OFFICE, Role.SUPERVISOR, Role.ADMIN)
FINANCE_ROLES = (Role.FINANCE, Role.ADMIN)
# Who may reopen a reconciled day: above the clerks who lock them.
FINANCE_SUPERVISOR_ROLES = (Role.ADMIN,)
# Who manages accounts and devices.
ACCOUNT_ROLES = (Role.SUPERVISOR, Role.ADMIN)
# Revocations after which the app wipes what it holds (a lost phone, a leaver).
WIPE_REASONS = ("revoked", "deactivated")


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


_dummy_hashes: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash of no one's password, checked for unknown users so that both paths cost the same."""
    from flask import current_app

    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return _dummy_hashes[method]


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None (at the same cost either way)."""
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password(user, password) or not user.is_active:
        return None
    return user


def sign_in(username: str, password: str, roles: tuple[str, ...] | None = None) -> User:
    """Check credentials under the throttle: the user, or ApiError 429 (locked) / 401.

    A wrong role answers exactly as a wrong password does, so the answer tells nothing of
    which accounts exist or what they may do.
    """
    from server.accounts import throttle

    address = client_address()
    locked = throttle.check(username, address)
    if locked is None:
        user = authenticate(username, password)
        if user is not None and (roles is None or user.role in roles):
            throttle.record_success(username)
            return user
        locked = throttle.record_failure(username, address)
        if locked is None:
            raise ApiError(401, translate("login.failed"), error="unauthenticated")
    now = utcnow()
    wait = locked.retry_after(now)
    raise ApiError(
        429,
        translate("login.locked", minutes=max(1, -(-wait // 60))),
        error="sign_in_locked",
        extra={"retry_after": wait},
        headers={"Retry-After": str(wait)},
    )


@dataclass(frozen=True, slots=True)
class DeviceSignIn:
    """An engineer's device signed in by its bearer token, as checked for this request.

    With it come the server's epoch and the feed head as they were at the check: a pull at the
    head is then answered from this one statement (R27b).
    """

    device_id: str
    user_id: int
    role: str
    locale: str | None
    epoch: str
    feed_head: int


# What the bearer check reads, in one statement built once: every sync request (an idle pull
# above all) pays for it, so it builds no ORM objects; current_user() loads the user if asked.
_SIGNED_DEVICE = (
    select(
        Device.id,
        Device.user_id,
        Device.expires_at,
        Device.revoked_at,
        Device.revoked_reason,
        User.role,
        User.is_active,
        User.locale,
        select(ServerState.value)
        .where(ServerState.key == "epoch")
        .scalar_subquery()
        .label("epoch"),
        select(SyncCounter.value).where(SyncCounter.id == 1).scalar_subquery().label("head"),
    )
    .join(User, User.id == Device.user_id)
    .where(Device.token_hash == bindparam("token_hash"))
)


# Endpoints whose statements need no transaction around them: each reads (or writes) on its
# own, as a pull does. They run in autocommit, which spares the database a BEGIN and a COMMIT
# round trip in the request every phone makes every 30 s. An endpoint whose writes must
# commit together must not be here.
NO_TRANSACTION_ENDPOINTS: set[str] = set()
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


def _load_principal() -> None:
    g.user = None
    g.device_sign_in = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header[len("Bearer ") :].strip()
        # The request's first statement: it sets how the session's connection runs (a session
        # already in a transaction, as tests sharing one with their requests may leave it, is
        # used as it is).
        autocommit = (
            request.endpoint in NO_TRANSACTION_ENDPOINTS and not db.session().in_transaction()
        )
        row = (
            db.session.connection(execution_options=_AUTOCOMMIT if autocommit else None)
            .execute(_SIGNED_DEVICE, {"token_hash": hash_token(token)})
            .one_or_none()
        )
        now = utcnow()
        if row is not None and row.revoked_at is not None:
            wipe = row.revoked_reason in WIPE_REASONS
            raise ApiError(
                401,
                "This device was revoked; it must not keep the company's data."
                if wipe
                else "This device's sign-in has ended; sign in again.",
                error="device_revoked" if wipe else "device_signed_out",
            )
        if row is None or row.expires_at <= now:
            raise ApiError(401, "This device's sign-in is no longer valid; sign in again.")
        if not row.is_active:
            raise ApiError(401, "This device was revoked.", error="device_revoked")
        g.device_sign_in = DeviceSignIn(
            row.id, row.user_id, row.role, row.locale, row.epoch or "none", row.head or 0
        )
        g.auth_kind = "token"
        return
    token = session.get("sid")
    if token is not None:
        from server.accounts import web_sessions

        row = web_sessions.resolve(token) if isinstance(token, str) else None
        if row is not None:
            g.user = row.user
            g.auth_kind = "session"
        else:
            _forget_session()
    # An older cookie format (user id and a piece of the hash) means nothing any more.
    session.pop("user_id", None)
    session.pop("pw", None)


def _forget_session() -> None:
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def current_user() -> User | None:
    """Return the signed-in user of this request, if any (a device's is loaded when first asked)."""
    user = g.get("user")
    signed = g.get("device_sign_in")
    if user is None and signed is not None:
        user = g.user = db.session.get(User, signed.user_id)
    return user


def current_device() -> DeviceSignIn | None:
    """Return the device signed in for this request by its bearer token, if any."""
    return g.get("device_sign_in")


def login_session(user: User) -> None:
    """Start a browser session for the user, keeping the language chosen before signing in.

    The cookie holds only a random token; the session itself is a row on the server.
    """
    from server.accounts import web_sessions

    old = session.get("sid")
    if isinstance(old, str):
        web_sessions.end(old)
    _forget_session()
    session["sid"] = web_sessions.start(user)
    session.permanent = True
    db.session.commit()


def logout_session() -> None:
    """End this browser's session on the server and forget the cookie."""
    from server.accounts import web_sessions

    token = session.get("sid")
    if isinstance(token, str):
        web_sessions.end(token)
        db.session.commit()
    _forget_session()


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
        signed = g.get("device_sign_in")
        if signed is None:
            raise ApiError(401, "This needs a device sign-in (bearer token).")
        if signed.role != Role.ENGINEER:
            raise ApiError(403, "Only engineers' devices may sync.")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def init_app(app: Flask) -> None:
    """Load the principal for every request and check CSRF for cookie-authenticated writes."""
    # CSRF is checked below, only for cookie-authenticated writes.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    from server.accounts.web_sessions import ABSOLUTE

    # The cookie lives no longer than the session it names.
    app.config["PERMANENT_SESSION_LIFETIME"] = ABSOLUTE

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
