"""Everything the field synced for one visit, gathered for the office's review."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import selectinload

from server.accounts.models import Device, User
from server.customers.models import Equipment
from server.db_types import utcnow
from server.domain.charges import Charges
from server.domain.completeness import (
    DamageFacts,
    Gap,
    VisitFacts,
    arrived_late,
    is_finished,
    visit_gaps,
)
from server.domain.sla import visit_arrival_due
from server.domain.warranty import WarrantyStatus
from server.errors import ApiError
from server.extensions import count_rows, db
from server.feed.models import ChecklistTemplate, SyncOperation
from server.finance.charges import (
    ChargeFlag,
    PriceBook,
    VisitCharges,
    explain_visit_charges,
    load_price_book,
    visit_business_day,
    visit_warranty,
)
from server.register.models import ServiceRequest
from server.visits.field_models import (
    ChargeWaiver,
    ChecklistEntry,
    Conflict,
    DamageRecord,
    EquipmentReceipt,
    Feedback,
    PartEvent,
    Payment,
    PaymentVoid,
    SignOff,
)
from server.visits.models import Visit

# Operation results the office must look at: the server did not apply them as sent.
PROBLEM_STATUSES = ("rejected", "conflict")
EQUIPMENT_RECEIPT_ITEM = "equipment-receipt"


@dataclass
class ChargesView:
    """What the visit owes (the one pricing, `explain_visit_charges`) beside what was collected."""

    warranty: WarrantyStatus
    on: date
    charges: Charges | None
    error: str | None
    collected_fen: int
    priced: VisitCharges | None = None

    @property
    def difference_fen(self) -> int | None:
        """Collected minus owed: positive is over-collected, negative is still owed."""
        return None if self.charges is None else self.collected_fen - self.charges.total_fen

    @property
    def flags(self) -> tuple[ChargeFlag, ...]:
        """Where the phone's prices differ from the lists (as finance shows them)."""
        return self.priced.flags if self.priced is not None else ()

    @property
    def phone_total_fen(self) -> int | None:
        """What the phone's own prices came to: what the customer was shown."""
        return self.priced.phone_total_fen if self.priced is not None else None


@dataclass
class PartRow:
    event: PartEvent
    reversed_by: PartEvent | None = None

    @property
    def is_correction(self) -> bool:
        return self.event.reverses_id is not None


@dataclass
class VisitReview:
    """The whole of a visit as the office reviews it."""

    visit: Visit
    checklist: list[dict[str, Any]]
    parts: list[PartRow]
    charges: ChargesView
    waivers: list[ChargeWaiver]
    payments: list[tuple[Payment, PaymentVoid | None]]
    equipment_receipts: list[EquipmentReceipt]
    signoffs: list[SignOff]
    feedback: list[Feedback]
    damages: list[DamageRecord]
    conflicts: list[Conflict]
    problem_operations: list[SyncOperation]
    history: list[SyncOperation]
    gaps: list[Gap]
    users: dict[int, User] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)


def _rows(model, visit_id: int, *order) -> list:
    return list(
        db.session.scalars(db.select(model).where(model.visit_id == visit_id).order_by(*order))
    )


def visit_charges(
    visit: Visit,
    part_events: list[PartEvent],
    waivers: list[ChargeWaiver],
    payments: list[tuple[Payment, PaymentVoid | None]],
    book: PriceBook | None = None,
) -> ChargesView:
    """Price the visit as finance does (S2, S3) and sum what was collected."""
    collected = sum(p.amount_fen for p, void in payments if void is None)
    try:
        priced = explain_visit_charges(visit, book=book, part_events=part_events, waivers=waivers)
    except (TypeError, ValueError) as exc:
        warranty = visit_warranty(visit)
        return ChargesView(warranty, visit_business_day(visit), None, str(exc), collected)
    warranty = visit_warranty(visit, priced.business_day)
    return ChargesView(warranty, priced.business_day, priced.charges, None, collected, priced)


def _active_template() -> ChecklistTemplate | None:
    return db.session.scalar(
        db.select(ChecklistTemplate)
        .where(ChecklistTemplate.is_active)
        .order_by(ChecklistTemplate.version.desc(), ChecklistTemplate.id.desc())
        .limit(1)
    )


