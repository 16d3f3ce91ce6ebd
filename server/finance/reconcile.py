"""Reconciliation per engineer and business day (Asia/Shanghai): owed, collected, handed over.

How each figure is attributed to an (engineer, day):

- **Owed** — each attended visit's charges by the rules (`visit_charges`), on the visit's
  business day, to the visit's engineer (or, if the visit has none, to whoever took its money).
- **Collected** — each payment not voided, on *its visit's* business day, to the engineer who
  took it (`payment.user_id`, who holds the money). Using the visit's day, not the day the
  server heard of it, keeps owed and collected of one visit on one day, and makes a payment
  that syncs late land on the day it belongs to: if that day is locked it is an adjustment.
- **Handed over** — each handover (not voided) is spread over the receipts it covers, method by
  method, oldest receipt first, each receipt taking at most its own amount; anything handed
  beyond its receipts goes to the latest covered receipt's day. A shortfall therefore shows on
  the day(s) whose receipts were not paid in, and the day figures add up to the handover.
  A statement line a clerk confirmed is such a handover, of its one receipt.
- **Transferred** — transfers finance recorded (not voided) for the day's visits: money that
  reached the company directly, so no engineer holds it.
- **Promised** — what customers promised on site to pay later and has not yet arrived (each
  promise less its live transfers, never below 0). Promised and transferred money counts
  against owed beside collected: a visit paid later is not the engineer's shortfall. Whether
  the promise is kept is the promises list's business (outstanding, overdue).

A day becomes *reconciled* with the figures it was reconciled with stored in
`DayReconciliation.figures` (with the ids of the rows behind them). From then on the stored
figures are what the day shows; anything that changes later is listed as an adjustment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from server.accounts.auth import FINANCE_SUPERVISOR_ROLES
from server.accounts.models import Device, Role, User
from server.db_types import utcnow
from server.domain.timezone import COMPANY_TZ, business_day, day_bounds_utc
from server.errors import ApiError, Msg
from server.extensions import db
from server.finance import stored_figures as finance_store
from server.finance.audit import record_action
from server.finance.charges import (
    PriceBook,
    VisitCharges,
    explain_visit_charges,
    load_price_book,
    on_business_days,
    visit_business_day,
)
from server.finance.models import (
    DayCheck,
    DayReconciliation,
    Handover,
    HandoverReceipt,
    Transfer,
    day_check_open,
)
from server.register.models import ServiceRequest
from server.visits.field_models import ChargeWaiver, PartEvent, Payment, PaymentPromise, PaymentVoid
from server.visits.models import Visit, VisitStatus, visit_moment

OPEN, RECONCILED, DISPUTED = "open", "reconciled", "disputed"
STATUSES = (OPEN, RECONCILED, DISPUTED)
ATTENDED = {
    VisitStatus.ARRIVED,
    VisitStatus.IN_PROGRESS,
    VisitStatus.COMPLETED,
    VisitStatus.NOT_FIXED,
}
MAX_PERIOD_DAYS = 366
Key = tuple[int, date]
# The figures a day shows, stores when locked, and adds up. Days locked before transferred and
# promised were counted stored none: they read as 0 (`.get`).
FIGURES = ("owed_fen", "collected_fen", "handed_fen", "transferred_fen", "promised_fen")


@dataclass
class Allocation:
    """Part of a handover credited to one receipt (or, for an excess, to no receipt)."""

    handover_id: int
    method: str
    fen: int
    day: date
    engineer_id: int
    payment_id: str | None


@dataclass
class ReceiptLine:
    """A payment as a day shows it: the receipt, its void, and what handovers credited to it."""

    payment: Payment
    day: date
    void: PaymentVoid | None
    handed_fen: int = 0
    handover_ids: list[int] = field(default_factory=list)

    @property
    def counted_fen(self) -> int:
        return 0 if self.void is not None else self.payment.amount_fen


@dataclass
class Adjustment:
    """A change to a locked day after it was reconciled."""

    # late_payment | late_void | moved_out | owed_changed | handed_changed | transfer_changed
    # | promised_changed
    kind: str
    ref: str
    owed_fen: int = 0
    collected_fen: int = 0
    handed_fen: int = 0
    transferred_fen: int = 0
    promised_fen: int = 0
    # For a receipt moved off the day (its visit now falls on another day): where it went.
    moved_to_day: date | None = None
    moved_to_engineer_id: int | None = None


@dataclass
class DayFigures:
    """One engineer's business day: the current figures, what was locked, and the rows behind."""

    engineer_id: int
    day: date
    owed_fen: int = 0
    collected_fen: int = 0
    handed_fen: int = 0
    transferred_fen: int = 0
    promised_fen: int = 0
    # What each attended visit of the day owes, and how many price flags they raised in all.
    owed: dict[int, int] = field(default_factory=dict)
    flag_count: int = 0
    # Each visit with the explanation of its figure: only when computed with `explain`.
    visits: list[tuple[Visit, VisitCharges]] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    # Each promise of the day's visits with what of it has not arrived yet.
    promises: list[tuple[PaymentPromise, int]] = field(default_factory=list)
    receipts: list[ReceiptLine] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    record: DayReconciliation | None = None
    adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.record.status if self.record is not None else OPEN

    @property
    def locked(self) -> bool:
        return self.status == RECONCILED and self.record.figures is not None

    @property
    def shown(self) -> dict[str, int]:
        """The figures the day shows: the locked ones once reconciled, else the current ones."""
        source = self.record.figures if self.locked else self.current
        return {k: source.get(k, 0) for k in FIGURES}

    @property
    def current(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in FIGURES}

    @property
    def collected_minus_owed(self) -> int:
        """What the engineer is short (negative) or over: promised and transferred money is not
        the engineer's to collect, so it counts beside what they collected."""
        return paid_minus_owed(self.shown)

    @property
    def handed_minus_collected(self) -> int:
        return self.shown["handed_fen"] - self.shown["collected_fen"]

    @property
    def adjustment_totals(self) -> dict[str, int]:
        return {k: sum(getattr(a, k) for a in self.adjustments) for k in FIGURES}

    def snapshot(self) -> dict[str, Any]:
        """Return the figures to store when the day is locked, with the ids behind them."""
        handed: dict[str, int] = defaultdict(int)
        for a in self.allocations:
            handed[str(a.handover_id)] += a.fen
        return {
            **self.current,
            "visits": {str(vid): owed for vid, owed in self.owed.items()},
            "payments": {
                r.payment.id: r.payment.amount_fen for r in self.receipts if r.void is None
            },
            "receipt_nos": {r.payment.id: r.payment.receipt_no for r in self.receipts},
            "handed": dict(handed),
            "transfers": {str(t.id): t.amount_fen for t in self.transfers},
            "promises": {p.id: left for p, left in self.promises},
            "locked_at": utcnow().isoformat(),
        }


