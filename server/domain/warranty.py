"""Warranty period and what it means for the customer (S1, S2, S3)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

IN_WARRANTY = "in_warranty"
EXPIRED = "expired"
NOT_STARTED = "not_started"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class WarrantyStatus:
    """Whether an item is covered on a given day, and why."""

    in_warranty: bool
    starts: date | None
    # The last covered day, inclusive.
    ends: date | None
    # Covered days from the day asked about onwards, counting that day; None when unknown.
    days_left: int | None
    reason: str


@dataclass(frozen=True)
class WarrantyMeaning:
    """Message keys for the customer: a summary, what is free and what is charged."""

    summary: str
    free: tuple[str, ...]
    charged: tuple[str, ...]


def add_months(day: date, months: int) -> date:
    """Return day plus whole calendar months, clamped to the end of the target month."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def _check_date(value: object, field: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    # datetime is a subclass of date; a timestamp here would hide a time-zone decision.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{field} must be a date")


def warranty_status(
    acceptance_date: date | None, warranty_months: int | None, on: date
) -> WarrantyStatus:
    """Return the warranty status on day `on` for an item accepted on `acceptance_date` (S1).

    Coverage runs from the acceptance day for `warranty_months` calendar months; the last
    covered day is the day before acceptance + N months. An unknown acceptance date or period
    counts as out of warranty, with reason "unknown" so the screen can say so.
    """
    _check_date(acceptance_date, "acceptance_date", optional=True)
    _check_date(on, "on")
    if warranty_months is not None:
        if not isinstance(warranty_months, int) or isinstance(warranty_months, bool):
            raise TypeError("warranty_months must be an int")
        if warranty_months < 0:
            raise ValueError("warranty_months must not be negative")

    if acceptance_date is None or warranty_months is None:
        return WarrantyStatus(False, acceptance_date, None, None, UNKNOWN)

    starts = acceptance_date
    ends = add_months(starts, warranty_months) - timedelta(days=1)
    # With 0 months `ends` is the day before `starts`: an empty period, never in warranty.
    covered_days = max((ends - starts).days + 1, 0)
    if on < starts:
        return WarrantyStatus(False, starts, ends, covered_days, NOT_STARTED)
    if on > ends:
        return WarrantyStatus(False, starts, ends, 0, EXPIRED)
    return WarrantyStatus(True, starts, ends, (ends - on).days + 1, IN_WARRANTY)


_IN_WARRANTY_FREE = (
    "charges.onsite_repair",
    "charges.maintenance",
    "charges.labour",
    "charges.parts",
    "charges.expansion_upgrade_support",
)
_OUT_OF_WARRANTY_FREE = (
    "charges.technical_support",
    "charges.onsite_inspection",
    "charges.phone_support",
)
_OUT_OF_WARRANTY_CHARGED = (
    "charges.parts_at_manufacturer_cost",
    "charges.onsite_service_fee",
)
_SUMMARY = {
    IN_WARRANTY: "charges.in_warranty",
    EXPIRED: "charges.out_of_warranty",
    NOT_STARTED: "charges.warranty_not_started",
    UNKNOWN: "charges.warranty_unknown",
}


def what_it_means(status: WarrantyStatus) -> WarrantyMeaning:
    """Return message keys for what is free and what is charged under `status` (S2, S3, S4)."""
    if status.in_warranty:
        return WarrantyMeaning(_SUMMARY[IN_WARRANTY], _IN_WARRANTY_FREE, ())
    # Not started and unknown are charged like expired: nothing proves coverage (S27 explains).
    return WarrantyMeaning(_SUMMARY[status.reason], _OUT_OF_WARRANTY_FREE, _OUT_OF_WARRANTY_CHARGED)
