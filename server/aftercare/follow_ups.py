"""Follow-ups of special cases (S33) and periodic return visits (S7): planned, booked, done."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import selectinload

from server.accounts.models import User
from server.aftercare.models import FollowUp, FollowUpKind, FollowUpStatus
from server.customers.models import Equipment
from server.db_types import utcnow
from server.dispatch import operations as dispatch
from server.domain.warranty import add_months
from server.errors import ApiError
from server.extensions import db
from server.register import operations as register
from server.register.models import Channel, Level, ServiceRequest


def _check_links(data: dict[str, Any]) -> None:
    customer = register.get_customer(data["customer_id"])
    if data.get("request_id") is not None:
        request = db.session.get(ServiceRequest, data["request_id"])
        if request is None or request.customer_id != customer.id:
            raise ApiError(
                422,
                "err.aftercare.request_not_customers",
                {"request_id": ["form.err.no_request"]},
            )
    if data.get("equipment_id") is not None:
        equipment = db.session.get(Equipment, data["equipment_id"])
        if equipment is None or equipment.customer_id != customer.id:
            raise ApiError(
                422,
                "err.register.equipment_not_customers",
                {"equipment_id": ["form.err.no_equipment"]},
            )


def plan_follow_up(data: dict[str, Any], by: User) -> FollowUp:
    """Plan a follow-up or a periodic return visit for a customer."""
    _check_links(data)
    if data.get("interval_months") and data["kind"] != FollowUpKind.RETURN_VISIT:
        raise ApiError(
            422,
            "err.aftercare.only_return_visits_repeat",
            {"interval_months": ["form.err.only_return_visits_repeat"]},
        )
    follow_up = FollowUp(
        customer_id=data["customer_id"],
        request_id=data.get("request_id"),
        equipment_id=data.get("equipment_id"),
        kind=data["kind"],
        due_on=data["due_on"],
        interval_months=data.get("interval_months") or None,
        reason=data["reason"],
        status=FollowUpStatus.PLANNED,
        created_by_id=by.id,
    )
    db.session.add(follow_up)
    db.session.flush()
    return follow_up


def _require_planned(follow_up: FollowUp) -> None:
    if follow_up.status in (FollowUpStatus.DONE, FollowUpStatus.CANCELLED):
        raise ApiError(409, "err.aftercare.follow_up_already", params={"status": follow_up.status})


def book_follow_up(follow_up: FollowUp, data: dict[str, Any], by: User) -> ServiceRequest:
    """Book the visit: a register entry on the return-visit channel with a scheduled visit.

    The company starts a return visit by phoning the customer to book it, so the phone response
    is recorded at registration, and the visit has an appointment rather than the two-hour
    arrival clock (needs_visit is False, so S5b does not apply; the reports leave the
    return-visit channel out of the SLA figures for the same reason).
    """
    if follow_up.status != FollowUpStatus.PLANNED:
        raise ApiError(
            409, "err.aftercare.follow_up_not_planned", params={"status": follow_up.status}
        )
    request = register.register_request(
        {
            "customer_id": follow_up.customer_id,
            "equipment_id": follow_up.equipment_id,
            "problem": follow_up.reason[:400],
            "symptoms": None,
            "channel": Channel.RETURN_VISIT,
            "severity": Level.NORMAL,
            "urgency": Level.NORMAL,
            "needs_visit": False,
            "received_at": None,
        },
        by,
    )
    register.record_phone_response(request, {"at": request.received_at})
    dispatch.schedule_visit(
        request,
        {
            "engineer_id": data.get("engineer_id"),
            "window_start": data.get("window_start"),
            "window_end": data.get("window_end"),
            "purpose": follow_up.kind,
        },
    )
    follow_up.status = FollowUpStatus.BOOKED
    follow_up.booked_request_id = request.id
    return request


def complete_follow_up(follow_up: FollowUp, outcome: str, by: User) -> FollowUp | None:
    """Record how the customer's system runs; plan the next return visit if it repeats."""
    _require_planned(follow_up)
    follow_up.status = FollowUpStatus.DONE
    follow_up.outcome = outcome
    follow_up.done_at = utcnow()
    follow_up.done_by_id = by.id
    if not follow_up.interval_months:
        return None
    following = FollowUp(
        customer_id=follow_up.customer_id,
        request_id=follow_up.request_id,
        equipment_id=follow_up.equipment_id,
        kind=follow_up.kind,
        due_on=add_months(follow_up.due_on, follow_up.interval_months),
        interval_months=follow_up.interval_months,
        reason=follow_up.reason,
        status=FollowUpStatus.PLANNED,
        previous_id=follow_up.id,
        created_by_id=by.id,
    )
    db.session.add(following)
    db.session.flush()
    return following


def cancel_follow_up(follow_up: FollowUp, reason: str, by: User) -> FollowUp:
    """Cancel a follow-up that is no longer needed, saying why."""
    _require_planned(follow_up)
    follow_up.status = FollowUpStatus.CANCELLED
    follow_up.outcome = reason
    follow_up.done_at = utcnow()
    follow_up.done_by_id = by.id
    return follow_up


def follow_ups_query(state: str | None = None):
    """Select follow-ups by due day; `state` "open" means planned or booked."""
    # Each line shows its customer, request, booked request and equipment: load them with it.
    query = (
        db.select(FollowUp)
        .options(
            selectinload(FollowUp.customer),
            selectinload(FollowUp.request),
            selectinload(FollowUp.booked_request),
            selectinload(FollowUp.equipment),
        )
        .order_by(FollowUp.due_on, FollowUp.id)
    )
    if state == "open":
        query = query.where(FollowUp.status.in_([FollowUpStatus.PLANNED, FollowUpStatus.BOOKED]))
    elif state:
        query = query.where(FollowUp.status == state)
    return query


def follow_ups(state: str | None = None) -> list[FollowUp]:
    """List follow-ups by due day; `state` "open" means planned or booked."""
    return list(db.session.scalars(follow_ups_query(state)))