def _checklist_rows(
    template: ChecklistTemplate | None, entries: list[ChecklistEntry]
) -> list[dict[str, Any]]:
    """Return the checklist in template order, with each item's entry (None if untouched)."""
    by_item = {e.item_id: e for e in entries}
    rows: list[dict[str, Any]] = []
    if template is not None:
        for section in template.body.get("sections", []):
            for item in section.get("items", []):
                rows.append(
                    {
                        "section": section.get("title", {}),
                        "item_id": item["id"],
                        "rule": item.get("rule"),
                        "text": item.get("text", {}),
                        "entry": by_item.pop(item["id"], None),
                    }
                )
    # Items no longer in the template still happened; show them last.
    for item_id, entry in sorted(by_item.items()):
        rows.append({"section": {}, "item_id": item_id, "rule": None, "text": {}, "entry": entry})
    return rows


def _checklist(visit_id: int) -> list[dict[str, Any]]:
    return _checklist_rows(
        _active_template(), _rows(ChecklistEntry, visit_id, ChecklistEntry.item_id)
    )


def facts_for(
    visit: Visit,
    checklist: list[dict[str, Any]],
    charges: ChargesView,
    signoffs: list[SignOff],
    feedback: list[Feedback],
    damages: list[DamageRecord],
    receipts: list[EquipmentReceipt],
    conflicts: list[Conflict],
    problem_operations: list[SyncOperation],
) -> VisitFacts:
    """Reduce a visit's records to the facts the completeness check reads."""
    equipment = visit.request.equipment
    ticked = any(
        row["item_id"] == EQUIPMENT_RECEIPT_ITEM
        and row["entry"] is not None
        and row["entry"].state == "done"
        for row in checklist
    )
    latest = signoffs[-1] if signoffs else None
    refusal = charges.error
    if charges.charges is None:
        refusal = refusal or "no charges"
    elif any(f.code == "waiver_exceeds_charges" for f in charges.flags):
        # The rules refuse such a waiver; finance counts it only up to the charges.
        refusal = "waivers exceed the charges"
    return VisitFacts(
        status=visit.status,
        has_signoff=latest is not None,
        signoff_stale=bool(latest and latest.stale),
        has_feedback=bool(feedback),
        damages=tuple(
            DamageFacts(
                brand=d.brand,
                model=d.model,
                warranty_claimed=d.warranty_claimed,
                has_purchase_proof=bool(d.purchase_proof_blob) or _on_file(d, equipment, "p"),
                has_warranty_card=bool(d.warranty_card_blob) or _on_file(d, equipment, "w"),
            )
            for d in damages
        ),
        equipment_receipt_ticked=ticked,
        equipment_receipts=len(receipts),
        charges_total_fen=None if refusal else charges.charges.total_fen,
        charges_error=refusal,
        collected_fen=charges.collected_fen,
        open_conflicts=sum(1 for c in conflicts if c.resolved_at is None),
        unreviewed_operations=sum(1 for o in problem_operations if o.reviewed_at is None),
        arrived_late=arrived_late(visit.arrived_at, _arrival_due(visit)),
        has_late_reason=_said(visit.late_reason),
        # Only a visit that reached the site was asked; None there means no answer at all.
        permission_answered=visit.arrived_at is None or visit.permission_granted is not None,
        has_explanation=_said(visit.explanation),
    )


def _arrival_due(visit: Visit) -> datetime | None:
    """When this visit's arrival became late: the same rule the sync server asks reasons by."""
    request = visit.request
    first = request.first_arrival_at
    return visit_arrival_due(
        visit.window_start,
        visit.window_end,
        request.received_at,
        request.needs_visit,
        first_visit=first is None or visit.arrived_at is None or visit.arrived_at <= first,
    )


def _said(text: str | None) -> bool:
    """Tell whether a free-text answer says anything (blank is no answer)."""
    return bool((text or "").strip())


def _on_file(damage: DamageRecord, equipment, which: str) -> bool:
    """Tell whether the proof is already on file for the damaged equipment (S20)."""
    target = equipment
    if damage.equipment_id is not None and (
        equipment is None or equipment.id != damage.equipment_id
    ):
        target = db.session.get(Equipment, damage.equipment_id)
    if target is None:
        return False
    return target.purchase_proof_on_file if which == "p" else target.warranty_card_on_file


