"""What a finished visit still lacks: a pure check over facts gathered from its records.

The rules, each tied to the service commitment:

- ``signature``: the customer signed off (S24); ``signature_stale``: the visit changed after the
  customer signed, so the signature no longer covers what the server holds.
- ``feedback``: the service feedback form was filled in (S24, S29).
- ``damage_brand_model``: every damaged-hardware record names its brand and model (S20).
- ``purchase_proof`` / ``warranty_card``: where warranty was claimed for damaged hardware, the
  proof is photographed on the visit or already on file for that equipment (S20).
- ``equipment_receipt``: equipment taken back to the office left with a customer equipment
  receipt (S21). We cannot see equipment leave except through the engineer's checklist, so the
  rule is: if the checklist item ``equipment-receipt`` is ticked ``done``, at least one
  EquipmentReceipt record must have synced for the visit. A receipt record on its own is proof
  enough and raises nothing.
- ``payment``: what was collected (payments minus voided ones) equals what the charge rules give
  (S2, S3, S23); ``charges_invalid`` when the recorded parts, fee and waivers cannot be charged.
- ``late_reason``: the engineer arrived after the appointment window and recorded no reason
  (S16: late or unable, the customer is told, with an explanation and apology).
- ``permission``: the customer's permission to enter the site was never answered (S17).
- ``explanation``: a visit that ended ``not_fixed`` carries no explanation (S22).
  The phone asks for these three; older phones and the API may still let them through.
- ``conflicts`` / ``operations``: sync conflicts not yet resolved and refused operations not yet
  reviewed: the record may be missing something the engineer did.

Only finished visits (completed or not fixed) are checked; a visit under way lacks things
because it is not over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FINISHED_STATUSES = frozenset({"completed", "not_fixed"})


@dataclass(frozen=True)
class DamageFacts:
    """One damaged-hardware record, reduced to what the check needs."""

    brand: str
    model: str
    warranty_claimed: bool
    has_purchase_proof: bool
    has_warranty_card: bool


@dataclass(frozen=True)
class VisitFacts:
    """What the check needs to know about a visit; built from the database by the review."""

    status: str
    has_signoff: bool = False
    signoff_stale: bool = False
    has_feedback: bool = False
    damages: tuple[DamageFacts, ...] = ()
    equipment_receipt_ticked: bool = False
    equipment_receipts: int = 0
    # None when the charge rules refused the recorded data (charges_error says why).
    charges_total_fen: int | None = 0
    charges_error: str | None = None
    collected_fen: int = 0
    open_conflicts: int = 0
    unreviewed_operations: int = 0
    arrived_late: bool = False
    has_late_reason: bool = False
    permission_answered: bool = True
    has_explanation: bool = False


@dataclass(frozen=True)
class Gap:
    """One thing missing; `code` picks the message, `params` fill it in."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


def is_finished(status: str) -> bool:
    """Tell whether a visit is over, so that the completeness check applies."""
    return status in FINISHED_STATUSES


def arrived_late(arrived_at: datetime | None, due: datetime | None) -> bool:
    """Tell whether the engineer reached the site after it was due (S16; due from
    server.domain.sla.visit_arrival_due); with nothing promised there was nothing to miss."""
    return arrived_at is not None and due is not None and arrived_at > due


def visit_gaps(facts: VisitFacts) -> list[Gap]:
    """Return what a finished visit lacks, in the order the office should chase it."""
    if not is_finished(facts.status):
        return []
    gaps: list[Gap] = []
    if not facts.has_signoff:
        gaps.append(Gap("signature"))
    elif facts.signoff_stale:
        gaps.append(Gap("signature_stale"))
    if not facts.has_feedback:
        gaps.append(Gap("feedback"))
    if facts.arrived_late and not facts.has_late_reason:
        gaps.append(Gap("late_reason"))
    if not facts.permission_answered:
        gaps.append(Gap("permission"))
    if facts.status == "not_fixed" and not facts.has_explanation:
        gaps.append(Gap("explanation"))
    for number, damage in enumerate(facts.damages, start=1):
        if not damage.brand.strip() or not damage.model.strip():
            gaps.append(Gap("damage_brand_model", {"n": number}))
        if damage.warranty_claimed and not damage.has_purchase_proof:
            gaps.append(Gap("purchase_proof", {"n": number}))
        if damage.warranty_claimed and not damage.has_warranty_card:
            gaps.append(Gap("warranty_card", {"n": number}))
    if facts.equipment_receipt_ticked and facts.equipment_receipts == 0:
        gaps.append(Gap("equipment_receipt"))
    if facts.charges_total_fen is None:
        gaps.append(Gap("charges_invalid", {"reason": facts.charges_error or ""}))
    elif facts.collected_fen != facts.charges_total_fen:
        gaps.append(
            Gap(
                "payment",
                {"owed_fen": facts.charges_total_fen, "collected_fen": facts.collected_fen},
            )
        )
    if facts.open_conflicts:
        gaps.append(Gap("conflicts", {"count": facts.open_conflicts}))
    if facts.unreviewed_operations:
        gaps.append(Gap("operations", {"count": facts.unreviewed_operations}))
    return gaps
