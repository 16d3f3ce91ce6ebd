"""Keep the figures finance lists read stored, written in the transaction that changes them.

**Per visit** (`visit.owed_fen`, `charge_flags`, `business_day`): what the visit owes by the
rules, how many price flags it raised and its business day, always as
`charges.explain_visit_charges` gives them, so a list of days reads them instead of pricing
every visit per load. A commit computes them with `charges.owed_from_sums` from sums the
database makes of the visit's part events (one row per part code and phone price), not from the
rows themselves. **Per engineer and day** (`finance_day_check.needs_attention`): whether a
reconciled day changed since it was locked in a way a clerk must look at, as
`finance_reconcile.needs_attention` decides, so the overview reads it instead of computing every
locked day of the year.

A session hook notes, at each flush, which rows changed an input, whatever code path wrote them,
and reads the pull feed's queued changes for the field records a batched push writes without
the ORM. As the transaction commits (before the feed is numbered) it prices the noted visits
again and decides the noted days again, under locks, so that two transactions changing inputs
at the same moment cannot leave a figure computed without the other's change:

- A visit is priced with its row locked (`FOR NO KEY UPDATE`: inserts of its parts or payments
  are not blocked) and read again after the lock, so of two writers the second prices it with
  the first one's rows.
- Inputs many visits share -- the price lists, an equipment's warranty, which equipment a
  request is for -- are rare office edits. Their writer takes the pricing lock exclusively and
  prices every visit they reach. Any other pricing takes that lock shared without waiting; if it
  cannot (such an edit is committing at that moment), it stores NULL, which the pages price on
  the fly, rather than a figure that may have missed the edit. (PostgreSQL; SQLite runs one
  writer at a time.)
- A day's verdict is decided with the day's check row locked; a clerk locking the day takes the
  same row lock before reading the figures, so a change and a lock at once are ordered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Date,
    Select,
    String,
    bindparam,
    event,
    exists,
    func,
    inspect,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from server.customers.models import Equipment
from server.domain.charges import CHARGED_KINDS
from server.domain.timezone import business_day, day_bounds_utc
from server.extensions import changed, db
from server.feed import changes
from server.finance.charges import (
    PartSum,
    PriceBook,
    owed_of_visit_row,
    visit_business_day,
)
from server.finance.models import (
    DayCheck,
    DayReconciliation,
    FeeRate,
    Handover,
    HandoverReceipt,
    PartPrice,
    Transfer,
)
from server.register.models import ServiceRequest
from server.visits.field_models import ChargeWaiver, PartEvent, Payment, PaymentPromise, PaymentVoid
from server.visits.models import Visit, visit_moment

NOTED = "onsite_finance_noted"
# Any constant the application uses for nothing else: the pricing lock (PostgreSQL advisory).
PRICING_LOCK = 0x0F1A_2026
# What a visit's price is computed from, of its own columns.
VISIT_PRICE_INPUTS = (
    "arrived_at",
    "window_start",
    "created_at",
    "inspection_only",
    "onsite_fee_fen",
    "request_id",
)
# What else of a visit moves money between days or in and out of them.
VISIT_DAY_INPUTS = ("status", "engineer_id")
# Field records a batched push writes without the ORM, as the feed names them.
FEED_ENTITIES = {"part_event", "charge_waiver", "payment", "payment_void", "payment_promise"}
BATCH = 500

Key = tuple[int, date]


@dataclass
class _Noted:
    """What a transaction changed that the stored figures depend on."""

    visits: set[int] = field(default_factory=set)
    # Engineers a visit had before this transaction moved it to another.
    former_engineers: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    handovers: set[int] = field(default_factory=set)
    requests: set[int] = field(default_factory=set)
    equipment: set[int] = field(default_factory=set)
    fees: set[date] = field(default_factory=set)
    part_prices: set[tuple[str, date]] = field(default_factory=set)

    @property
    def shared(self) -> bool:
        return bool(self.requests or self.equipment or self.fees or self.part_prices)


def _noted(session: Session) -> _Noted:
    return session.info.setdefault(NOTED, _Noted())


def note_visits(session: Session, visit_ids: Iterable[int]) -> None:
    """Note visits whose money changed through a bulk UPDATE, which no flush shows."""
    _noted(session).visits.update(visit_ids)


def _after_flush(session: Session, _context: Any) -> None:
    # Still the flush's own view: `new` and `dirty` as flushed, attribute history not reset.
    noted: _Noted | None = None

    def note() -> _Noted:
        nonlocal noted
        noted = noted or _noted(session)
        return noted

    for obj in session.new:
        if isinstance(obj, Visit):
            note().visits.add(obj.id)
        elif isinstance(
            obj, PartEvent | ChargeWaiver | Payment | PaymentVoid | PaymentPromise | Transfer
        ):
            note().visits.add(obj.visit_id)
        elif isinstance(obj, Handover):
            note().handovers.add(obj.id)
        elif isinstance(obj, FeeRate):
            note().fees.add(obj.effective_from)
        elif isinstance(obj, PartPrice):
            note().part_prices.add((obj.part_code, obj.effective_from))
    for obj in session.dirty:
        if isinstance(obj, Visit):
            if changed(obj, VISIT_PRICE_INPUTS + VISIT_DAY_INPUTS):
                note().visits.add(obj.id)
                former = inspect(obj).attrs.engineer_id.history.deleted
                note().former_engineers[obj.id].update(e for e in former if e is not None)
        elif isinstance(obj, Transfer) and changed(obj, ("voided_at",)):
            note().visits.add(obj.visit_id)
        elif isinstance(obj, Handover) and changed(obj, ("voided_at",)):
            note().handovers.add(obj.id)
        elif isinstance(obj, ServiceRequest) and changed(obj, ("equipment_id",)):
            note().requests.add(obj.id)
        elif isinstance(obj, Equipment) and changed(obj, ("acceptance_date", "warranty_months")):
            note().equipment.add(obj.id)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    # The commit flushes only after its hooks have run: flush now, so what it writes is noted.
    session.flush()
    noted: _Noted = session.info.pop(NOTED, None) or _Noted()
    for change in session.info.get(changes.PENDING, ()):
        if change.entity in FEED_ENTITIES and change.visit_id is not None:
            noted.visits.add(change.visit_id)
    if not (noted.visits or noted.handovers or noted.shared):
        return
    if session is not db.session():
        # The figures are read and written through the app's session: a write through another
        # session would leave them behind, so it is refused rather than let through.
        raise RuntimeError("stored finance figures follow writes through the app's session only")
    store_noted(noted)
    session.flush()
    session.info.pop(NOTED, None)


def _forget(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.nested or previous_transaction.parent is not None:
        return
    session.info.pop(NOTED, None)


def install() -> None:
    """Hook the stored figures into every flush and commit of every ORM session (idempotent).

    The commit hook goes first among the commit hooks: it reads the pull feed's queue, which
    numbering the feed empties.
    """
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit, insert=True)
        event.listen(Session, "after_soft_rollback", _forget)


def store_noted(noted: _Noted) -> None:
    """Price the noted visits again and decide the days they and the handovers touch."""
    visits = set(noted.visits)
    if noted.shared:
        _take_pricing_lock()
        visits |= _reached_by_shared_edits(noted)
    visits |= _covered_visits(noted.handovers)
    keys = _keys_of_visits(store_charges(visits), noted.former_engineers)
    keys |= _keys_of_handovers(noted.handovers)
    decide_days(keys)


# --- per visit ---


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _take_pricing_lock() -> None:
    """Wait for pricings in flight to commit; hold off others until this transaction ends."""
    if _postgres():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PRICING_LOCK})


def _reached_by_shared_edits(noted: _Noted) -> set[int]:
    """Return the visits whose price an edit of a price list, warranty or request may change."""
    found: set[int] = set()
    if noted.requests:
        found.update(
            db.session.scalars(select(Visit.id).where(Visit.request_id.in_(noted.requests)))
        )
    if noted.equipment:
        found.update(
            db.session.scalars(
                select(Visit.id)
                .join(ServiceRequest, ServiceRequest.id == Visit.request_id)
                .where(ServiceRequest.equipment_id.in_(noted.equipment))
            )
        )
    moment = visit_moment()
    for day in noted.fees:
        later = select(FeeRate.effective_from).where(FeeRate.effective_from > day)
        where = [moment >= day_bounds_utc(day)[0]]
        until = db.session.scalar(later.order_by(FeeRate.effective_from).limit(1))
        if until is not None:
            where.append(moment < day_bounds_utc(until)[0])
        found.update(db.session.scalars(select(Visit.id).where(*where)))
    for code, day in noted.part_prices:
        later = select(PartPrice.effective_from).where(
            PartPrice.part_code == code, PartPrice.effective_from > day
        )
        with_part = select(PartEvent.visit_id).where(PartEvent.part_code == code)
        where = [moment >= day_bounds_utc(day)[0], Visit.id.in_(with_part)]
        until = db.session.scalar(later.order_by(PartPrice.effective_from).limit(1))
        if until is not None:
            where.append(moment < day_bounds_utc(until)[0])
        found.update(db.session.scalars(select(Visit.id).where(*where)))
    return found


@dataclass(frozen=True)
class Placed:
    """Where a visit's money is: its engineer and business day, the day stored before, and
    who took or was promised its payments."""

    engineer_id: int | None
    day: date
    former_day: date | None
    takers: frozenset[int] = frozenset()


def store_charges(visit_ids: Collection[int]) -> dict[int, Placed]:
    """Price the visits again, each under its row lock, and store what changed.

    Returns where each visit's money is now, and the business day it was stored under before.
    Two reads a chunk of visits, whatever their number of rows: the visits with their warranty
    inputs (locked), then one union of what pricing needs of their rows and of the price lists.
    """
    if not visit_ids:
        return {}
    placed: dict[int, Placed] = {}
    write = _store_charges_statement()
    ids = sorted(visit_ids)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        visits, may_price = _locked_visits(chunk)
        book, parts, waived, takers = _priced_rows(chunk)
        rows = []
        for visit in visits:
            day = visit_business_day(visit)
            owed = flags = None
            if may_price:
                owed, flags = owed_of_visit_row(
                    visit,
                    day,
                    book=book,
                    part_sums=parts[visit.id],
                    waived_fen=waived.get(visit.id, 0),
                )
            placed[visit.id] = Placed(
                visit.engineer_id, day, visit.business_day, frozenset(takers[visit.id])
            )
            if (visit.owed_fen, visit.charge_flags, visit.business_day) != (owed, flags, day):
                rows.append({"b_id": visit.id, "b_owed": owed, "b_flags": flags, "b_day": day})
                _refresh_loaded(visit.id, owed, flags, day)
        if rows:
            db.session.connection().execute(write, rows)
    return placed


@cache
def _store_charges_statement():
    """The UPDATE that stores a visit's figures, built once (a push's commit runs it)."""
    table = Visit.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            owed_fen=bindparam("b_owed"),
            charge_flags=bindparam("b_flags"),
            business_day=bindparam("b_day"),
            # A stored figure is not an edit of the visit.
            updated_at=table.c.updated_at,
        )
    )


# The two reads of `store_charges`, built once: a push's commit runs them, and building a
# statement of this size costs more CPU than the database takes to answer it.
VISIT_IDS = bindparam("visit_ids", expanding=True)


@cache
def _locked_visits_statement(postgres: bool) -> Select:
    query = (
        select(
            Visit.id,
            Visit.engineer_id,
            Visit.arrived_at,
            Visit.window_start,
            Visit.created_at,
            Visit.inspection_only,
            Visit.onsite_fee_fen,
            Visit.owed_fen,
            Visit.charge_flags,
            Visit.business_day,
            Equipment.acceptance_date,
            Equipment.warranty_months,
        )
        .select_from(Visit)
        .outerjoin(ServiceRequest, ServiceRequest.id == Visit.request_id)
        .outerjoin(Equipment, Equipment.id == ServiceRequest.equipment_id)
        .where(Visit.id.in_(VISIT_IDS))
        .order_by(Visit.id)
        # Locked, then read: a writer that committed while we waited is seen.
        .with_for_update(key_share=True, of=Visit.__table__)
    )
    if postgres:
        # Tried without waiting, in this statement, so the price lists are read after it.
        tried = func.pg_try_advisory_xact_lock_shared(PRICING_LOCK)
        return query.add_columns(tried.label("may_price"))
    return query


def _locked_visits(chunk: list[int]) -> tuple[list[Any], bool]:
    """Lock the visits in id order and read what pricing needs of them and their equipment.

    Also returns whether they may be priced: whether no edit of shared inputs is committing now
    (then prices may be stale, and NULL is stored, which the pages price on the fly).
    """
    postgres = _postgres()
    statement = _locked_visits_statement(postgres)
    visits = list(db.session.connection().execute(statement, {"visit_ids": chunk}))
    return visits, not postgres or all(v.may_price for v in visits)


@cache
def _priced_rows_statement() -> CompoundSelect:
    correction = aliased(PartEvent)
    sums = (
        select(
            PartEvent.visit_id,
            PartEvent.part_code,
            PartEvent.unit_cost_fen,
            func.sum(PartEvent.qty).label("qty"),
            func.count().label("events"),
        )
        .where(
            PartEvent.visit_id.in_(VISIT_IDS),
            PartEvent.kind.in_(CHARGED_KINDS),
            PartEvent.reverses_id.is_(None),
            ~exists().where(correction.reverses_id == PartEvent.id),
        )
        .group_by(PartEvent.visit_id, PartEvent.part_code, PartEvent.unit_cost_fen)
        .cte("part_sums")
    )
    no_day, no_text, no_int = literal(None, Date), literal(None, String), literal(None, BigInteger)

    def tagged(tag: str, visit, code, day, a, b=no_int, c=no_int) -> Select:
        return select(literal(tag).label("tag"), visit, code, day, a, b, c)

    return union_all(
        tagged(
            "part",
            sums.c.visit_id,
            sums.c.part_code,
            no_day,
            sums.c.unit_cost_fen,
            sums.c.qty,
            sums.c.events,
        ).select_from(sums),
        tagged("waived", ChargeWaiver.visit_id, no_text, no_day, func.sum(ChargeWaiver.amount_fen))
        .where(ChargeWaiver.visit_id.in_(VISIT_IDS))
        .group_by(ChargeWaiver.visit_id),
        *(
            tagged("taker", model.visit_id, no_text, no_day, model.user_id).where(
                model.visit_id.in_(VISIT_IDS)
            )
            for model in (Payment, PaymentPromise)
        ),
        tagged("fee", no_int, no_text, FeeRate.effective_from, FeeRate.onsite_fee_fen),
        tagged(
            "price", no_int, PartPrice.part_code, PartPrice.effective_from, PartPrice.unit_cost_fen
        ).where(PartPrice.part_code.in_(select(sums.c.part_code))),
    )


def _priced_rows(
    chunk: list[int],
) -> tuple[PriceBook, dict[int, list[PartSum]], dict[int, int], dict[int, set[int]]]:
    """Read, in one statement, the visits' part sums (of the charged events
    `charges.counted_part_ids` counts, per part code and phone price), their waivers' sums, who
    took or was promised their payments, the fee schedule and the list prices of the part codes
    they hold."""
    parts: dict[int, list[PartSum]] = defaultdict(list)
    waived: dict[int, int] = {}
    takers: dict[int, set[int]] = defaultdict(set)
    fees: list[tuple[date, int]] = []
    prices: dict[str, list[tuple[date, int]]] = defaultdict(list)
    rows = db.session.connection().execute(_priced_rows_statement(), {"visit_ids": chunk})
    for tag, vid, code, day, a, b, c in rows:
        # PostgreSQL sums a bigint as numeric: every figure is made an int again.
        if tag == "part":
            parts[vid].append(PartSum(code, int(a), int(b), int(c)))
        elif tag == "waived":
            waived[vid] = int(a)
        elif tag == "taker":
            takers[vid].add(int(a))
        elif tag == "fee":
            fees.append((day, int(a)))
        else:
            prices[code].append((day, int(a)))
    book = PriceBook(
        tuple(sorted(fees)), {code: tuple(sorted(days)) for code, days in prices.items()}
    )
    return book, parts, waived, takers


def _refresh_loaded(visit_id: int, owed: int | None, flags: int | None, day: date) -> None:
    """Give a visit this session has loaded the figures just stored (they were written by SQL)."""
    visit = db.session.identity_map.get(inspect(Visit).identity_key_from_primary_key((visit_id,)))
    if visit is not None:
        set_committed_value(visit, "owed_fen", owed)
        set_committed_value(visit, "charge_flags", flags)
        set_committed_value(visit, "business_day", day)


def store_all(batch: int = 2000) -> int:
    """Store the figures of every visit that has none yet, and decide undecided locked days.

    For a database filled before the figures were stored (or by bulk SQL): the visits are
    priced, the days money is on get their check rows, and every locked day its verdict.
    Returns how many visits were priced. Commits as it goes.
    """
    # Visits with no day stored mean a database from before the figures were kept.
    upgraded = db.session.scalar(select(Visit.id).where(Visit.business_day.is_(None)).limit(1))
    done = last_id = 0
    while True:
        ids = list(
            db.session.scalars(
                select(Visit.id)
                .where(
                    Visit.id > last_id,
                    or_(
                        Visit.owed_fen.is_(None),
                        Visit.charge_flags.is_(None),
                        Visit.business_day.is_(None),
                    ),
                )
                .order_by(Visit.id)
                .limit(batch)
            )
        )
        if not ids:
            break
        # The days these visits are on get their check rows, as the hook gives a new visit's.
        lock_day_checks(_keys_of_visits(store_charges(ids), {}))
        db.session.commit()
        done += len(ids)
        last_id = ids[-1]
    # Then its handovers' days get their check rows too (later ones get theirs as recorded).
    handovers = (
        list(db.session.scalars(select(Handover.id).order_by(Handover.id)))
        if upgraded is not None
        else []
    )
    for start in range(0, len(handovers), batch):
        lock_day_checks(_keys_of_handovers(handovers[start : start + batch]))
        db.session.commit()
    undecided = db.session.execute(
        select(DayReconciliation.engineer_id, DayReconciliation.business_day)
        .outerjoin(
            DayCheck,
            (DayCheck.engineer_id == DayReconciliation.engineer_id)
            & (DayCheck.business_day == DayReconciliation.business_day),
        )
        .where(DayReconciliation.status == "reconciled", DayCheck.needs_attention.is_(None))
    ).all()
    keys = [tuple(k) for k in undecided]
    for start in range(0, len(keys), batch):
        chunk = set(keys[start : start + batch])
        lock_day_checks(chunk)
        _decide(chunk)
        db.session.commit()
    return done


# --- per engineer and day ---


def _covered_visits(handover_ids: Collection[int]) -> set[int]:
    if not handover_ids:
        return set()
    return set(
        db.session.scalars(
            select(Payment.visit_id)
            .join(HandoverReceipt, HandoverReceipt.payment_id == Payment.id)
            .where(HandoverReceipt.handover_id.in_(handover_ids))
        )
    )


def _keys_of_visits(placed: dict[int, Placed], former_engineers: dict[int, set[int]]) -> set[Key]:
    """Return every (engineer, day) whose figures the visits' money can be on, now or before.

    A visit's owed, transferred and promised figures go to its engineer (or whoever took or was
    promised its money), its payments to whoever took them, on its business day; a visit moved
    to another day or engineer also changes the one it left.
    """
    if not placed:
        return set()
    keys: set[Key] = set()
    for vid, where in placed.items():
        who = (where.takers | {where.engineer_id} | former_engineers.get(vid, set())) - {None}
        when = {where.day, where.former_day} - {None}
        keys.update((e, d) for e in who for d in when)
    return keys


def _keys_of_handovers(handover_ids: Collection[int]) -> set[Key]:
    """Return the (engineer, day)s a handover's amounts are spread over (see allocate_handover)."""
    if not handover_ids:
        return set()
    keys: set[Key] = set()
    for handover in db.session.scalars(select(Handover).where(Handover.id.in_(handover_ids))):
        keys.add((handover.engineer_id, business_day(handover.received_at)))
    keys.update(
        (engineer_id, day)
        for engineer_id, day in db.session.execute(
            select(Handover.engineer_id, Visit.business_day)
            .join(HandoverReceipt, HandoverReceipt.handover_id == Handover.id)
            .join(Payment, Payment.id == HandoverReceipt.payment_id)
            .join(Visit, Visit.id == Payment.visit_id)
            .where(Handover.id.in_(handover_ids), Visit.business_day.is_not(None))
            .distinct()
        )
    )
    return keys


