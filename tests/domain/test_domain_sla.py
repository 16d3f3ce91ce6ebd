"""SLA clocks S5a/S5b/S5c and the company day: the shared vectors, plus clock-sensitive cases."""

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from server.domain.sla import (
    ClockReading,
    clock_state,
    onsite_arrival_due,
    phone_response_due,
    remote_login_allowed,
    remote_login_due,
    visit_arrival_due,
)
from server.domain.timezone import COMPANY_TZ, business_day, day_bounds_utc

VECTORS = json.loads(
    (Path(__file__).parents[2] / "spec" / "vectors" / "sla.json").read_text("utf-8")
)
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def _raises(error: dict):
    kind = {"type": TypeError, "value": ValueError}[error["type"]]
    return pytest.raises(kind, match=re.escape(error["field"]))


def _instant(text: str | None) -> datetime | None:
    # A string without an offset parses to a naive datetime, which the rules must reject.
    return None if text is None else datetime.fromisoformat(text)


def test_vector_file_has_only_the_groups_run_here():
    assert {k for k, v in VECTORS.items() if isinstance(v, list)} == {"due_times", "clock_state"}


@pytest.mark.parametrize("case", VECTORS["due_times"], ids=lambda c: c["name"])
def test_due_times_vector(case):
    received = _instant(case["received_at"])
    consent = _instant(case["remote_consent_at"])
    if "error" in case:
        with _raises(case["error"]):
            phone_response_due(received)
            onsite_arrival_due(received, case["needs_visit"])
            remote_login_due(consent)
        return
    expect = {k: _instant(v) for k, v in case["expect"].items()}
    assert phone_response_due(received) == expect["phone_response_due"]
    assert onsite_arrival_due(received, case["needs_visit"]) == expect["onsite_arrival_due"]
    assert remote_login_due(consent) == expect["remote_login_due"]
    assert remote_login_allowed(consent) is (consent is not None)


@pytest.mark.parametrize("case", VECTORS["clock_state"], ids=lambda c: c["name"])
def test_clock_state_vector(case):
    args = (_instant(case["due"]), _instant(case["done_at"]), _instant(case["now"]))
    kwargs = {"window_minutes": case["window_minutes"]}
    if "at_risk_fraction" in case:
        kwargs["at_risk_fraction"] = case["at_risk_fraction"]
    if "error" in case:
        with _raises(case["error"]):
            clock_state(*args, **kwargs)
    else:
        assert clock_state(*args, **kwargs) == ClockReading(**case["expect"])


def test_due_times_are_returned_in_utc():
    received = datetime(2026, 11, 28, 23, 30, tzinfo=SHANGHAI)
    assert phone_response_due(received).tzinfo is UTC
    assert onsite_arrival_due(received, True).tzinfo is UTC
    assert remote_login_due(received).tzinfo is UTC


def test_request_at_2330_shanghai_is_due_0030_the_next_shanghai_day():
    received = datetime(2026, 11, 28, 23, 30, tzinfo=SHANGHAI)
    due = phone_response_due(received)
    assert due.astimezone(SHANGHAI).replace(tzinfo=None) == datetime(2026, 11, 29, 0, 30)
    assert business_day(received) == date(2026, 11, 28)
    assert business_day(due) == date(2026, 11, 29)


def test_elapsed_hour_across_a_fall_back_is_a_real_hour():
    # 01:30 EDT on the night clocks go back; adding an hour to the local wall clock would give
    # 02:30 EST, two real hours later.
    received = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)
    assert received.utcoffset() == timedelta(hours=-4)
    assert phone_response_due(received) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "call",
    [
        lambda naive: phone_response_due(naive),
        lambda naive: onsite_arrival_due(naive, True),
        lambda naive: remote_login_due(naive),
        lambda naive: business_day(naive),
        lambda naive: clock_state(None, None, naive, window_minutes=60),
    ],
    ids=["phone", "onsite", "remote", "business_day", "clock_state"],
)
def test_naive_datetimes_are_rejected(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2026, 11, 28, 12, 0))


def test_a_date_is_not_an_instant():
    with pytest.raises(TypeError, match="received_at"):
        phone_response_due(date(2026, 11, 28))


@freeze_time("2026-11-27T16:30:00Z")
def test_business_day_is_already_tomorrow_in_shanghai_at_1630_utc():
    now = datetime.now(UTC)
    assert now.date() == date(2026, 11, 27)
    assert business_day(now) == date(2026, 11, 28)
    assert now.astimezone(COMPANY_TZ).hour == 0


@freeze_time("2026-11-27T16:00:00Z")
def test_clock_running_over_shanghai_midnight():
    # Received 23:30 Shanghai; it is now exactly midnight Shanghai, 30 minutes before due.
    now = datetime.now(UTC)
    received = datetime(2026, 11, 27, 23, 30, tzinfo=SHANGHAI)
    reading = clock_state(phone_response_due(received), None, now, window_minutes=60)
    assert reading == ClockReading("running", minutes_remaining=30)
    assert business_day(now) == date(2026, 11, 28)
    assert business_day(received) == date(2026, 11, 27)


@freeze_time("2026-11-27T15:59:59.999999Z")
def test_last_microsecond_before_shanghai_midnight_is_still_the_old_day():
    assert business_day(datetime.now(UTC)) == date(2026, 11, 27)


def test_day_bounds_are_shanghai_midnights_in_utc():
    start, end = day_bounds_utc(date(2026, 11, 28))
    assert start == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
    assert business_day(start) == date(2026, 11, 28)
    assert business_day(end - timedelta(microseconds=1)) == date(2026, 11, 28)
    assert business_day(end) == date(2026, 11, 29)


def test_day_bounds_keep_the_true_length_of_a_daylight_saving_day():
    # China used daylight saving 1986-1991; 4 May 1986 had 23 hours.
    start, end = day_bounds_utc(date(1986, 5, 4))
    assert start == datetime(1986, 5, 3, 16, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=23)


def test_day_bounds_take_a_date_not_a_datetime():
    with pytest.raises(TypeError, match="day"):
        day_bounds_utc(datetime(2026, 11, 28, tzinfo=UTC))


RECEIVED = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("window_start", "window_end", "first_visit", "due"),
    [
        # The first visit must meet S5b's 2 hours even with a later appointment...
        (None, RECEIVED + timedelta(hours=5), True, RECEIVED + timedelta(hours=2)),
        # ...and the appointment when it is sooner.
        (None, RECEIVED + timedelta(hours=1), True, RECEIVED + timedelta(hours=1)),
        # A return visit answers only to its appointment: its end, or its start with no end.
        (RECEIVED, RECEIVED + timedelta(hours=5), False, RECEIVED + timedelta(hours=5)),
        (RECEIVED + timedelta(hours=3), None, False, RECEIVED + timedelta(hours=3)),
        (None, None, False, None),
        (None, None, True, RECEIVED + timedelta(hours=2)),
    ],
)
def test_s16_a_visit_is_late_after_the_sooner_of_its_appointment_and_s5b(
    window_start, window_end, first_visit, due
):
    assert visit_arrival_due(window_start, window_end, RECEIVED, True, first_visit) == due


def test_s16_a_request_needing_no_visit_has_only_its_appointment():
    assert visit_arrival_due(None, None, RECEIVED, False, True) is None
