"""Customer details kept by the office (S10): found by search, edited on one page."""

from __future__ import annotations

from typing import Any

from server.customers.models import Customer, Equipment
from server.extensions import db

# Every detail the office edits; a field left blank on the form means "none", not "unchanged".
EDITABLE = ("name", "contact_person", "phone", "mobile", "email", "fax", "address", "notes")


def update_customer(customer: Customer, data: dict[str, Any]) -> Customer:
    """Replace a customer's details with what the form holds."""
    for key in EDITABLE:
        setattr(customer, key, data.get(key))
    return customer


def search_customers(q: str, limit: int = 20) -> list[Customer]:
    """Find customers by name, contact, phone or address."""
    like = f"%{q}%"
    return list(
        db.session.scalars(
            db.select(Customer)
            .where(
                Customer.name.ilike(like)
                | Customer.contact_person.ilike(like)
                | Customer.phone.ilike(like)
                | Customer.mobile.ilike(like)
                | Customer.address.ilike(like)
            )
            .order_by(Customer.name, Customer.id)
            .limit(limit)
        )
    )


def equipment_of(customer_id: int) -> list[Equipment]:
    """Return a customer's equipment, in the order it was recorded."""
    return list(
        db.session.scalars(
            db.select(Equipment).where(Equipment.customer_id == customer_id).order_by(Equipment.id)
        )
    )
