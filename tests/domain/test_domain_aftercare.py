"""S12: the call back after a job, due a day after the visit finished."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.domain.aftercare import CALLBACK_DUE_HOURS, callback_due, callback_state

FINISHED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DUE = FINISHED + timedelta(hours=CALLBACK_DUE_HOURS)
SECOND = timedelta(seconds=1)


def test_the_call_back_is_due_a_day_after_the_visit_finished():
    assert callback_due(FINISHED) == DUE


@pytest.mark.parametrize(
    ("called_at", "now", "state"),
    [
        (None, FINISHED, "pending"),
        (None, DUE, "pending"),  # the last moment is still in time
        (None, DUE + SECOND, "late"),
        (FINISHED + SECOND, DUE + timedelta(days=3), "on_time"),
        (DUE, DUE + timedelta(days=3), "on_time"),
        (DUE + SECOND, DUE + timedelta(days=3), "late"),
        (DUE + SECOND, DUE, "late"),  # a call stamped after now still counts as made late
    ],
)
def test_a_call_back_is_pending_until_due_then_on_time_or_late_by_when_it_was_made(
    called_at, now, state
):
    assert callback_state(FINISHED, called_at, now) == state


def test_a_time_without_its_zone_is_refused():
    with pytest.raises(ValueError, match="finished_at must be timezone-aware"):
        callback_state(FINISHED.replace(tzinfo=None), None, DUE)
