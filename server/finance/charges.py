"""What a visit owes by the rules (S2, S3), priced by the lists in force on the visit's day.

The sync layer and the finance pages both call `charges_for_visit(visit)`; it reads the visit's
rows (parts, waivers, equipment) and the price lists, changes nothing, and leaves the sums to
`server.domain.charges.compute_charges`.

**Which price the owed figure uses** (the phone may have priced a part differently):

- A part is charged at the manufacturer's cost price (S3) from the part price list entry in
  force on the visit's business day. The phone's `unit_cost_fen` is what the engineer showed
  the customer; it may come from a stale offline copy or be typed by hand. Where the two differ
  the line is flagged `part_price_differs` and the owed figure uses **the list**, because the
  list is the company's record of the cost price; the difference then shows up, openly, as
  "collected minus owed" on the engineer's day.
- A part with no list entry for that day is priced at the phone's figure and flagged
  `part_unpriced`: the only price anyone named is better than an invented one.
- The on-site fee (out of warranty, not for an inspection only) comes from the fee schedule
  in force on the day. The visit's own `onsite_fee_fen` (set at dispatch, shown on the phone) is
  compared with it and flagged `fee_differs`; with no schedule for the day the visit's fee is
  used and flagged `fee_unscheduled`.
- Waivers are summed. More waived than charged is capped at the charges and flagged
  `waiver_exceeds_charges` (the rules refuse such a waiver; a reconciliation must still show it).
- The visit's business day is the Shanghai day of its arrival, else of its appointment window,
  else of the visit's creation (`visit_business_day`; `visits.models.visit_moment` is the same
  rule for a SQL filter). Office review, finance, exports, the sync store and the sign-off check
  all use these two functions and `explain_visit_charges`; none of them prices or dates a visit
  itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, String, and_, literal, or_, select, union_all

from server.domain.charges import CHARGED_KINDS, Charges, PartLine, compute_charges
from server.domain.timezone import business_day
from server.domain.warranty import WarrantyStatus, warranty_status
from server.extensions import db
from server.finance.models import FeeRate, PartPrice
from server.visits.field_models import ChargeWaiver, PartEvent
from server.visits.models import Visit, visit_moment


class PartRow(Protocol):
    id: str
    kind: str
    part_code: str
    description: str
    qty: int
    unit_cost_fen: int
    reverses_id: str | None


class WaiverRow(Protocol):
    id: str
    amount_fen: int
    reason: str


@dataclass(frozen=True)
class ChargeFlag:
    """Something finance should look at; `code` is a message key suffix, `params` fill it."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PricedPart:
    """One part event as the owed figure prices it, beside the phone's own price."""

    event_id: str
    kind: str
    part_code: str
    description: str
    qty: int
    phone_unit_fen: int
    list_unit_fen: int | None
    unit_fen: int  # the price the owed figure uses
    price_source: str  # "list" | "phone"
    counts: bool  # False for a correction and for the event it cancels
    charged: bool  # counts, and a kind that is charged (used/replaced)

    @property
    def line_fen(self) -> int:
        return self.qty * self.unit_fen if self.charged else 0


@dataclass(frozen=True)
class VisitCharges:
    """The owed figure of a visit with everything needed to explain it."""

    visit_id: int
    business_day: date
    in_warranty: bool
    warranty_reason: str
    inspection_only: bool
    charges: Charges
    parts: tuple[PricedPart, ...]
    fee_source: str  # "schedule" | "visit"
    schedule_fee_fen: int | None
    visit_fee_fen: int | None
    waivers: tuple[tuple[str, int, str], ...]
    flags: tuple[ChargeFlag, ...]
    # What the phone's prices (its unit costs and the visit's fee) come to, for comparison.
    phone_total_fen: int


