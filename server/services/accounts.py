"""Accounts and devices: sign-in, tokens, revocation."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app

from ..auth import hash_password, hash_token, new_token
from ..errors import ApiError
from ..extensions import db
from ..models import Device, Role, User
from ..models.types import utcnow

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
    device.last_seen_at = now
    device.app_version = app_version
    db.session.flush()
    return device, token


def revoke_device(device: Device) -> Device:
    """End a device's sign-in at once."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
    return device


def record_outbox_report(device: Device, report: dict | None, at: datetime) -> None:
    """Keep what the phone still holds unsent after its push (`report` as the push carried it).

    The phone reports its highest sequence number and the sequence numbers of its unsent
    payments as it sends; whatever the push settled is no longer unsent.
    """
    if report is None:
        return
    high = max(report["high_seq"], device.last_seq)
    device.outbox_reported_at = at
    device.outbox_high_seq = high
    device.outbox_unsent_ops = high - device.last_seq
    device.outbox_unsent_payments = sum(1 for s in report["payment_seqs"] if s > device.last_seq)