def paid_minus_owed(figures: dict[str, int]) -> int:
    """Collected, transferred and promised, less owed: the one rule for "collected − owed"."""
    return (
        figures.get("collected_fen", 0)
        + figures.get("transferred_fen", 0)
        + figures.get("promised_fen", 0)
        - figures.get("owed_fen", 0)
    )


# How far before the server got a receipt its phone may say the money was taken.
HELD_SINCE_REACH = timedelta(days=30)


def held_since(payment: Payment) -> datetime:
    """Return when the money was taken: the phone's claim, bounded by the server's receipt.

    A phone clock cannot make money look newer than when the server saw it, nor (a clock years
    off) older than 30 days before that.
    """
    received = payment.received_at
    try:
        claimed = datetime.fromisoformat(payment.device_time) if payment.device_time else None
    except ValueError:
        claimed = None
    if claimed is None or claimed.tzinfo is None:
        return received
    claimed = claimed.astimezone(UTC)
    if received - HELD_SINCE_REACH <= claimed <= received:
        return claimed
    return received


def _attended(visit: Visit, has_payments: bool) -> bool:
    if visit.status == VisitStatus.CANCELLED:
        return False
    return visit.arrived_at is not None or visit.status in ATTENDED or has_payments


def _chunks(items: list, size: int = 500) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _by_visit(model, visit_ids: Select) -> dict[int, list]:
    """Return the model's rows of the visits `visit_ids` selects, by visit.

    One query with the visits' selection as a subquery: a year of visits as thousands of bound
    ids cost more to send and parse than the database's semi-join costs to run.
    """
    rows: dict[int, list] = defaultdict(list)
    for row in db.session.scalars(
        select(model).where(model.visit_id.in_(visit_ids)).order_by(model.received_at, model.id)
    ):
        rows[row.visit_id].append(row)
    return rows


def allocate_handover(
    handover: Handover, covered: list[tuple[Payment, date, bool]], fallback_day: date
) -> list[Allocation]:
    """Spread a handover over the receipts it covers (see the module docstring).

    `covered` holds (payment, its day, voided); a voided receipt takes nothing.
    """
    order = sorted(covered, key=lambda c: (c[1], c[0].receipt_no))
    last_day = order[-1][1] if order else fallback_day
    out: list[Allocation] = []
    for line in handover.lines:
        remaining = line.amount_fen
        same_method = [c for c in order if c[0].method == line.method and not c[2]]
        for payment, day, _ in same_method:
            take = min(remaining, payment.amount_fen)
            if take > 0:
                out.append(
                    Allocation(
                        handover.id, line.method, take, day, handover.engineer_id, payment.id
                    )
                )
            remaining -= take
        if remaining > 0:
            day = same_method[-1][1] if same_method else last_day
            out.append(
                Allocation(handover.id, line.method, remaining, day, handover.engineer_id, None)
            )
    return out


def compute_days(
    start: date,
    end: date,
    engineer_id: int | None = None,
    book: PriceBook | None = None,
    *,
    explain: bool = False,
) -> dict[Key, DayFigures]:
    """Compute every (engineer, day) with any money or attended visit in [start, end].

    Each visit's owed figure is the one stored on it (`finance_store` keeps it as
    `explain_visit_charges` computes it); with `explain`, every visit is priced again and kept
    with its explanation (`DayFigures.visits`), as a single day's page shows it.
    """
    if end < start:
        raise ApiError(422, "err.period.order", {"to": ["form.err.before_from"]})
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ApiError(
            422, "err.period.too_long", {"to": [Msg("form.err.at_most_days", days=MAX_PERIOD_DAYS)]}
        )
    lo, _ = day_bounds_utc(start)
    _, hi = day_bounds_utc(end)
    where = [on_business_days(Visit.business_day.between(start, end), lo, hi)]
    recent = select(Handover.id).where(Handover.received_at >= lo, Handover.received_at < hi)
    records = select(DayReconciliation).where(
        DayReconciliation.business_day >= start, DayReconciliation.business_day <= end
    )
    if engineer_id is not None:
        paid_by = select(Payment.visit_id).where(Payment.user_id == engineer_id)
        where.append(or_(Visit.engineer_id == engineer_id, Visit.id.in_(paid_by)))
        recent = recent.where(Handover.engineer_id == engineer_id)
        records = records.where(DayReconciliation.engineer_id == engineer_id)

    def wanted(key: Key) -> bool:
        return start <= key[1] <= end and engineer_id in (None, key[0])

    return _compute(where, recent, records, wanted, book, explain)