def review_visit(visit: Visit, book: PriceBook | None = None) -> VisitReview:
    """Gather every record of a visit, its charges, its history and what it lacks."""
    vid = visit.id
    checklist = _checklist(vid)
    part_events = _rows(PartEvent, vid, PartEvent.received_at, PartEvent.id)
    parts = [PartRow(e) for e in part_events]
    rows_by_id = {row.event.id: row for row in parts}
    for row in parts:
        target = rows_by_id.get(row.event.reverses_id or "")
        if target is not None:
            target.reversed_by = row.event
    waivers = _rows(ChargeWaiver, vid, ChargeWaiver.received_at)
    payment_rows = _rows(Payment, vid, Payment.received_at, Payment.id)
    voids = {v.payment_id: v for v in _rows(PaymentVoid, vid, PaymentVoid.received_at)}
    payments = [(p, voids.get(p.id)) for p in payment_rows]
    charges = visit_charges(visit, part_events, waivers, payments, book)
    receipts = _rows(EquipmentReceipt, vid, EquipmentReceipt.received_at)
    signoffs = _rows(SignOff, vid, SignOff.received_at, SignOff.id)
    feedback = _rows(Feedback, vid, Feedback.received_at)
    damages = _rows(DamageRecord, vid, DamageRecord.received_at)
    conflicts = _rows(Conflict, vid, Conflict.created_at, Conflict.id)
    history = list(
        db.session.scalars(
            db.select(SyncOperation)
            .where(SyncOperation.visit_id == vid)
            .order_by(SyncOperation.received_at, SyncOperation.id)
        )
    )
    problems = [o for o in history if o.status in PROBLEM_STATUSES]
    facts = facts_for(
        visit, checklist, charges, signoffs, feedback, damages, receipts, conflicts, problems
    )
    records: list[Any] = [
        *(r["entry"] for r in checklist if r["entry"] is not None),
        *part_events,
        *waivers,
        *payment_rows,
        *voids.values(),
        *receipts,
        *signoffs,
        *feedback,
        *damages,
    ]
    user_ids = {r.user_id for r in records} | {o.user_id for o in history}
    user_ids |= {c.resolved_by_id for c in conflicts if c.resolved_by_id}
    user_ids |= {o.reviewed_by_id for o in history if o.reviewed_by_id}
    device_ids = {r.device_id for r in records} | {o.device_id for o in history}
    device_ids |= {c.device_id for c in conflicts if c.device_id}
    users = {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(user_ids)))}
    devices = {
        d.id: d for d in db.session.scalars(db.select(Device).where(Device.id.in_(device_ids)))
    }
    return VisitReview(
        visit=visit,
        checklist=checklist,
        parts=parts,
        charges=charges,
        waivers=waivers,
        payments=payments,
        equipment_receipts=receipts,
        signoffs=signoffs,
        feedback=feedback,
        damages=damages,
        conflicts=conflicts,
        problem_operations=problems,
        history=history,
        gaps=visit_gaps(facts),
        users=users,
        devices=devices,
    )


def resolve_conflict(conflict: Conflict, note: str, by: User) -> Conflict:
    """Mark a recorded sync conflict resolved, with the office's note of what was decided."""
    if conflict.resolved_at is not None:
        raise ApiError(409, "err.review.conflict_resolved")
    now = utcnow()
    conflict.resolved_at = now
    conflict.resolved_by_id = by.id
    conflict.resolution = note
    # The operation that produced the conflict is settled by the same decision.
    if conflict.op_id is not None:
        operation = db.session.scalar(
            db.select(SyncOperation).where(SyncOperation.op_id == conflict.op_id)
        )
        if operation is not None and operation.reviewed_at is None:
            operation.reviewed_at = now
            operation.reviewed_by_id = by.id
            operation.review_note = note
    return conflict


def mark_operation_reviewed(
    operation: SyncOperation, by: User, note: str | None = None
) -> SyncOperation:
    """Mark a refused or conflicting operation as looked at by the office, with what was done."""
    if operation.status not in PROBLEM_STATUSES:
        raise ApiError(409, "err.review.op_not_reviewable")
    if operation.reviewed_at is not None:
        raise ApiError(409, "err.review.op_reviewed")
    operation.reviewed_at = utcnow()
    operation.reviewed_by_id = by.id
    operation.review_note = note
    return operation


