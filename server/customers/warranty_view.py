"""Equipment with its warranty status attached, for the API and pages."""

from __future__ import annotations

from datetime import date, datetime

from server.customers.models import Equipment
from server.domain.timezone import COMPANY_TZ
from server.domain.warranty import warranty_status


def today_in_company_tz() -> date:
    """Return today's date in the company's time zone."""
    return datetime.now(COMPANY_TZ).date()


def with_warranty(equipment: Equipment, on: date | None = None) -> Equipment:
    """Attach the warranty status on a day (today in Shanghai by default) to the equipment."""
    status = warranty_status(
        equipment.acceptance_date, equipment.warranty_months, on or today_in_company_tz()
    )
    equipment.warranty = {
        "in_warranty": status.in_warranty,
        "reason": status.reason,
        "starts": status.starts,
        "ends": status.ends,
        "days_left": status.days_left,
    }
    return equipment
