"""Operations on the service register (S10-S12): register, triage, record the steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update

from server.accounts.models import User
from server.customers.models import Customer, Equipment
from server.db_types import utcnow
from server.errors import ApiError
from server.extensions import db
from server.register.models import Callback, Channel, RequestStatus, ServiceRequest
from server.visits.models import Visit


def get_customer(customer_id: int) -> Customer:
    """Return the customer or raise a 404/422 naming the field."""
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise ApiError(
            422,
            "err.register.no_customer",
            {"customer_id": ["form.err.no_customer"]},
            params={"customer_id": customer_id},
        )
    return customer


def register_request(data: dict[str, Any], by: User) -> ServiceRequest:
    """Register a request in detail (S10), taking missing contact details from the customer."""
    customer = get_customer(data["customer_id"])
    equipment_id = data.get("equipment_id")
    if equipment_id is not None:
        equipment = db.session.get(Equipment, equipment_id)
        if equipment is None or equipment.customer_id != customer.id:
            raise ApiError(
                422,
                "err.register.equipment_not_customers",
                {"equipment_id": ["form.err.no_equipment"]},
            )
    contact_name = data.get("contact_name") or customer.contact_person
    contact_phone = data.get("contact_phone") or customer.phone or customer.mobile
    address = data.get("address") or customer.address
    missing = {
        name: ["form.err.required_no_fallback"]
        for name, value in (
            ("contact_name", contact_name),
            ("contact_phone", contact_phone),
            ("address", address),
        )
        if not value
    }
    if missing:
        raise ApiError(422, "err.register.contact_needed", missing)
    now = utcnow()
    received_at = data.get("received_at") or now
    if received_at > now:
        raise ApiError(
            422,
            "err.register.received_in_future",
            {"received_at": ["form.err.future"]},
        )
    request = ServiceRequest(
        customer_id=customer.id,
        equipment_id=equipment_id,
        contact_name=contact_name,
        contact_phone=contact_phone,
        address=address,
        problem=data["problem"],
        symptoms=data.get("symptoms"),
        channel=data["channel"],
        severity=data["severity"],
        urgency=data["urgency"],
        needs_visit=data["needs_visit"],
        received_at=received_at,
        status=RequestStatus.REGISTERED,
        created_by_id=by.id,
    )
    db.session.add(request)
    db.session.flush()
    return request


def triage_request(request: ServiceRequest, data: dict[str, Any]) -> ServiceRequest:
    """Set severity, urgency and whether a visit is needed (S11)."""
    for key in ("severity", "urgency", "needs_visit", "sla_note"):
        if key in data:
            setattr(request, key, data[key])
    return request


def _at(data: dict[str, Any], request: ServiceRequest, field: str = "at") -> datetime:
    at = data.get(field) or utcnow()
    if at > utcnow():
        raise ApiError(422, "err.register.time_in_future", {field: ["form.err.future"]})
    if at < request.received_at:
        raise ApiError(
            422,
            "err.register.time_before_received",
            {field: ["form.err.before_received"]},
        )
    return at


def record_phone_response(request: ServiceRequest, data: dict[str, Any]) -> ServiceRequest:
    """Record the first phone response to the customer (S5a)."""
    if request.phone_response_at is not None:
        raise ApiError(409, "err.register.phone_response_recorded")
    request.phone_response_at = _at(data, request)
    if request.status == RequestStatus.REGISTERED:
        request.status = RequestStatus.RESPONDED
    return request


def record_remote_consent(request: ServiceRequest, data: dict[str, Any]) -> ServiceRequest:
    """Record that phone guidance cannot fix it and the customer consents to remote login (S5c)."""
    if request.remote_consent_at is not None:
        raise ApiError(409, "err.register.consent_recorded")
    request.remote_consent_at = _at(data, request)
    return request


def record_remote_login(request: ServiceRequest, data: dict[str, Any]) -> ServiceRequest:
    """Record the remote login; only allowed after the customer's consent (S5c)."""
    if request.remote_consent_at is None:
        raise ApiError(409, "err.register.login_needs_consent")
    if request.remote_login_at is not None:
        raise ApiError(409, "err.register.login_recorded")
    at = _at(data, request)
    if at < request.remote_consent_at:
        raise ApiError(
            422,
            "err.register.login_before_consent",
            {"at": ["form.err.before_consent"]},
        )
    request.remote_login_at = at
    return request


def record_delay_notice(request: ServiceRequest, data: dict[str, Any]) -> ServiceRequest:
    """Record that the customer was told their request cannot be handled in time (S11)."""
    request.delay_notified_at = _at(data, request)
    if data.get("note"):
        request.sla_note = data["note"]
    return request


def record_fax_call(request: ServiceRequest, data: dict[str, Any], by: User) -> ServiceRequest:
    """Record the call to the customer's technical staff that a fax request calls for (S6)."""
    if request.channel != Channel.FAX:
        raise ApiError(409, "err.register.fax_only")
    if request.fax_call_at is not None:
        raise ApiError(409, "err.register.fax_call_recorded")
    if not (data.get("note") or "").strip():
        raise ApiError(
            422,
            "err.register.fax_call_note",
            {"note": ["form.err.fax_call_note"]},
        )
    request.fax_call_at = _at(data, request)
    request.fax_call_by_id = by.id
    request.fax_call_note = data["note"]
    return request


def add_callback(request: ServiceRequest, data: dict[str, Any], by: User) -> Callback:
    """Record a call back to the customer after the job (S12).

    A call that reached the customer answers for every visit finished before it that was still
    waiting for one, so the call-back queue is a stored fact, not a search per page load.
    """
    callback = Callback(
        request_id=request.id,
        called_at=_at(data, request, "called_at"),
        called_by_id=by.id,
        reached=data["reached"],
        satisfied=data.get("satisfied"),
        notes=data.get("notes"),
    )
    db.session.add(callback)
    if callback.reached:
        db.session.execute(
            update(Visit)
            .where(
                Visit.request_id == request.id,
                Visit.finished_at.is_not(None),
                Visit.finished_at <= callback.called_at,
                Visit.called_back_at.is_(None),
            )
            .values(called_back_at=callback.called_at)
            .execution_options(synchronize_session="fetch")
        )
    return callback


def record_result(request: ServiceRequest, data: dict[str, Any]) -> ServiceRequest:
    """Write the result into the register (S29) and move the request on."""
    if request.status == RequestStatus.CLOSED:
        raise ApiError(409, "err.register.closed")
    now = utcnow()
    request.result = data["result"]
    request.status = data["status"]
    if data["status"] == RequestStatus.RESOLVED:
        request.resolved_at = now
    elif data["status"] == RequestStatus.CLOSED:
        request.resolved_at = request.resolved_at or now
        request.closed_at = now
    return request
