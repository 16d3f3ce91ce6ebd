"""The first-time-fix rule (S19), at its edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.first_fix import (
    REPEAT_WINDOW,
    RepairVisit,
    Verdict,
    first_time_fixed,
    provisional_since,
    verdict,
)

AT = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
DONE = RepairVisit("completed", False, AT)


def test_first_time_fixed_rule():
    assert first_time_fixed("completed", False, 0, AT, [])
    assert not first_time_fixed("not_fixed", False, 0, AT, [])
    assert not first_time_fixed("completed", True, 0, AT, [])  # flagged for escalation
    assert not first_time_fixed("completed", False, 1, AT, [])  # needed a second visit
    assert not first_time_fixed("completed", False, 0, AT, [AT + timedelta(days=30)])
    assert first_time_fixed("completed", False, 0, AT, [AT + timedelta(days=30, seconds=1)])
    # A request received before the visit (or at its very moment) is not a repeat of it.
    assert first_time_fixed("completed", False, 0, AT, [AT, AT - timedelta(days=1)])


def test_no_verdict_until_the_first_repair_visit_is_over():
    assert verdict([], []) is None
    for status in ("scheduled", "en_route", "arrived", "in_progress"):
        assert verdict([RepairVisit(status, False, AT)], []) is None
    # Over, even if a later one is not: the second visit's existence already decides.
    later = RepairVisit("scheduled", False, AT + timedelta(days=2))
    assert verdict([DONE, later], []) == Verdict(AT, False)
    assert verdict([DONE], []) == Verdict(AT, True)
    assert verdict([RepairVisit("not_fixed", False, AT)], []) == Verdict(AT, False)


def test_a_repeat_counts_from_the_first_visit_not_from_the_request():
    assert verdict([DONE], [AT + timedelta(days=29)]) == Verdict(AT, False)
    assert verdict([DONE], [AT + REPEAT_WINDOW + timedelta(seconds=1)]) == Verdict(AT, True)


def test_a_verdict_is_provisional_for_thirty_days_after_the_first_visit():
    assert provisional_since(AT + REPEAT_WINDOW) == AT  # at exactly 30 days: settled
    assert provisional_since(AT + REPEAT_WINDOW - timedelta(seconds=1)) < AT
