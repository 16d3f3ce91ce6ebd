"""The sign-off view of a visit, and its digest: what the customer saw when signing.

``static/js/core/digest.js`` builds the same view on the phone;
``spec/vectors/digest.json`` checks both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sync.canonical import canonical_digest
from sync.merge import live_part_events, parts_fen

VIEW_VERSION = 1
CURRENCY = "CNY"


def visit_signoff_view(
    *,
    visit_id: int,
    outcome: str | None,
    fee_fen: int,
    parts_charged: bool,
    checklist: Iterable[Mapping[str, Any]],
    parts: Iterable[Mapping[str, Any]],
    payments: Iterable[Mapping[str, Any]],
    voided_payment_ids: Iterable[str],
    waivers: Iterable[Mapping[str, Any]],
    equipment_receipts: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """Build the canonical sign-off view from a visit's merged records.

    Records may carry extra keys; only the fields below are read. ``parts`` holds every part event,
    reversals included; ``parts_charged`` is false in warranty (S2), when parts cost nothing.
    """
    part_list = list(parts)
    voided = set(voided_payment_ids)
    parts_total = parts_fen(live_part_events(part_list)) if parts_charged else 0
    waived = sum(w["amount_fen"] for w in waivers)
    return {
        "v": VIEW_VERSION,
        "visit_id": visit_id,
        "outcome": outcome,
        "checklist": sorted(
            ({"item_id": c["item_id"], "state": c["state"], "note": c["note"]} for c in checklist),
            key=lambda c: c["item_id"],
        ),
        "parts": sorted(
            (
                {
                    "id": p["id"],
                    "kind": p["kind"],
                    "part_code": p["part_code"],
                    "description": p["description"],
                    "qty": p["qty"],
                    "unit_cost_fen": p["unit_cost_fen"],
                    "reverses": p["reverses"],
                }
                for p in part_list
            ),
            key=lambda p: p["id"],
        ),
        "charges": {
            "currency": CURRENCY,
            "parts_fen": parts_total,
            "fee_fen": fee_fen,
            "waived_fen": waived,
            # A waiver larger than what is owed leaves nothing to pay, never a refund.
            "total_fen": max(0, parts_total + fee_fen - waived),
        },
        "payments": sorted(
            (
                {
                    "id": p["id"],
                    "method": p["method"],
                    "amount_fen": p["amount_fen"],
                    "receipt_no": p["receipt_no"],
                    "voided": p["id"] in voided,
                }
                for p in payments
            ),
            key=lambda p: p["id"],
        ),
        "equipment_receipts": sorted(
            (
                {
                    "id": r["id"],
                    "receipt_no": r["receipt_no"],
                    "description": r["description"],
                    "serial": r["serial"],
                }
                for r in equipment_receipts
            ),
            key=lambda r: r["id"],
        ),
    }


def digest_visit(view: Mapping[str, Any]) -> str:
    """Return the SHA-256 hex of a sign-off view's canonical JSON."""
    return canonical_digest(view)
