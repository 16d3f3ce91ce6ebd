"""A register entry with its three response clocks (S5a, S5b, S5c) read at a moment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.db_types import utcnow
from server.domain import sla
from server.register.models import ServiceRequest


def _reading(due: datetime | None, done: datetime | None, now: datetime, window: int) -> dict:
    reading = sla.clock_state(due, done, now, window_minutes=window)
    minutes = reading.minutes_remaining
    if reading.minutes_overdue is not None:
        minutes = -reading.minutes_overdue
    return {"due": due, "done_at": done, "state": reading.state, "minutes": minutes}


def request_clocks(request: ServiceRequest, now: datetime | None = None) -> dict[str, Any]:
    """Read the phone, on-site and remote-login clocks of a request."""
    now = now or utcnow()
    return {
        "phone": _reading(
            sla.phone_response_due(request.received_at),
            request.phone_response_at,
            now,
            sla.PHONE_RESPONSE_MINUTES,
        ),
        "onsite": _reading(
            sla.onsite_arrival_due(request.received_at, request.needs_visit),
            request.first_arrival_at,
            now,
            sla.ONSITE_ARRIVAL_MINUTES,
        ),
        "remote": _reading(
            sla.remote_login_due(request.remote_consent_at),
            request.remote_login_at,
            now,
            sla.REMOTE_LOGIN_MINUTES,
        ),
    }


def with_sla(request: ServiceRequest, now: datetime | None = None) -> ServiceRequest:
    """Attach the clocks to the request for serialisation."""
    request.sla = request_clocks(request, now)
    return request