@dataclass(frozen=True)
class PriceBook:
    """The fee schedule and part price list, loaded once for many visits."""

    fees: tuple[tuple[date, int], ...]  # sorted by effective_from
    parts: Mapping[str, tuple[tuple[date, int], ...]]

    def fee_on(self, day: date) -> int | None:
        """Return the on-site fee in force on `day`, or None before the first entry."""
        return _in_force(self.fees, day)

    def part_on(self, code: str, day: date) -> int | None:
        """Return the part's cost price in force on `day`, or None if it has none."""
        return _in_force(self.parts.get(code, ()), day)


def _in_force(entries: Sequence[tuple[date, int]], day: date) -> int | None:
    found = None
    for effective_from, value in entries:
        if effective_from <= day:
            found = value
        else:
            break
    return found


def load_price_book() -> PriceBook:
    """Read the whole fee schedule and part price list (both small) from the database."""
    # One statement for both lists: the fee schedule's rows have no part code.
    both = union_all(
        select(literal(None, String).label("code"), FeeRate.effective_from, FeeRate.onsite_fee_fen),
        select(PartPrice.part_code, PartPrice.effective_from, PartPrice.unit_cost_fen),
    ).subquery()
    fees: list[tuple[date, int]] = []
    parts: dict[str, list[tuple[date, int]]] = {}
    for code, day, fen in db.session.execute(select(both).order_by(*both.c)):
        if code is None:
            fees.append((day, fen))
        else:
            parts.setdefault(code, []).append((day, fen))
    return PriceBook(tuple(fees), {k: tuple(v) for k, v in parts.items()})


def visit_business_day(visit: Visit) -> date:
    """Return the Shanghai day a visit belongs to: its arrival, else its window, else its creation.

    The one rule for a visit's day: warranty (S1), prices and reconciliation all use it, and the
    phone computes the same day from the same arrival stamp (the visit's clock stamp, not the
    moment the sync happened to arrive).
    """
    return business_day(visit.arrived_at or visit.window_start or visit.created_at)


def on_business_days(
    stored: ColumnElement[bool], lo: datetime, hi: datetime
) -> ColumnElement[bool]:
    """Visits whose stored business day meets `stored`, or not stored yet, moment in [lo, hi).

    The stored day is indexed; the moment it is taken from is not, and a filter on it reads
    every visit of the year (once for each query that selects by these visits).
    """
    moment = visit_moment()
    return or_(stored, and_(Visit.business_day.is_(None), moment >= lo, moment < hi))


def visit_warranty(visit: Visit, day: date | None = None) -> WarrantyStatus:
    """Return the visit's warranty status on its business day (S1)."""
    equipment = visit.request.equipment if visit.request is not None else None
    return warranty_status(
        equipment.acceptance_date if equipment else None,
        equipment.warranty_months if equipment else None,
        day or visit_business_day(visit),
    )


class PricedVisitRow(Protocol):
    """What the stored figures read of a visit and its equipment, as one row."""

    arrived_at: datetime | None
    window_start: datetime | None
    created_at: datetime
    inspection_only: bool | None
    onsite_fee_fen: int | None
    acceptance_date: date | None  # of the request's equipment, if any
    warranty_months: int | None


def owed_of_visit_row(
    row: PricedVisitRow,
    day: date,
    *,
    book: PriceBook,
    part_sums: Iterable[PartSum],
    waived_fen: int,
) -> tuple[int, int]:
    """Return what `explain_visit_charges` gives as a visit's owed figure and number of flags,
    from one row of the visit with its equipment, its business day (`visit_business_day` of
    the row) and sums of its part events and waivers."""
    status = warranty_status(row.acceptance_date, row.warranty_months, day)
    return owed_from_sums(
        day=day,
        in_warranty=status.in_warranty,
        warranty_reason=status.reason,
        inspection_only=bool(row.inspection_only),
        visit_fee_fen=row.onsite_fee_fen,
        book=book,
        part_sums=part_sums,
        waived_fen=waived_fen,
    )