def mark_visit_reviewed(visit: Visit, by: User, note: str | None = None) -> Visit:
    """Take a finished visit off the review queue; with gaps left, say why it is accepted."""
    if not is_finished(visit.status):
        raise ApiError(409, "err.review.visit_not_finished")
    if visit.reviewed_at is not None:
        raise ApiError(409, "err.review.visit_reviewed")
    if review_visit(visit).gaps and not (note or "").strip():
        raise ApiError(
            422,
            "err.review.gaps_need_note",
            {"note": ["form.err.note_while_gaps"]},
        )
    visit.reviewed_at = utcnow()
    visit.reviewed_by_id = by.id
    visit.review_note = note
    return visit


def review_queue_query():
    """Finished visits not yet reviewed, the longest waiting first (indexed, see the model)."""
    return (
        db.select(Visit)
        .where(Visit.reviewed_at.is_(None), Visit.finished_at.is_not(None))
        .order_by(Visit.finished_at, Visit.id)
    )


def _by_visit(model, visit_ids: list[int], *order, where=()) -> dict[int, list]:
    """Load one kind of record for many visits in one query, grouped by visit."""
    grouped: dict[int, list] = defaultdict(list)
    query = db.select(model).where(model.visit_id.in_(visit_ids), *where).order_by(*order)
    for row in db.session.scalars(query):
        grouped[row.visit_id].append(row)
    return grouped


def gaps_of_visits(visits: list[Visit], book: PriceBook | None = None) -> dict[int, list[Gap]]:
    """Return what each visit lacks, as `review_visit` finds it, loading a kind per query.

    A queue page checks its visits at once: about a dozen queries whatever its length, instead
    of a dozen for each line.
    """
    ids = [v.id for v in visits]
    if not ids:
        return {}
    template = _active_template()
    entries = _by_visit(ChecklistEntry, ids, ChecklistEntry.item_id)
    parts = _by_visit(PartEvent, ids, PartEvent.received_at, PartEvent.id)
    waivers = _by_visit(ChargeWaiver, ids, ChargeWaiver.received_at)
    payments = _by_visit(Payment, ids, Payment.received_at, Payment.id)
    voids = {
        v.payment_id: v
        for rows in _by_visit(PaymentVoid, ids, PaymentVoid.received_at).values()
        for v in rows
    }
    receipts = _by_visit(EquipmentReceipt, ids, EquipmentReceipt.received_at)
    signoffs = _by_visit(SignOff, ids, SignOff.received_at, SignOff.id)
    feedback = _by_visit(Feedback, ids, Feedback.received_at)
    damages = _by_visit(DamageRecord, ids, DamageRecord.received_at)
    conflicts = _by_visit(Conflict, ids, Conflict.created_at, Conflict.id)
    problems = _by_visit(
        SyncOperation,
        ids,
        SyncOperation.received_at,
        SyncOperation.id,
        where=(SyncOperation.status.in_(PROBLEM_STATUSES),),
    )
    gaps = {}
    for visit in visits:
        vid = visit.id
        paid = [(p, voids.get(p.id)) for p in payments[vid]]
        charges = visit_charges(visit, parts[vid], waivers[vid], paid, book)
        facts = facts_for(
            visit,
            _checklist_rows(template, entries[vid]),
            charges,
            signoffs[vid],
            feedback[vid],
            damages[vid],
            receipts[vid],
            conflicts[vid],
            problems[vid],
        )
        gaps[vid] = visit_gaps(facts)
    return gaps


def visits_to_review(page: int, per_page: int) -> tuple[int, list[tuple[Visit, list[Gap]]]]:
    """Return how many visits await review and one page of them, each with what it lacks.

    Only the page shown is checked: the count comes from the index, not from checking all.
    """
    query = review_queue_query()
    total = count_rows(query)
    visits = db.session.scalars(
        query.options(
            selectinload(Visit.request).selectinload(ServiceRequest.customer),
            selectinload(Visit.request).selectinload(ServiceRequest.equipment),
            selectinload(Visit.engineer),
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    book = load_price_book()  # one read of the price lists for the whole queue
    gaps = gaps_of_visits(list(visits), book)
    return total, [(v, gaps[v.id]) for v in visits]
