"""After the job: how soon the customer must be called back (S12)."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.domain.timezone import require_aware

# The commitment says "after each job"; the office calls within a day of learning it is over.
CALLBACK_DUE_HOURS = 24


def callback_due(finished_at: datetime) -> datetime:
    """Return when the call back after a visit that finished at `finished_at` is due (S12)."""
    return require_aware(finished_at, "finished_at") + timedelta(hours=CALLBACK_DUE_HOURS)


def callback_on_time(finished_at: datetime, called_at: datetime | None, now: datetime) -> bool:
    """Tell whether the call back was (or can still be) made by its due time."""
    due = callback_due(finished_at)
    return (called_at if called_at is not None else require_aware(now, "now")) <= due
