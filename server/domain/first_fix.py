"""First-time fix (S19): was a request's problem fixed by its first repair visit?

Stated plainly: a request with a finished first repair visit (cancelled visits do not count)
was fixed first time when that visit ended ``completed`` (not ``not_fixed``, not flagged for
escalation), the request needed no second repair visit, and no other request for the same
equipment arrived within 30 days after that first visit. Requests without a named equipment
can only fail by the first two tests. Until its 30 days are over a verdict is provisional: it
is what is known today, and a repeat request may still turn it.

The verdict is decided here only; `register/first_fix_store.py` keeps it stored for the
reports, which count it and never decide it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.completeness import is_finished

REPEAT_WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class RepairVisit:
    """What the rule reads of one repair visit of a request."""

    status: str
    escalate: bool
    # The visit's time: its arrival, else its booked window, else when it was made.
    at: datetime


@dataclass(frozen=True, slots=True)
class Verdict:
    first_at: datetime  # the first repair visit's time; the 30 days run from it
    fixed: bool


def first_time_fixed(
    first_visit_status: str,
    first_visit_escalated: bool,
    later_repair_visits: int,
    first_visit_at: datetime,
    later_requests_at: Iterable[datetime],
) -> bool:
    """Decide S19 for one request whose first repair visit is over (see the module docstring)."""
    if first_visit_status != "completed" or first_visit_escalated:
        return False
    if later_repair_visits:
        return False
    return not any(
        first_visit_at < at <= first_visit_at + REPEAT_WINDOW for at in later_requests_at
    )


def verdict(
    repairs: Sequence[RepairVisit], other_requests_at: Iterable[datetime]
) -> Verdict | None:
    """Return the request's verdict, or None while it has none (no finished first repair).

    `repairs` are the request's repair visits that were not cancelled, in visit order;
    `other_requests_at` when the other requests for the same equipment were received (periodic
    return visits left out: the company books those itself).
    """
    if not repairs or not is_finished(repairs[0].status):
        return None
    first = repairs[0]
    fixed = first_time_fixed(
        first.status, first.escalate, len(repairs) - 1, first.at, other_requests_at
    )
    return Verdict(first.at, fixed)


def provisional_since(now: datetime) -> datetime:
    """Verdicts whose first visit was after this moment are still provisional at `now`."""
    return now - REPEAT_WINDOW
