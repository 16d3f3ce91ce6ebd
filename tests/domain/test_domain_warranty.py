"""Warranty rules S1-S3: the shared vectors, plus properties and Python-only input checks."""

import json
import re
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.warranty import WarrantyStatus, add_months, warranty_status, what_it_means

VECTORS = json.loads(
    (Path(__file__).parents[2] / "spec" / "vectors" / "warranty.json").read_text("utf-8")
)


def _raises(error: dict):
    kind = {"type": TypeError, "value": ValueError}[error["type"]]
    return pytest.raises(kind, match=re.escape(error["field"]))


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _status_json(status: WarrantyStatus) -> dict:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(status).items()}


def test_vector_file_has_only_the_groups_run_here():
    assert {k for k, v in VECTORS.items() if isinstance(v, list)} == {
        "warranty_status",
        "what_it_means",
    }


@pytest.mark.parametrize("case", VECTORS["warranty_status"], ids=lambda c: c["name"])
def test_warranty_status_vector(case):
    args = (_day(case["acceptance_date"]), case["warranty_months"], _day(case["on"]))
    if "error" in case:
        with _raises(case["error"]):
            warranty_status(*args)
    else:
        assert _status_json(warranty_status(*args)) == case["expect"]


@pytest.mark.parametrize("case", VECTORS["what_it_means"], ids=lambda c: c["name"])
def test_what_it_means_vector(case):
    s = case["status"]
    status = WarrantyStatus(
        s["in_warranty"], _day(s["starts"]), _day(s["ends"]), s["days_left"], s["reason"]
    )
    meaning = what_it_means(status)
    assert {
        "summary": meaning.summary,
        "free": list(meaning.free),
        "charged": list(meaning.charged),
    } == case["expect"]


@pytest.mark.parametrize("field", ["acceptance_date", "on"])
def test_datetime_is_not_accepted_as_a_day(field):
    # A datetime would silently pick a calendar day in whatever zone it happens to carry.
    args = {"acceptance_date": date(2024, 1, 1), "warranty_months": 12, "on": date(2024, 6, 1)}
    args[field] = datetime(2024, 1, 1, 12, 0)
    with pytest.raises(TypeError, match=field):
        warranty_status(**args)


def test_string_day_is_rejected():
    with pytest.raises(TypeError, match="on"):
        warranty_status(date(2024, 1, 1), 12, "2024-06-01")


days = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))


@given(days, st.integers(min_value=0, max_value=240))
def test_add_months_lands_in_the_right_month_and_clamps(day, months):
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    if day.day <= 28:
        assert result.day == day.day
    else:
        # Clamped: either the same day, or the last day of a shorter month.
        assert result.day == day.day or (result + timedelta(days=1)).day == 1


@given(days, st.integers(min_value=1, max_value=240))
def test_coverage_is_exactly_from_start_to_end(acceptance, months):
    status = warranty_status(acceptance, months, acceptance)
    assert status.in_warranty
    assert warranty_status(acceptance, months, status.ends).in_warranty
    assert warranty_status(acceptance, months, status.ends).days_left == 1
    assert not warranty_status(acceptance, months, status.ends + timedelta(days=1)).in_warranty
    assert warranty_status(acceptance, months, acceptance - timedelta(days=1)).reason == (
        "not_started"
    )


@given(days, st.integers(min_value=1, max_value=120), st.integers(min_value=-400, max_value=4000))
def test_days_left_counts_down_to_the_last_covered_day(acceptance, months, offset):
    on = acceptance + timedelta(days=offset)
    status = warranty_status(acceptance, months, on)
    if status.in_warranty:
        assert on + timedelta(days=status.days_left - 1) == status.ends
    elif status.reason == "expired":
        assert status.days_left == 0 and on > status.ends
    else:
        assert status.reason == "not_started" and on < status.starts