def price_visit(
    *,
    visit_id: int,
    day: date,
    in_warranty: bool,
    warranty_reason: str,
    inspection_only: bool,
    visit_fee_fen: int | None,
    book: PriceBook,
    part_events: Iterable[PartRow],
    waivers: Iterable[WaiverRow],
) -> VisitCharges:
    """Price a visit from its rows by the rules; pure: no database, no clock."""
    events = list(part_events)
    counted = counted_part_ids(events)
    flags: list[ChargeFlag] = []
    priced: list[PricedPart] = []
    # One look-up per part code: the day is the visit's, whatever the number of events.
    listed: dict[str, int | None] = {}
    for e in events:
        if e.part_code not in listed:
            listed[e.part_code] = book.part_on(e.part_code, day)
        list_fen = listed[e.part_code]
        counts = e.id in counted
        charged_kind = e.kind in CHARGED_KINDS
        # In warranty no part is charged (S2), so a price question does not arise.
        priced_here = counts and charged_kind and not in_warranty
        if list_fen is None:
            unit, source = e.unit_cost_fen, "phone"
            if priced_here:
                flags.append(ChargeFlag("part_unpriced", {"part_code": e.part_code}))
        else:
            unit, source = list_fen, "list"
            if priced_here and list_fen != e.unit_cost_fen:
                flags.append(
                    ChargeFlag(
                        "part_price_differs",
                        {
                            "part_code": e.part_code,
                            "phone_fen": e.unit_cost_fen,
                            "list_fen": list_fen,
                        },
                    )
                )
        priced.append(
            PricedPart(
                event_id=e.id,
                kind=e.kind,
                part_code=e.part_code,
                description=e.description,
                qty=e.qty,
                phone_unit_fen=e.unit_cost_fen,
                list_unit_fen=list_fen,
                unit_fen=unit,
                price_source=source,
                counts=counts,
                charged=counts and charged_kind,
            )
        )

    schedule_fee = book.fee_on(day)
    fee, fee_source, fee_flags = _fee(
        schedule_fee, visit_fee_fen, charged=not in_warranty and not inspection_only
    )
    flags.extend(fee_flags)
    if warranty_reason == "unknown":
        flags.append(ChargeFlag("warranty_unknown"))

    waiver_rows = tuple((w.id, w.amount_fen, w.reason) for w in waivers)
    waived = sum(amount for _, amount, _ in waiver_rows)

    def lines(use_phone: bool) -> list[PartLine]:
        return [
            PartLine(
                p.kind, p.qty, p.phone_unit_fen if use_phone else p.unit_fen, reversed=not p.counts
            )
            for p in priced
        ]

    def total(parts: list[PartLine], fee_fen: int) -> tuple[Charges, bool]:
        gross = compute_charges(in_warranty, parts, fee_fen, inspection_only, 0)
        capped = min(waived, gross.total_fen)
        # Nothing waived: the gross figures are the figures (no second pass over the parts).
        charges = (
            gross
            if capped == 0
            else compute_charges(in_warranty, parts, fee_fen, inspection_only, capped)
        )
        return charges, capped < waived

    charges, over = total(lines(use_phone=False), fee)
    if over:
        flags.append(
            ChargeFlag(
                "waiver_exceeds_charges",
                {"waived_fen": waived, "gross_fen": charges.parts_fen + charges.fee_fen},
            )
        )
    phone, _ = total(lines(use_phone=True), visit_fee_fen or 0)
    return VisitCharges(
        visit_id=visit_id,
        business_day=day,
        in_warranty=in_warranty,
        warranty_reason=warranty_reason,
        inspection_only=inspection_only,
        charges=charges,
        parts=tuple(priced),
        fee_source=fee_source,
        schedule_fee_fen=schedule_fee,
        visit_fee_fen=visit_fee_fen,
        waivers=waiver_rows,
        flags=tuple(flags),
        phone_total_fen=phone.total_fen,
    )


