"""What a phone receives about a record in a pull: plain JSON-ready dicts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from server.customers.models import Customer, Equipment
from server.register.models import ServiceRequest
from server.visits.models import Visit


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def customer_snapshot(c: Customer) -> dict[str, Any]:
    """Return what an engineer needs to know about a customer."""
    return {
        "id": c.id,
        "name": c.name,
        "contact_person": c.contact_person,
        "phone": c.phone,
        "mobile": c.mobile,
        "address": c.address,
    }


def equipment_snapshot(e: Equipment) -> dict[str, Any]:
    """Return an item of equipment with what its warranty needs."""
    return {
        "id": e.id,
        "customer_id": e.customer_id,
        "brand": e.brand,
        "model": e.model,
        "serial_number": e.serial_number,
        "location": e.location,
        "acceptance_date": _iso(e.acceptance_date),
        "warranty_months": e.warranty_months,
        "purchase_proof_on_file": e.purchase_proof_on_file,
        "warranty_card_on_file": e.warranty_card_on_file,
    }


def request_summary(r: ServiceRequest) -> dict[str, Any]:
    """Return the part of a register entry that travels with its visits."""
    return {
        "id": r.id,
        "number": r.number,
        "customer_id": r.customer_id,
        "equipment_id": r.equipment_id,
        "contact_name": r.contact_name,
        "contact_phone": r.contact_phone,
        "address": r.address,
        "problem": r.problem,
        "symptoms": r.symptoms,
        "channel": r.channel,
        "severity": r.severity,
        "urgency": r.urgency,
        "received_at": _iso(r.received_at),
        "needs_visit": r.needs_visit,
    }


def visit_snapshot(v: Visit) -> dict[str, Any]:
    """Return a visit as the phone stores it, with its register entry embedded."""
    return {
        "id": v.id,
        "request_id": v.request_id,
        "visit_no": v.visit_no,
        "engineer_id": v.engineer_id,
        "purpose": v.purpose,
        "window_start": _iso(v.window_start),
        "window_end": _iso(v.window_end),
        "status": v.status,
        "arrived_at": _iso(v.arrived_at),
        "late_reason": v.late_reason,
        "customer_informed": v.customer_informed,
        "permission_granted": v.permission_granted,
        "outcome_summary": v.outcome_summary,
        "explanation": v.explanation,
        "escalate": v.escalate,
        "onsite_fee_fen": v.onsite_fee_fen,
        "inspection_only": v.inspection_only,
        "notes": v.notes,
        "request": request_summary(v.request),
    }
