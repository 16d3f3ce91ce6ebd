"""After the job: how soon the customer must be called back (S12)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from server.domain.timezone import require_aware

# The commitment says "after each job"; the office calls within a day of learning it is over.
CALLBACK_DUE_HOURS = 24


def callback_due(finished_at: datetime) -> datetime:
    """Return when the call back after a visit that finished at `finished_at` is due (S12)."""
    return require_aware(finished_at, "finished_at") + timedelta(hours=CALLBACK_DUE_HOURS)


def callback_state(
    finished_at: datetime, called_at: datetime | None, now: datetime
) -> Literal["pending", "on_time", "late"]:
    """Where a visit's call back stands: not yet due, made (or still makeable) in time, or late.

    The reports count these for every visit of a period, so the due time is worked out once.
    """
    due = callback_due(finished_at)
    if called_at is None:
        return "pending" if require_aware(now, "now") <= due else "late"
    return "on_time" if called_at <= due else "late"