def compute_keys(keys: Iterable[Key], *, explain: bool = False) -> dict[Key, DayFigures]:
    """Compute the given (engineer, day)s only, wherever they fall in the year.

    The visits are chosen by their stored business day (and, for any not stored yet, by the
    span of the days), then only the figures of the given keys are kept: a page of the
    backlog costs its own days, not the year they are spread over.
    """
    wanted_keys = set(keys)
    if not wanted_keys:
        return {}
    days = sorted({d for _, d in wanted_keys})
    engineers = sorted({e for e, _ in wanted_keys})
    lo, _ = day_bounds_utc(days[0])
    _, hi = day_bounds_utc(days[-1])
    on_days = on_business_days(Visit.business_day.in_(days), lo, hi)
    paid_by = select(Payment.visit_id).where(Payment.user_id.in_(engineers))
    where = [
        on_days,
        or_(
            Visit.engineer_id.in_(engineers),
            Visit.engineer_id.is_(None),
            Visit.id.in_(paid_by),
        ),
    ]
    recent = select(Handover.id).where(
        Handover.received_at >= lo,
        Handover.received_at < hi,
        Handover.engineer_id.in_(engineers),
    )
    records = select(DayReconciliation).where(
        DayReconciliation.business_day.in_(days), DayReconciliation.engineer_id.in_(engineers)
    )
    return _compute(where, recent, records, wanted_keys.__contains__, None, explain)


def _compute(
    where: list,
    recent_handovers: Select,
    records: Select,
    wanted: Callable[[Key], bool],
    book: PriceBook | None,
    explain: bool,
) -> dict[Key, DayFigures]:
    """Attribute the chosen visits' money to (engineer, day)s; keep the `wanted` ones."""
    query = select(Visit).where(*where).order_by(visit_moment(), Visit.id)
    if explain:
        query = query.options(selectinload(Visit.request).selectinload(ServiceRequest.equipment))
    visits = list(db.session.scalars(query))
    visit_ids = select(Visit.id).where(*where)
    # Only visits to be priced here need their rows: all of them to explain, else those whose
    # figure is not stored (yet, or while a price-list edit reprices them).
    unpriced = (
        visit_ids
        if explain
        else visit_ids.where(or_(Visit.owed_fen.is_(None), Visit.charge_flags.is_(None)))
    )
    needs_rows = explain or any(v.owed_fen is None or v.charge_flags is None for v in visits)
    parts = _by_visit(PartEvent, unpriced) if needs_rows else {}
    waivers = _by_visit(ChargeWaiver, unpriced) if needs_rows else {}
    payments = _by_visit(Payment, visit_ids)
    payments_q = select(Payment.id).where(Payment.visit_id.in_(visit_ids))
    voids = _voids_in(payments_q)
    promised, transfers = _money_off_site(visit_ids)

    days: dict[Key, DayFigures] = {}

    def day_of(key: Key) -> DayFigures:
        if key not in days:
            days[key] = DayFigures(engineer_id=key[0], day=key[1])
        return days[key]

    receipt_lines: dict[str, ReceiptLine] = {}
    for visit in visits:
        vday = visit.business_day or visit_business_day(visit)
        vpayments = payments.get(visit.id, [])
        for p in vpayments:
            if not wanted((p.user_id, vday)):
                continue
            line = ReceiptLine(p, vday, voids.get(p.id))
            receipt_lines[p.id] = line
            fig = day_of((p.user_id, vday))
            fig.receipts.append(line)
            fig.collected_fen += line.counted_fen
        # Money promised or transferred for a visit says the engineer was there, as a payment does.
        has_money = bool(vpayments) or visit.id in promised or visit.id in transfers
        if not _attended(visit, has_money):
            continue
        owner = visit.engineer_id or (vpayments[0].user_id if vpayments else None)
        if owner is None or not wanted((owner, vday)):
            continue
        fig = day_of((owner, vday))
        if explain or visit.owed_fen is None or visit.charge_flags is None:
            book = book or load_price_book()
            vc = explain_visit_charges(
                visit,
                book=book,
                part_events=parts.get(visit.id, []),
                waivers=waivers.get(visit.id, []),
            )
            owed, flags = vc.charges.total_fen, len(vc.flags)
            if explain:
                fig.visits.append((visit, vc))
        else:
            owed, flags = visit.owed_fen, visit.charge_flags
        fig.owed[visit.id] = owed
        fig.owed_fen += owed
        fig.flag_count += flags

    _add_money_off_site(visits, payments, promised, transfers, wanted, day_of)

    held = {p.id: p for vpayments in payments.values() for p in vpayments}
    known = {
        p.id: (visit.business_day or visit_business_day(visit), p.id in voids)
        for visit in visits
        for p in payments.get(visit.id, [])
    }
    for alloc in _allocations_touching(payments_q, recent_handovers, held, known):
        if not wanted((alloc.engineer_id, alloc.day)):
            continue
        fig = day_of((alloc.engineer_id, alloc.day))
        fig.allocations.append(alloc)
        fig.handed_fen += alloc.fen
        if alloc.payment_id in receipt_lines:
            line = receipt_lines[alloc.payment_id]
            line.handed_fen += alloc.fen
            if alloc.handover_id not in line.handover_ids:
                line.handover_ids.append(alloc.handover_id)

    for record in db.session.scalars(records):
        key = (record.engineer_id, record.business_day)
        if wanted(key):
            day_of(key).record = record
    for fig in days.values():
        fig.receipts.sort(key=lambda r: r.payment.receipt_no)
        if fig.locked:
            fig.adjustments = _adjustments(fig)
    return dict(sorted(days.items(), key=lambda kv: (kv[0][1], kv[0][0])))


