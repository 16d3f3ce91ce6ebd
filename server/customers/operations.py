"""Customer details kept by the office (S10): found by search, edited on one page."""

from __future__ import annotations

from typing import Any

from server.customers.models import Customer
from server.extensions import db
from server.register.models import ServiceRequest

# Every detail the office edits; a field left blank on the form means "none", not "unchanged".
EDITABLE = ("name", "contact_person", "phone", "mobile", "email", "fax", "address", "notes")


def update_customer(customer: Customer, data: dict[str, Any]) -> Customer:
    """Replace a customer's details with what the form holds."""
    for key in EDITABLE:
        setattr(customer, key, data.get(key))
    return customer


def recent_requests(customer_id: int, limit: int = 20) -> list[ServiceRequest]:
    """Return a customer's latest register entries, newest first, to pick one from a list."""
    return list(
        db.session.scalars(
            db.select(ServiceRequest)
            .where(ServiceRequest.customer_id == customer_id)
            .order_by(ServiceRequest.received_at.desc(), ServiceRequest.id.desc())
            .limit(limit)
        )
    )
