"""Response-time clocks of the service commitment (S5a, S5b, S5c).

The hotline runs 24 hours, so every clock counts elapsed time, not business hours. All
arithmetic is done in UTC: adding an hour to a local wall-clock time is wrong across a clock
change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.timezone import require_aware

PHONE_RESPONSE_MINUTES = 60  # S5a
ONSITE_ARRIVAL_MINUTES = 120  # S5b
REMOTE_LOGIN_MINUTES = 30  # S5c

MET = "met"
MISSED = "missed"
AT_RISK = "at_risk"
RUNNING = "running"
NOT_APPLICABLE = "not_applicable"

_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class ClockReading:
    """The state of one SLA clock at a moment.

    `minutes_remaining` is set for met, running and at_risk (whole minutes, rounded down);
    `minutes_overdue` for missed (whole minutes, rounded up, so one second late reads 1).
    """

    state: str
    minutes_remaining: int | None = None
    minutes_overdue: int | None = None


def phone_response_due(received_at: datetime) -> datetime:
    """Return when the phone response to a request received at `received_at` is due (S5a)."""
    return require_aware(received_at, "received_at") + timedelta(minutes=PHONE_RESPONSE_MINUTES)


def onsite_arrival_due(received_at: datetime, needs_visit: bool) -> datetime | None:
    """Return when the technician must be on site, or None if the request needs no visit (S5b)."""
    start = require_aware(received_at, "received_at")
    if not isinstance(needs_visit, bool):
        raise TypeError("needs_visit must be a bool")
    return start + timedelta(minutes=ONSITE_ARRIVAL_MINUTES) if needs_visit else None


def visit_arrival_due(
    window_start: datetime | None,
    window_end: datetime | None,
    received_at: datetime,
    needs_visit: bool,
    first_visit: bool,
) -> datetime | None:
    """Return when arriving at a visit becomes late (S16), or None if nothing was promised.

    The appointment is the window's end (with no end, its start); the first visit of a request
    must also meet the 2-hour commitment (S5b). Whichever comes first is the one to keep. The sync
    server asks for the reason of a late arrival and the office review flags one without it, both
    from this function.
    """
    dues = [window_end or window_start]
    if first_visit:
        dues.append(onsite_arrival_due(received_at, needs_visit))
    dues = [require_aware(d, "due") for d in dues if d is not None]
    return min(dues) if dues else None


def remote_login_due(remote_consent_at: datetime | None) -> datetime | None:
    """Return when remote login is due, counted from the customer's consent (S5c).

    `remote_consent_at` is when the customer agreed, after phone guidance could not fix the
    fault. Without consent there is no clock, and remote login is not allowed.
    """
    if remote_consent_at is None:
        return None
    start = require_aware(remote_consent_at, "remote_consent_at")
    return start + timedelta(minutes=REMOTE_LOGIN_MINUTES)


def remote_login_allowed(remote_consent_at: datetime | None) -> bool:
    """Return whether remote login may happen: only with the customer's consent (S5c)."""
    return remote_consent_at is not None


def clock_state(
    due: datetime | None,
    done_at: datetime | None,
    now: datetime,
    *,
    window_minutes: int,
    at_risk_fraction: float = 0.25,
) -> ClockReading:
    """Return the state of a clock due at `due`, done at `done_at` (None if not yet), at `now`.

    A clock is met when done at or before `due`. An open clock is at risk once no more than
    `at_risk_fraction` of its `window_minutes` is left, and missed once `due` has passed.
    """
    now_utc = require_aware(now, "now")
    if not isinstance(window_minutes, int) or isinstance(window_minutes, bool):
        raise TypeError("window_minutes must be an int")
    if window_minutes <= 0:
        raise ValueError("window_minutes must be positive")
    if not isinstance(at_risk_fraction, int | float) or isinstance(at_risk_fraction, bool):
        raise TypeError("at_risk_fraction must be a number")
    if not 0 <= at_risk_fraction <= 1:
        raise ValueError("at_risk_fraction must be between 0 and 1")
    if due is None:
        return ClockReading(NOT_APPLICABLE)
    due_utc = require_aware(due, "due")

    if done_at is not None:
        done_utc = require_aware(done_at, "done_at")
        if done_utc <= due_utc:
            return ClockReading(MET, minutes_remaining=(due_utc - done_utc) // _MINUTE)
        return ClockReading(MISSED, minutes_overdue=_ceil_minutes(done_utc - due_utc))

    left = due_utc - now_utc
    if left < timedelta(0):
        return ClockReading(MISSED, minutes_overdue=_ceil_minutes(-left))
    # Whole milliseconds rounded down, so the threshold is exactly the phone's JavaScript one.
    threshold = timedelta(milliseconds=math.floor(window_minutes * 60_000 * at_risk_fraction))
    state = AT_RISK if left <= threshold else RUNNING
    return ClockReading(state, minutes_remaining=left // _MINUTE)


def _ceil_minutes(span: timedelta) -> int:
    return -(-span // _MINUTE)