def _money_off_site(
    visit_ids: Select,
) -> tuple[dict[int, list[PaymentPromise]], dict[int, list[Transfer]]]:
    """Return the promises and live transfers of the visits `visit_ids` selects, by visit."""
    promised: dict[int, list[PaymentPromise]] = defaultdict(list)
    transfers: dict[int, list[Transfer]] = defaultdict(list)
    for p in db.session.scalars(
        select(PaymentPromise).where(PaymentPromise.visit_id.in_(visit_ids))
    ):
        promised[p.visit_id].append(p)
    for t in db.session.scalars(
        select(Transfer)
        .where(Transfer.visit_id.in_(visit_ids), Transfer.voided_at.is_(None))
        .order_by(Transfer.id)
    ):
        transfers[t.visit_id].append(t)
    return dict(promised), dict(transfers)


def _add_money_off_site(
    visits: list[Visit],
    payments: dict[int, list[Payment]],
    promised: dict[int, list[PaymentPromise]],
    transfers: dict[int, list[Transfer]],
    wanted: Callable[[Key], bool],
    day_of,
) -> None:
    """Put each visit's transfers and outstanding promises on its owner's business day."""
    by_id = {v.id: v for v in visits}
    for vid in sorted(set(promised) | set(transfers)):
        visit = by_id[vid]
        if visit.status == VisitStatus.CANCELLED:
            continue  # owes nothing, so nothing of it is paid later
        vpayments = payments.get(vid, [])
        owner = (
            visit.engineer_id
            or (vpayments[0].user_id if vpayments else None)
            or next((p.user_id for p in promised.get(vid, [])), None)
        )
        vday = visit.business_day or visit_business_day(visit)
        if owner is None or not wanted((owner, vday)):
            continue
        fig = day_of((owner, vday))
        for t in transfers.get(vid, []):
            fig.transfers.append(t)
            fig.transferred_fen += t.amount_fen
        for p in sorted(promised.get(vid, []), key=lambda p: p.id):
            arrived = sum(t.amount_fen for t in transfers.get(vid, []) if t.promise_id == p.id)
            left = max(0, p.amount_fen - arrived)
            fig.promises.append((p, left))
            fig.promised_fen += left


def _voids_in(payment_ids: Select) -> dict[str, PaymentVoid]:
    """Return the voids of the payments `payment_ids` selects, by payment."""
    query = select(PaymentVoid).where(PaymentVoid.payment_id.in_(payment_ids))
    return {v.payment_id: v for v in db.session.scalars(query)}


def _voids_of(payment_ids: list[str]) -> dict[str, PaymentVoid]:
    voids: dict[str, PaymentVoid] = {}
    for chunk in _chunks(payment_ids):
        for v in db.session.scalars(select(PaymentVoid).where(PaymentVoid.payment_id.in_(chunk))):
            voids[v.payment_id] = v
    return voids


def _allocations_touching(
    payment_ids: Select,
    recent_handovers: Select,
    held: dict[str, Payment],
    known: dict[str, tuple[date, bool]],
) -> list[Allocation]:
    """Allocate every live handover that covers one of the payments or is among `recent`.

    A handover that covers only receipts outside the chosen days may still put an excess on
    one of them: those received on the chosen days are passed in as `recent_handovers`.
    `held` are the payments the caller has read already, `known` their days and voidedness.
    """
    covering = select(HandoverReceipt.handover_id).where(
        HandoverReceipt.payment_id.in_(payment_ids)
    )
    handover_ids = set(db.session.scalars(covering.union(recent_handovers)))
    handovers = [h for h in _load_handovers(sorted(handover_ids), held) if not h.is_void]
    return allocate_many(handovers, known)


def _load_handovers(ids: list[int], held: dict[str, Payment] | None = None) -> list[Handover]:
    """Load handovers with their lines and receipts, each receipt with its payment.

    The payments the caller `held` already are given to their receipts; only the others are
    read, in one query.
    """
    rows: list[Handover] = []
    for chunk in _chunks(ids):
        rows.extend(
            db.session.scalars(
                select(Handover)
                .options(selectinload(Handover.lines), selectinload(Handover.receipts))
                .where(Handover.id.in_(chunk))
            )
        )
    payments = dict(held or {})
    missing = sorted({r.payment_id for h in rows for r in h.receipts} - set(payments))
    for chunk in _chunks(missing):
        payments.update(
            (p.id, p) for p in db.session.scalars(select(Payment).where(Payment.id.in_(chunk)))
        )
    for handover in rows:
        for receipt in handover.receipts:
            set_committed_value(receipt, "payment", payments[receipt.payment_id])
    return rows


