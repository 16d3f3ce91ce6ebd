"""The company's calendar day: Shanghai time, whatever the server's or the phone's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

COMPANY_TZ = ZoneInfo("Asia/Shanghai")


def require_aware(value: object, field: str) -> datetime:
    """Return value as a UTC datetime; raise if it is not a timezone-aware datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"{field} must be a datetime, got {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware")
    return value.astimezone(UTC)


def business_day(dt_utc: datetime) -> date:
    """Return the Shanghai calendar day that the instant `dt_utc` falls on."""
    return require_aware(dt_utc, "dt_utc").astimezone(COMPANY_TZ).date()


def day_bounds_utc(day: date) -> tuple[datetime, datetime]:
    """Return the UTC instants [start, end) of the Shanghai calendar day `day`."""
    if not isinstance(day, date) or isinstance(day, datetime):
        raise TypeError("day must be a date")
    start = datetime.combine(day, time(0), tzinfo=COMPANY_TZ)
    # The next local midnight, not 24 elapsed hours on: a day with a clock change is not 24 h long.
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=COMPANY_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)
