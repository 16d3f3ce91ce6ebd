"""Registering a request from the office form (S10): customer found or created on the spot."""

from __future__ import annotations

from typing import Any

from server.accounts.models import User
from server.customers.models import Customer
from server.errors import ApiError
from server.extensions import db
from server.register.models import OPEN_STATUSES, ServiceRequest
from server.register.operations import register_request

REQUEST_FIELDS = (
    "customer_id",
    "equipment_id",
    "contact_name",
    "contact_phone",
    "address",
    "problem",
    "symptoms",
    "channel",
    "severity",
    "urgency",
    "needs_visit",
    "received_at",
)


def open_requests_for(
    customer_id: int | None = None, equipment_id: int | None = None
) -> list[ServiceRequest]:
    """Return the open register entries of a customer or of one item of equipment."""
    query = db.select(ServiceRequest).where(
        ServiceRequest.status.in_([str(s) for s in OPEN_STATUSES])
    )
    if equipment_id is not None:
        query = query.where(ServiceRequest.equipment_id == equipment_id)
    elif customer_id is not None:
        query = query.where(ServiceRequest.customer_id == customer_id)
    else:
        return []
    return list(db.session.scalars(query.order_by(ServiceRequest.received_at)))


class DuplicateRequest(ApiError):
    """An open request exists for the same equipment and the clerk has not confirmed a new one."""

    def __init__(self, duplicates: list[ServiceRequest]) -> None:
        super().__init__(
            409,
            "An open request exists for this equipment.",
            {"equipment_id": ["form.err.duplicate_open"]},
        )
        self.duplicates = duplicates


def register_from_form(data: dict[str, Any], by: User) -> ServiceRequest:
    """Register a request, creating the customer first when the clerk typed a new one.

    Raises DuplicateRequest when the equipment already has an open request and the clerk did not
    tick "register anyway"; the caller rolls back, so nothing is half-saved.
    """
    equipment_id = data.get("equipment_id")
    if equipment_id is not None and not data.get("confirm_duplicate"):
        duplicates = open_requests_for(equipment_id=equipment_id)
        if duplicates:
            raise DuplicateRequest(duplicates)
    payload = {name: data.get(name) for name in REQUEST_FIELDS}
    if payload["customer_id"] is None:
        customer = Customer(
            name=data["new_customer_name"],
            contact_person=data.get("new_customer_contact"),
            phone=data.get("new_customer_phone"),
            address=data.get("new_customer_address"),
        )
        db.session.add(customer)
        db.session.flush()
        payload["customer_id"] = customer.id
    return register_request(payload, by)


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
