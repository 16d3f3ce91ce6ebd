"""Finding requests in the register: the one query behind the register page, the API's list
and the SLA board, each narrowing it with the filters it offers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select

from server.customers.models import Customer
from server.register.models import OPEN_STATUSES, ServiceRequest
from server.visits.models import Visit, VisitStatus


def requests_query(filters: Mapping[str, Any], base: Select | None = None) -> Select:
    """Select the requests matching `filters`, newest first.

    `base` narrows what may be seen at all (an engineer's scope, from register.access). Filters:
    status, channel, customer_id, created_by_id, open (True/False), engineer_id (a visit not
    cancelled), customer (part of the customer's name), q (problem, contact or customer name).
    """
    query = base if base is not None else select(ServiceRequest)
    if filters.get("status"):
        query = query.where(ServiceRequest.status == filters["status"])
    if filters.get("channel"):
        query = query.where(ServiceRequest.channel == filters["channel"])
    if filters.get("customer_id"):
        query = query.where(ServiceRequest.customer_id == filters["customer_id"])
    if filters.get("created_by_id"):
        query = query.where(ServiceRequest.created_by_id == filters["created_by_id"])
    if filters.get("open") is not None:
        is_open = ServiceRequest.status.in_([str(s) for s in OPEN_STATUSES])
        query = query.where(is_open if filters["open"] else ~is_open)
    if filters.get("engineer_id"):
        query = query.where(
            ServiceRequest.id.in_(
                select(Visit.request_id).where(
                    Visit.engineer_id == filters["engineer_id"],
                    Visit.status != VisitStatus.CANCELLED,
                )
            )
        )
    if filters.get("customer"):
        query = query.where(ServiceRequest.customer_id.in_(_customers_named(filters["customer"])))
    if filters.get("q"):
        like = f"%{filters['q']}%"
        query = query.where(
            ServiceRequest.problem.ilike(like)
            | ServiceRequest.contact_name.ilike(like)
            | ServiceRequest.customer_id.in_(_customers_named(filters["q"]))
        )
    return query.order_by(ServiceRequest.received_at.desc(), ServiceRequest.id.desc())


def _customers_named(text: str) -> Select:
    return select(Customer.id).where(Customer.name.ilike(f"%{text}%"))