def allocate_for(handover: Handover) -> list[Allocation]:
    """Allocate one handover over its covered receipts, loading their days and voids."""
    return allocate_many([handover])


def allocate_many(
    handovers: list[Handover], known: dict[str, tuple[date, bool]] | None = None
) -> list[Allocation]:
    """Allocate handovers, loading the days and voids of their receipts not `known` at once."""
    covered_payments = [r.payment for h in handovers for r in h.receipts]
    facts = dict(known or {})
    unknown = [p for p in covered_payments if p.id not in facts]
    if unknown:
        voids = _voids_of([p.id for p in unknown])
        visits: dict[int, Visit] = {}
        for chunk in _chunks(sorted({p.visit_id for p in unknown})):
            visits.update(
                (v.id, v) for v in db.session.scalars(select(Visit).where(Visit.id.in_(chunk)))
            )
        for p in unknown:
            visit = visits[p.visit_id]
            facts[p.id] = (visit.business_day or visit_business_day(visit), p.id in voids)
    out: list[Allocation] = []
    for handover in handovers:
        covered = [(r.payment, *facts[r.payment.id]) for r in handover.receipts]
        out.extend(allocate_handover(handover, covered, business_day(handover.received_at)))
    return out


def _adjustments(fig: DayFigures) -> list[Adjustment]:
    """List what changed on a locked day since it was reconciled."""
    locked = fig.record.figures
    out: list[Adjustment] = []
    locked_payments: dict[str, int] = locked.get("payments", {})
    receipt_nos: dict[str, str] = locked.get("receipt_nos", {})
    now_payments = {r.payment.id: r for r in fig.receipts}
    for pid, line in now_payments.items():
        if line.void is None and pid not in locked_payments:
            out.append(
                Adjustment("late_payment", line.payment.receipt_no, collected_fen=line.counted_fen)
            )
    gone = [pid for pid in locked_payments if pid not in now_payments]
    moved = _moved_payments(gone)
    for pid, amount in locked_payments.items():
        line = now_payments.get(pid)
        if line is not None and line.void is None:
            continue
        if line is None and pid in moved:
            payment, day = moved[pid]
            out.append(
                Adjustment(
                    "moved_out",
                    payment.receipt_no,
                    collected_fen=-amount,
                    moved_to_day=day,
                    moved_to_engineer_id=payment.user_id,
                )
            )
            continue
        ref = line.payment.receipt_no if line else receipt_nos.get(pid, pid)
        out.append(Adjustment("late_void", ref, collected_fen=-amount))
    locked_visits: dict[str, int] = locked.get("visits", {})
    now_visits = {str(vid): owed for vid, owed in fig.owed.items()}
    for vid in sorted(set(locked_visits) | set(now_visits), key=int):
        delta = now_visits.get(vid, 0) - locked_visits.get(vid, 0)
        if delta:
            out.append(Adjustment("owed_changed", vid, owed_fen=delta))
    locked_handed: dict[str, int] = locked.get("handed", {})
    now_handed: dict[str, int] = defaultdict(int)
    for a in fig.allocations:
        now_handed[str(a.handover_id)] += a.fen
    for hid in sorted(set(locked_handed) | set(now_handed), key=int):
        delta = now_handed.get(hid, 0) - locked_handed.get(hid, 0)
        if delta:
            out.append(Adjustment("handed_changed", hid, handed_fen=delta))
    # Days locked before these were stored hold no ids: their totals are compared instead.
    locked_transfers: dict[str, int] = locked.get("transfers", {})
    now_transfers = {str(t.id): t.amount_fen for t in fig.transfers}
    if "transfers" not in locked:
        locked_transfers = {"": locked.get("transferred_fen", 0)}
        now_transfers = {"": fig.transferred_fen}
    for tid in sorted(set(locked_transfers) | set(now_transfers)):
        delta = now_transfers.get(tid, 0) - locked_transfers.get(tid, 0)
        if delta:
            out.append(Adjustment("transfer_changed", tid, transferred_fen=delta))
    locked_promises: dict[str, int] = locked.get("promises", {})
    now_promises = {p.id: left for p, left in fig.promises}
    if "promises" not in locked:
        locked_promises = {"": locked.get("promised_fen", 0)}
        now_promises = {"": fig.promised_fen}
    for pid in sorted(set(locked_promises) | set(now_promises)):
        delta = now_promises.get(pid, 0) - locked_promises.get(pid, 0)
        if delta:
            out.append(Adjustment("promised_changed", pid, promised_fen=delta))
    return out


def _moved_payments(payment_ids: list[str]) -> dict[str, tuple[Payment, date]]:
    """Of payments gone from a locked day, return those not voided with the day they are on now."""
    if not payment_ids:
        return {}
    voided = _voids_of(payment_ids)
    out: dict[str, tuple[Payment, date]] = {}
    for payment, visit in db.session.execute(
        select(Payment, Visit)
        .join(Visit, Visit.id == Payment.visit_id)
        .where(Payment.id.in_(payment_ids))
    ):
        if payment.id not in voided:
            out[payment.id] = (payment, visit_business_day(visit))
    return out