@cache
def _day_check_upsert(postgres: bool):
    if postgres:
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = DayCheck.__table__
    # An update that changes nothing: it takes the row lock of a row that exists (or waits for
    # the transaction that is creating it), where DO NOTHING would take none. What it returns
    # is the row as the lock found it: the verdict of a clerk who locked the day meanwhile.
    return (
        insert(table)
        .on_conflict_do_update(
            index_elements=["engineer_id", "business_day"],
            set_={"needs_attention": table.c.needs_attention},
        )
        .returning(table.c.engineer_id, table.c.business_day, table.c.needs_attention)
    )


def lock_day_checks(keys: Collection[Key]) -> dict[Key, bool | None]:
    """Create the days' check rows if missing and lock them (in key order) until commit.

    Returns each day's verdict as it stands once locked: None for a day not locked (or locked
    before verdicts were kept and not decided yet), else whether it needs attention.
    """
    verdicts: dict[Key, bool | None] = {}
    ordered = sorted(keys)
    upsert = _day_check_upsert(_postgres())
    for start in range(0, len(ordered), BATCH):
        rows = [{"engineer_id": e, "business_day": d} for e, d in ordered[start : start + BATCH]]
        result = db.session.connection().execute(upsert, rows)
        verdicts.update(((e, d), attention) for e, d, attention in result)
    return verdicts