def _fee(
    schedule_fee: int | None, visit_fee_fen: int | None, *, charged: bool
) -> tuple[int, str, list[ChargeFlag]]:
    """Return the fee the owed figure uses, where it came from, and what to flag about it."""
    if schedule_fee is None:
        flags = [ChargeFlag("fee_unscheduled", {"visit_fen": visit_fee_fen or 0})]
        return visit_fee_fen or 0, "visit", flags if charged else []
    flags = []
    if charged and visit_fee_fen is not None and visit_fee_fen != schedule_fee:
        flags.append(
            ChargeFlag("fee_differs", {"visit_fen": visit_fee_fen, "schedule_fen": schedule_fee})
        )
    return schedule_fee, "schedule", flags


def counted_part_ids(events: Sequence[PartRow]) -> set[str]:
    """Return the ids of the part events that count: neither a correction nor corrected by one
    (R20, `sync.merge.live_part_events`). The stored figures' query states the same in SQL."""
    cancelled = {e.reverses_id for e in events if e.reverses_id is not None}
    return {e.id for e in events if e.reverses_id is None and e.id not in cancelled}


@dataclass(frozen=True)
class PartSum:
    """A visit's counted, charged part events (used or replaced, neither a correction nor
    corrected) of one part code at one phone price, summed: what the owed figure needs of them."""

    part_code: str
    phone_unit_fen: int
    qty: int
    events: int


def owed_from_sums(
    *,
    day: date,
    in_warranty: bool,
    warranty_reason: str,
    inspection_only: bool,
    visit_fee_fen: int | None,
    book: PriceBook,
    part_sums: Iterable[PartSum],
    waived_fen: int,
) -> tuple[int, int]:
    """Return what `price_visit` gives as the owed figure and the number of its flags, from
    sums of the visit's rows instead of the rows: a commit stores a visit's figures at a cost
    that does not grow with the number of its part events. Pure: no database, no clock."""
    flags = 0
    lines: list[PartLine] = []
    for s in part_sums:
        list_fen = book.part_on(s.part_code, day)
        if not in_warranty and (list_fen is None or list_fen != s.phone_unit_fen):
            flags += s.events  # part_unpriced or part_price_differs, one per event
        unit = s.phone_unit_fen if list_fen is None else list_fen
        lines.append(PartLine("used", s.qty, unit))
    fee, _, fee_flags = _fee(
        book.fee_on(day), visit_fee_fen, charged=not in_warranty and not inspection_only
    )
    flags += len(fee_flags) + (warranty_reason == "unknown")
    gross = compute_charges(in_warranty, lines, fee, inspection_only, 0)
    capped = min(waived_fen, gross.total_fen)
    flags += capped < waived_fen  # waiver_exceeds_charges
    return gross.total_fen - capped, flags


def explain_visit_charges(
    visit: Visit,
    *,
    book: PriceBook | None = None,
    part_events: Iterable[PartRow] | None = None,
    waivers: Iterable[WaiverRow] | None = None,
) -> VisitCharges:
    """Price a visit from its rows, loading whatever the caller did not pass in."""
    day = visit_business_day(visit)
    status = visit_warranty(visit, day)
    if part_events is None:
        part_events = db.session.scalars(
            select(PartEvent).where(PartEvent.visit_id == visit.id).order_by(PartEvent.received_at)
        ).all()
    if waivers is None:
        waivers = db.session.scalars(
            select(ChargeWaiver)
            .where(ChargeWaiver.visit_id == visit.id)
            .order_by(ChargeWaiver.received_at)
        ).all()
    return price_visit(
        visit_id=visit.id,
        day=day,
        in_warranty=status.in_warranty,
        warranty_reason=status.reason,
        inspection_only=bool(visit.inspection_only),
        visit_fee_fen=visit.onsite_fee_fen,
        book=book or load_price_book(),
        part_events=part_events,
        waivers=waivers,
    )


def charges_for_visit(visit: Visit) -> Charges:
    """Return what the visit owes by the rules, priced by the lists of its business day."""
    return explain_visit_charges(visit).charges
