"""Accounts and devices: sign-in, tokens, revocation."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from server.accounts import security_audit, web_sessions
from server.accounts.auth import WIPE_REASONS, hash_password, hash_token, new_token
from server.accounts.models import Device, Role, User
from server.db_types import utcnow
from server.errors import ApiError
from server.extensions import db

# No 0/O, 1/I/L: receipt numbers are read aloud and copied by hand.
PREFIX_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def create_user(
    username: str, password: str, role: str, display_name: str | None = None, is_demo: bool = False
) -> User:
    """Create a user with a hashed password."""
    if role not in set(Role):
        raise ValueError(f"unknown role {role!r}")
    if db.session.scalar(db.select(User).where(User.username == username)) is not None:
        raise ValueError(f"user {username!r} exists")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=hash_password(password),
        is_demo=is_demo,
    )
    db.session.add(user)
    db.session.flush()
    return user


def _fresh_prefix() -> str:
    for _ in range(50):
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(4))
        if db.session.scalar(db.select(Device.id).where(Device.receipt_prefix == prefix)) is None:
            return prefix
    raise RuntimeError("could not find a free receipt prefix")


def sign_in_device(
    user: User, device_id: str, name: str, app_version: str | None
) -> tuple[Device, str]:
    """Issue a bearer token for an engineer's device; a device keeps its id and receipt prefix."""
    if user.role != Role.ENGINEER:
        raise ApiError(403, "Only engineers sign in on the field app.")
    now = utcnow()
    token = new_token()
    days = current_app.config["DEVICE_TOKEN_DAYS"]
    device = db.session.get(Device, device_id)
    if device is not None and device.user_id != user.id:
        raise ApiError(
            409,
            "This device is registered to another engineer; reset the app first.",
            {"device_id": ["Belongs to another user."]},
        )
    if device is None:
        device = Device(id=device_id, user_id=user.id, receipt_prefix=_fresh_prefix(), last_seq=0)
        db.session.add(device)
    device.name = name
    device.token_hash = hash_token(token)
    device.expires_at = now + timedelta(days=days)
    device.revoked_at = None
    device.revoked_reason = None
    device.last_seen_at = now
    device.app_version = app_version
    db.session.flush()
    return device, token


def revoke_device(device: Device, reason: str = "revoked", by: User | None = None) -> Device:
    """End a device's sign-in at once; "revoked" (a lost phone) makes the app wipe itself."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        device.revoked_reason = reason
        security_audit.record(
            "device.revoked", f"device:{device.id}", actor=by, reason=reason, user_id=device.user_id
        )
    elif reason in WIPE_REASONS and device.revoked_reason not in WIPE_REASONS:
        # A phone signed out earlier and then reported lost must still wipe itself.
        device.revoked_reason = reason
        security_audit.record(
            "device.revoked", f"device:{device.id}", actor=by, reason=reason, user_id=device.user_id
        )
    return device


def revoke_user_devices(user: User, reason: str, by: User | None = None) -> int:
    """End the sign-in of every device of the user; return how many were live."""
    live = [d for d in user.devices if d.revoked_at is None]
    for device in user.devices:
        revoke_device(device, reason, by)
    return len(live)


# The password rule, in one place.
MIN_PASSWORD = 10


def password_problem(password: str) -> str | None:
    """Return the catalogue key of what is wrong with a new password, or None."""
    if len(password) < MIN_PASSWORD:
        return "account.password.too_short"
    if len(password) > 200:
        return "account.password.too_long"
    return None


def change_password(user: User, new: str, keep_session: str | None = None) -> None:
    """The user's own change: other sessions and every device sign-in end."""
    user.password_hash = hash_password(new)
    user.must_change_password = False
    web_sessions.end_all(user, keep=keep_session)
    revoke_user_devices(user, "password", by=user)
    security_audit.record("password.changed", f"user:{user.username}", actor=user)


def reset_password(user: User, new: str, by: User) -> None:
    """An administrator's reset: the user must choose a new password at next sign-in."""
    user.password_hash = hash_password(new)
    user.must_change_password = True
    web_sessions.end_all(user)
    revoke_user_devices(user, "password", by=by)
    security_audit.record("password.reset", f"user:{user.username}", actor=by)


def deactivate(user: User, by: User) -> None:
    """Close an account: its sessions end and its devices are revoked (and wipe themselves)."""
    user.is_active = False
    web_sessions.end_all(user)
    revoke_user_devices(user, "deactivated", by=by)
    security_audit.record("user.deactivated", f"user:{user.username}", actor=by)


def reactivate(user: User, by: User) -> None:
    """Open a closed account again (its devices must sign in afresh)."""
    user.is_active = True
    security_audit.record("user.reactivated", f"user:{user.username}", actor=by)


def sign_out_everywhere(user: User, by: User) -> int:
    """End every browser session and device sign-in of the user."""
    ended = web_sessions.end_all(user)
    ended += revoke_user_devices(user, "signed_out", by=by)
    security_audit.record("user.signed_out_everywhere", f"user:{user.username}", actor=by)
    return ended


def lost_ops(device: Device) -> tuple[int, int] | None:
    """The sequence numbers a revoked phone held unsent when it was cut off, if any.

    Only a phone told to wipe itself loses them; one merely signed out sends them after the
    engineer signs in again.
    """
    if device.revoked_reason not in WIPE_REASONS or not device.outbox_high_seq:
        return None
    if device.outbox_high_seq <= device.last_seq:
        return None
    return device.last_seq + 1, device.outbox_high_seq


def outbox_report_values(report: dict | None, last_seq: int, at: datetime) -> dict[str, Any]:
    """The device columns that keep what the phone still holds unsent after its push.

    `report` is as the push carried it, `last_seq` the device's after the push: the phone
    reports its highest sequence number and the sequence numbers of its unsent payments as it
    sends; whatever the push settled is no longer unsent. No report changes nothing.
    """
    if report is None:
        return {}
    high = max(report["high_seq"], last_seq)
    return {
        "outbox_reported_at": at,
        "outbox_high_seq": high,
        "outbox_unsent_ops": high - last_seq,
        "outbox_unsent_payments": sum(1 for s in report["payment_seqs"] if s > last_seq),
    }