def day_figures(engineer_id: int, day: date) -> DayFigures:
    """Return one engineer's day with each visit's charges explained (empty if nothing happened)."""
    get_engineer(engineer_id)
    days = compute_days(day, day, engineer_id, explain=True)
    return days.get((engineer_id, day)) or DayFigures(
        engineer_id=engineer_id, day=day, record=_record(engineer_id, day)
    )


def _record(engineer_id: int, day: date) -> DayReconciliation | None:
    return db.session.scalar(
        select(DayReconciliation).where(
            DayReconciliation.engineer_id == engineer_id, DayReconciliation.business_day == day
        )
    )


def get_engineer(engineer_id: int) -> User:
    """Return the engineer or raise 404."""
    user = db.session.get(User, engineer_id)
    if user is None or user.role != Role.ENGINEER:
        raise ApiError(
            404,
            "err.finance.no_engineer",
            {"engineer_id": ["form.err.no_such_engineer"]},
            params={"engineer_id": engineer_id},
        )
    return user


def lock_day_record(engineer_id: int, day: date) -> DayReconciliation:
    """Return the day's record, created if need be, row-locked until the transaction ends.

    Two clerks deciding the same day at once: the insert cannot fail (the row may be created by
    either), and the second waits for the first to commit, then reads what the first decided.
    SQLite takes no row locks but serialises writers; the record's version catches a stale write.
    """
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(
        insert(DayReconciliation.__table__)
        .values(engineer_id=engineer_id, business_day=day, status=OPEN, note="", version=1)
        .on_conflict_do_nothing(index_elements=["engineer_id", "business_day"])
    )
    record = db.session.scalars(
        select(DayReconciliation)
        .where(DayReconciliation.engineer_id == engineer_id, DayReconciliation.business_day == day)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    # Also the lock every change to the day's figures takes as it commits: the figures read
    # after it include every such change committed, and later ones decide the day again.
    finance_store.lock_day_checks({(engineer_id, day)})
    return record


def _decided_by(record: DayReconciliation) -> str:
    who = record.decided_by.display_name if record.decided_by else "?"
    at = (
        record.decided_at.astimezone(COMPANY_TZ).strftime("%Y-%m-%d %H:%M")
        if record.decided_at
        else "?"
    )
    return f"{who} ({at})"


def set_day_status(engineer_id: int, day: date, status: str, note: str, user: User) -> DayFigures:
    """Mark a day reconciled (locking its figures), disputed, or open (S23).

    A reconciled day is final until a supervisor reopens it (`reopen_day`): what arrives for it
    later is shown as an adjustment. Reconciling is always an explicit status, never a default.
    """
    if status not in STATUSES:
        choices = ", ".join(STATUSES)
        raise ApiError(
            422, "err.day.choose_status", {"status": [Msg("form.err.one_of", choices=choices)]}
        )
    note = (note or "").strip()
    today = business_day(utcnow())
    if day > today:
        raise ApiError(422, "err.day.future", {"day": ["form.err.day_in_future"]})
    get_engineer(engineer_id)
    record = lock_day_record(engineer_id, day)
    if record.status == RECONCILED:
        if status == RECONCILED:
            message = Msg("err.day.already_locked", by=_decided_by(record))
        else:
            message = Msg("err.day.locked_reopen", by=_decided_by(record))
        raise ApiError(409, message, {"status": [message]})
    fig = day_figures(engineer_id, day)
    fig.record = record
    differs = fig.collected_minus_owed != 0 or fig.handed_minus_collected != 0
    if status == DISPUTED and not note:
        raise ApiError(422, "err.day.dispute_note", {"note": ["form.err.dispute_note"]})
    if status == RECONCILED and not note:
        unsent = phones_not_sent(engineer_id, day)
        if unsent:
            names = ", ".join(d.name for d in unsent)
            message = Msg("err.day.phones_not_sent", names=names)
            raise ApiError(422, message, {"note": [message]})
    if status == RECONCILED and differs and not note:
        raise ApiError(
            422,
            "err.day.figures_differ",
            {"note": ["form.err.figures_differ_note"]},
        )
    previous = record.status or OPEN
    record.status = status
    record.note = note
    record.decided_by_id = user.id
    record.decided_at = utcnow()
    record.figures = fig.snapshot() if status == RECONCILED else None
    _flush_decision()
    finance_store.set_verdict((engineer_id, day), False if status == RECONCILED else None)
    record_action(
        user,
        f"day.{status}",
        f"day:{engineer_id}:{day.isoformat()}",
        previous=previous,
        note=note,
        **fig.current,
    )
    return fig


def reopen_day(engineer_id: int, day: date, reason: str, user: User) -> DayFigures:
    """Reopen a reconciled day (a finance supervisor, with a reason) so it can be redone.

    The figures it was locked with and its adjustments go into the audit log; the day then
    shows its current figures until it is reconciled and locked again.
    """
    if user.role not in FINANCE_SUPERVISOR_ROLES:
        raise ApiError(403, "err.day.reopen_supervisor")
    reason = (reason or "").strip()
    if not reason:
        raise ApiError(422, "err.day.reopen_reason", {"reason": ["form.err.required"]})
    get_engineer(engineer_id)
    record = lock_day_record(engineer_id, day)
    if record.status != RECONCILED:
        message = "err.day.not_locked"
        raise ApiError(409, message, {"status": [message]})
    fig = day_figures(engineer_id, day)
    locked = {k: record.figures.get(k, 0) for k in FIGURES}
    adjustments = [
        {"kind": a.kind, "ref": a.ref, **{k: getattr(a, k) for k in FIGURES}}
        for a in fig.adjustments
    ]
    record.status = OPEN
    record.note = reason
    record.decided_by_id = user.id
    record.decided_at = utcnow()
    record.figures = None
    _flush_decision()
    finance_store.set_verdict((engineer_id, day), None)
    record_action(
        user,
        "day.reopen",
        f"day:{engineer_id}:{day.isoformat()}",
        reason=reason,
        locked=locked,
        adjustments=adjustments,
        **fig.current,
    )
    fig.adjustments = []
    return fig


def _flush_decision() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        # Someone else changed the day since we read it (SQLite, which has no row locks).
        db.session.rollback()
        message = "err.day.changed_meanwhile"
        raise ApiError(409, message, {"status": [message]}) from None


def phones_not_sent(engineer_id: int, day: date) -> list[Device]:
    """Return the engineer's phones that may still hold money of `day`.

    A phone holds unsent payments by its last outbox report, or has not synced since the day
    ended (what it took that day may not have reached the server).
    """
    _, day_end = day_bounds_utc(day)
    return [
        d
        for d in engineer_phones(engineer_id)
        if (d.outbox_unsent_payments or 0) > 0 or d.last_seen_at is None or d.last_seen_at < day_end
    ]


def engineer_phones(engineer_id: int | None = None) -> list[Device]:
    """Return engineers' signed-in phones (not revoked), by engineer then name."""
    query = select(Device).where(Device.revoked_at.is_(None)).order_by(Device.user_id, Device.name)
    if engineer_id is not None:
        query = query.where(Device.user_id == engineer_id)
    return list(db.session.scalars(query))


# Money paid later moving from promised to transferred (or back, a transfer voided) leaves the
# engineer's difference as it was: the promises list follows it, the locked day need not.
_PAID_LATER = {"transfer_changed", "promised_changed"}


def needs_attention(fig: DayFigures) -> bool:
    """A day a clerk still has to close: not locked, or locked with changes since.

    A change that only moves money between promised and transferred is shown on the day but
    does not bring it back: it changes nothing the engineer answers for.
    """
    if fig.status != RECONCILED:
        return True
    if any(a.kind not in _PAID_LATER for a in fig.adjustments):
        return True
    totals = fig.adjustment_totals
    return totals["transferred_fen"] + totals["promised_fen"] != 0


# The overview lists this many of the oldest days needing attention; the rest are counted and
# linked. A clerk closes days one at a time, oldest first: 50 is a sitting's work, and each
# row shown costs its day's figures (at 200, the year's overview took twice as long).
BACKLOG_SHOWN = 50


@dataclass
class Backlog:
    """The oldest days needing attention, and how many more there are from which day on."""

    days: list[DayFigures]
    more: int = 0
    more_from: date | None = None


def backlog(today: date) -> Backlog:
    """Every day still open, disputed or adjusted, whatever its month, oldest first.

    Looks back a year (the longest period the figures are computed for at once): a day older
    than that and still open would be a year-old difference, which the audit already shows.
    Which days to list is read from stored figures (visits' business days, the days' records,
    the verdicts on locked days); only the days shown are computed, a page at a time. The days
    beyond the page are counted without being computed: open and disputed ones always need
    attention, and so does a locked one whose stored verdict says so (or which has none yet).
    """
    start = today - timedelta(days=MAX_PERIOD_DAYS - 1)
    if _days_not_stored(start, today):
        # Visits from before their days were stored (`onsite store-finance` fills them in).
        found = [f for f in compute_days(start, today).values() if needs_attention(f)]
        rest = found[BACKLOG_SHOWN:]
        return Backlog(found[:BACKLOG_SHOWN], len(rest), rest[0].day if rest else None)
    # Every day money touched has a check row (finance_store); those not locked and settled
    # are the candidates: days a clerk decided on are listed as they are, the others only if
    # something is on them (a visit scheduled today has its row before anything happened).
    record = DayReconciliation
    rows = db.session.execute(
        select(DayCheck.engineer_id, DayCheck.business_day, record.status)
        .outerjoin(
            record,
            and_(
                record.engineer_id == DayCheck.engineer_id,
                record.business_day == DayCheck.business_day,
            ),
        )
        .where(DayCheck.business_day >= start, DayCheck.business_day <= today, day_check_open())
    ).all()
    decided = {(e, d) for e, d, status in rows if status is not None}
    undecided = {(e, d) for e, d, status in rows if status is None}
    candidates = sorted(
        decided | (undecided & _activity_keys(undecided)), key=lambda key: (key[1], key[0])
    )
    shown: list[DayFigures] = []
    beyond: list[Key] = []
    done = 0
    while done < len(candidates) and len(shown) < BACKLOG_SHOWN:
        page = candidates[done : done + BACKLOG_SHOWN]
        done += len(page)
        figures = compute_keys(page)
        for key in page:
            fig = figures.get(key)
            if fig is None or not needs_attention(fig):
                continue
            if len(shown) < BACKLOG_SHOWN:
                shown.append(fig)
            else:
                beyond.append(key)
    beyond += candidates[done:]
    return Backlog(shown, len(beyond), beyond[0][1] if beyond else None)


def _days_not_stored(start: date, end: date) -> bool:
    lo, _ = day_bounds_utc(start)
    _, hi = day_bounds_utc(end)
    moment = visit_moment()
    query = select(Visit.id).where(Visit.business_day.is_(None), moment >= lo, moment < hi)
    return db.session.scalar(query.limit(1)) is not None


def _activity_keys(among: Collection[Key]) -> set[Key]:
    """Those of the (engineer, day)s that money or an attended visit is on.

    The same attribution as `_compute`, read from the visits' stored business days: receipts
    to whoever took them, an attended visit to its engineer (a visit without one to whoever
    took or was promised its money), handovers to the days of the receipts they cover.
    """
    if not among:
        return set()
    days = sorted({d for _, d in among})
    in_period = Visit.business_day.in_(days)
    keys: set[Key] = set()

    def add(query: Select) -> None:
        keys.update((engineer_id, day) for engineer_id, day in db.session.execute(query))

    add(
        select(Payment.user_id, Visit.business_day)
        .join(Visit, Visit.id == Payment.visit_id)
        .where(in_period)
        .distinct()
    )
    paid = select(Payment.id).where(Payment.visit_id == Visit.id).exists()
    promised = select(PaymentPromise.id).where(PaymentPromise.visit_id == Visit.id).exists()
    transferred = (
        select(Transfer.id)
        .where(Transfer.visit_id == Visit.id, Transfer.voided_at.is_(None))
        .exists()
    )
    attended = or_(
        Visit.arrived_at.is_not(None),
        Visit.status.in_([str(s) for s in ATTENDED]),
        paid,
        promised,
        transferred,
    )
    not_cancelled = Visit.status != VisitStatus.CANCELLED
    add(
        select(Visit.engineer_id, Visit.business_day)
        .where(in_period, Visit.engineer_id.is_not(None), not_cancelled, attended)
        .distinct()
    )
    add(
        select(PaymentPromise.user_id, Visit.business_day)
        .join(Visit, Visit.id == PaymentPromise.visit_id)
        .where(in_period, Visit.engineer_id.is_(None), not_cancelled, ~paid)
        .distinct()
    )
    add(
        select(Handover.engineer_id, Visit.business_day)
        .join(HandoverReceipt, HandoverReceipt.handover_id == Handover.id)
        .join(Payment, Payment.id == HandoverReceipt.payment_id)
        .join(Visit, Visit.id == Payment.visit_id)
        .where(in_period, Handover.voided_at.is_(None))
        .distinct()
    )
    # A handover that covers no receipt puts its amounts on the day it was received.
    lo, _ = day_bounds_utc(days[0])
    _, hi = day_bounds_utc(days[-1])
    covers = select(HandoverReceipt.handover_id).where(HandoverReceipt.handover_id == Handover.id)
    for engineer_id, received_at in db.session.execute(
        select(Handover.engineer_id, Handover.received_at).where(
            Handover.received_at >= lo,
            Handover.received_at < hi,
            Handover.voided_at.is_(None),
            ~covers.exists(),
        )
    ):
        keys.add((engineer_id, business_day(received_at)))
    return keys & set(among)


@dataclass
class PeriodTotals:
    """Sums over a period, of the figures as shown plus the adjustments to locked days."""

    owed_fen: int = 0
    collected_fen: int = 0
    handed_fen: int = 0
    transferred_fen: int = 0
    promised_fen: int = 0
    adjusted_owed_fen: int = 0
    adjusted_collected_fen: int = 0
    adjusted_handed_fen: int = 0
    adjusted_transferred_fen: int = 0
    adjusted_promised_fen: int = 0
    days: int = 0
    reconciled: int = 0
    disputed: int = 0

    @property
    def collected_minus_owed(self) -> int:
        return paid_minus_owed(
            {k: getattr(self, k) + getattr(self, f"adjusted_{k}") for k in FIGURES}
        )

    @property
    def handed_minus_collected(self) -> int:
        return (self.handed_fen + self.adjusted_handed_fen) - (
            self.collected_fen + self.adjusted_collected_fen
        )


def period_totals(days: Iterable[DayFigures]) -> PeriodTotals:
    """Add up a period's days; adjustments to locked days are kept apart, never folded in."""
    t = PeriodTotals()
    for fig in days:
        shown = fig.shown
        adj = fig.adjustment_totals
        for k in FIGURES:
            setattr(t, k, getattr(t, k) + shown[k])
            setattr(t, f"adjusted_{k}", getattr(t, f"adjusted_{k}") + adj[k])
        t.days += 1
        t.reconciled += fig.status == RECONCILED
        t.disputed += fig.status == DISPUTED
    return t


def chart_series(days: Iterable[DayFigures], start: date, end: date) -> list[dict[str, Any]]:
    """Return collected and handed over per calendar day of the period (all engineers summed)."""
    per_day: dict[date, list[int]] = {}
    d = start
    while d <= end:
        per_day[d] = [0, 0]
        d += timedelta(days=1)
    for fig in days:
        shown, adj = fig.shown, fig.adjustment_totals
        per_day[fig.day][0] += shown["collected_fen"] + adj["collected_fen"]
        per_day[fig.day][1] += shown["handed_fen"] + adj["handed_fen"]
    return [{"day": d, "collected_fen": c, "handed_fen": h} for d, (c, h) in per_day.items()]