def set_verdict(key: Key, needs_attention: bool | None) -> None:
    """Record a clerk's decision on a day: just locked (False), or not locked any more (None)."""
    table = DayCheck.__table__
    db.session.execute(
        update(table)
        .where(table.c.engineer_id == key[0], table.c.business_day == key[1])
        .values(needs_attention=needs_attention)
    )


def decide_days(keys: Collection[Key]) -> None:
    """Lock the days' check rows and decide again whether each locked one needs attention.

    A day with no verdict is either not locked or not decided yet; the overview computes the
    latter when it shows it, and `store_all` decides it.
    """
    verdicts = lock_day_checks(keys)
    _decide({key for key, verdict in verdicts.items() if verdict is not None})


def _decide(locked: Collection[Key]) -> None:
    """Decide again whether each of these reconciled days needs attention; store the verdicts."""
    if not locked:
        return
    from server.finance.reconcile import compute_keys, needs_attention

    figures = compute_keys(locked)
    table = DayCheck.__table__
    db.session.connection().execute(
        update(table)
        .where(
            table.c.engineer_id == bindparam("b_engineer"),
            table.c.business_day == bindparam("b_day"),
        )
        .values(needs_attention=bindparam("b_attention")),
        [
            {"b_engineer": e, "b_day": d, "b_attention": needs_attention(figures[(e, d)])}
            for e, d in sorted(locked)
        ],
    )
