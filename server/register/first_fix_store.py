"""Keep each request's first-time-fix verdict (S19) stored, so reports count it in SQL.

A verdict is read from the request's repair visits and from the other requests for the same
equipment received within 30 days after its first visit. A session hook notes, at each flush,
the requests whose inputs changed, whatever code path wrote them (sync, office forms, the
API): a visit's status, escalation, purpose or times; a request's equipment, channel or time
of receipt, which may turn the verdicts of the earlier requests for its old and new equipment.
As the transaction commits, the noted requests are decided again with `domain/first_fix.py`
and their rows in `request_first_fix` written where they differ.

Two transactions can change one verdict's inputs at once: a visit finishing on one request
while a new request for the same equipment is registered. Each decides under a transaction
lock on the equipment (on the request itself when it names none), taken before it reads, so
the second to take it reads what the first committed. The lock is advisory, not a row lock on
the request, because a transaction that finishes a visit holds that request's row already
(its status moved) and another that registers a repeat would then wait for it in the opposite
order. (PostgreSQL; SQLite runs one writer at a time.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, event, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.domain.completeness import is_finished
from server.domain.first_fix import REPEAT_WINDOW, RepairVisit, Verdict, verdict
from server.errors import ApiError
from server.extensions import changed, db
from server.register.models import Channel, FirstFix, ServiceRequest
from server.visits.models import Visit, VisitStatus, visit_moment

NOTED = "onsite_first_fix_noted"
# Advisory lock spaces (two-key form): a verdict is decided holding its equipment's key, or its
# request's when it names no equipment. Constants the application uses for nothing else.
EQUIPMENT_LOCK = 0x0F1A_2027
REQUEST_LOCK = 0x0F1A_2028
# What a verdict reads of a visit: a change to any of these may turn it. Its status and arrival
# are read too, but matter only as `_may_turn` says: a phone moves a visit through several
# statuses, and only the last of those moves can change a verdict.
VISIT_INPUTS = ("request_id", "visit_no", "purpose", "escalate", "window_start", "created_at")
# A move into or out of these changes whether a visit is over, or whether it counts at all.
DECIDING_STATUSES = frozenset({VisitStatus.COMPLETED, VisitStatus.NOT_FIXED, VisitStatus.CANCELLED})
REQUEST_INPUTS = ("equipment_id", "received_at", "channel")
BATCH = 500

_T = FirstFix.__table__


@dataclass
class _Noted:
    """What a transaction changed that stored verdicts depend on."""

    requests: set[int] = field(default_factory=set)
    # Per equipment, the receipt times of requests that came, went or moved: each may turn the
    # verdicts of the equipment's requests first visited in the 30 days before it.
    arrivals: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))

    def __bool__(self) -> bool:
        return bool(self.requests or self.arrivals)


def _noted(session: Session) -> _Noted:
    return session.info.setdefault(NOTED, _Noted())


def _values(obj: Any, name: str) -> list[Any]:
    """The attribute's values before and after this flush (either may be None)."""
    history = inspect(obj).attrs[name].history
    return [*history.added, *history.unchanged, *history.deleted]


def _note_request(noted: _Noted, request: ServiceRequest, *, all_values: bool) -> None:
    noted.requests.add(request.id)
    if all_values:
        equipment, times = _values(request, "equipment_id"), _values(request, "received_at")
    else:
        equipment, times = [request.equipment_id], [request.received_at]
    for equipment_id in equipment:
        if equipment_id is not None:
            noted.arrivals[equipment_id].extend(t for t in times if t is not None)


def _may_turn(visit: Visit) -> bool:
    """Whether this flush's change to the visit may change its request's verdict."""
    if changed(visit, VISIT_INPUTS):
        return True
    statuses = _values(visit, "status")
    if changed(visit, ("status",)) and DECIDING_STATUSES.intersection(statuses):
        return True
    # A visit's time (its arrival, once it has one) counts only once the visit is over.
    return changed(visit, ("arrived_at",)) and any(is_finished(s) for s in statuses if s)


def _after_flush(session: Session, _context: Any) -> None:
    # Still the flush's own view: `new`, `dirty` and `deleted` as flushed, history not reset.
    for obj in session.new:
        if isinstance(obj, ServiceRequest):
            _note_request(_noted(session), obj, all_values=False)
        elif isinstance(obj, Visit) and obj.request_id is not None:
            _noted(session).requests.add(obj.request_id)
    for obj in session.dirty:
        if isinstance(obj, Visit) and _may_turn(obj):
            _noted(session).requests.update(r for r in _values(obj, "request_id") if r)
        elif isinstance(obj, ServiceRequest) and changed(obj, REQUEST_INPUTS):
            _note_request(_noted(session), obj, all_values=True)
    for obj in session.deleted:
        if isinstance(obj, ServiceRequest):
            _note_request(_noted(session), obj, all_values=True)
        elif isinstance(obj, Visit) and obj.request_id is not None:
            _noted(session).requests.add(obj.request_id)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    # The commit flushes only after its hooks have run: flush now, so what it writes is noted.
    session.flush()
    noted: _Noted | None = session.info.pop(NOTED, None)
    if noted:
        store_noted(session, noted)


def _forget(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.nested or previous_transaction.parent is not None:
        return
    session.info.pop(NOTED, None)


def install() -> None:
    """Hook the verdicts into every flush and commit of every ORM session (idempotent).

    Installed before the finance figures' hook, which puts itself first: so this one runs
    second, and both run before the pull feed is numbered.
    """
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit, insert=True)
        event.listen(Session, "after_soft_rollback", _forget)


# --- deciding ---


def _lock_keys(session: Session, request_ids: Collection[int], equipment: Iterable[int]) -> set:
    keys = {(EQUIPMENT_LOCK, e) for e in equipment}
    for request_id, equipment_id in session.execute(
        select(ServiceRequest.id, ServiceRequest.equipment_id).where(
            ServiceRequest.id.in_(request_ids)
        )
    ):
        keys.add((EQUIPMENT_LOCK, equipment_id) if equipment_id else (REQUEST_LOCK, request_id))
    return keys


def _lock(session: Session, noted: _Noted) -> None:
    """Take the locks the noted verdicts are decided under (PostgreSQL), in one order.

    A request's equipment may have changed in a transaction that committed while we waited:
    its keys are read again once held, until no new one turns up. A new key that sorts before
    one already held would be taken out of order, and two transactions doing that to each other
    deadlock: such a key is only tried, and if another holds it, this transaction gives way
    with a 409 (the phone sends its push again; a clerk saves again).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    held: set = set()
    while True:
        wanted = _lock_keys(session, noted.requests, noted.arrivals) - held
        if not wanted:
            return
        highest = max(held, default=None)
        for space, key in sorted(wanted):
            if highest is None or (space, key) > highest:
                session.execute(_WAIT_FOR_LOCK, {"s": space, "k": key})
            elif not session.scalar(_TRY_LOCK, {"s": space, "k": key}):
                raise ApiError(409, "err.same_moment")
        held |= wanted


_WAIT_FOR_LOCK = text("SELECT pg_advisory_xact_lock(:s, :k)")
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:s, :k)")


def _neighbours(session: Session, noted: _Noted) -> set[int]:
    """Return the requests whose verdict a noted request's receipt time may turn: those for the
    same equipment whose first visit was in the 30 days before it."""
    found: set[int] = set()
    for equipment_id, times in noted.arrivals.items():
        if not times:
            continue
        found.update(
            session.scalars(
                select(_T.c.request_id)
                .join(ServiceRequest, ServiceRequest.id == _T.c.request_id)
                .where(
                    ServiceRequest.equipment_id == equipment_id,
                    _T.c.first_at >= min(times) - REPEAT_WINDOW,
                    _T.c.first_at < max(times),
                )
            )
        )
    return found


def store_noted(session: Session, noted: _Noted) -> None:
    """Decide the noted requests' verdicts again, and those their receipt times may turn."""
    _lock(session, noted)
    store_verdicts(session, noted.requests | _neighbours(session, noted))


# A request's repair visits in order, each with the request's equipment: one read for both.
_REPAIRS = (
    select(
        Visit.request_id,
        ServiceRequest.equipment_id,
        Visit.status,
        Visit.escalate,
        visit_moment().label("at"),
    )
    .join(ServiceRequest, ServiceRequest.id == Visit.request_id)
    .where(
        Visit.request_id.in_(bindparam("ids", expanding=True)),
        Visit.purpose == "repair",
        Visit.status != VisitStatus.CANCELLED,
    )
    .order_by(Visit.request_id, Visit.visit_no)
)


def decide(session: Session, request_ids: Collection[int]) -> dict[int, Verdict | None]:
    """Return each request's verdict as its rows stand now (None: it has none yet)."""
    repairs: dict[int, list[RepairVisit]] = defaultdict(list)
    equipment: dict[int, int] = {}
    rows = session.connection().execute(_REPAIRS, {"ids": list(request_ids)})
    for request_id, equipment_id, status, escalate, at in rows:
        repairs[request_id].append(RepairVisit(status, escalate, at))
        if equipment_id is not None:
            equipment[request_id] = equipment_id
    firsts = {r: visits[0].at for r, visits in repairs.items()}
    others: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    if equipment:
        rows = session.execute(
            select(
                ServiceRequest.equipment_id, ServiceRequest.received_at, ServiceRequest.id
            ).where(
                ServiceRequest.equipment_id.in_(set(equipment.values())),
                ServiceRequest.channel != Channel.RETURN_VISIT,
                ServiceRequest.received_at > min(firsts[r] for r in equipment),
                ServiceRequest.received_at <= max(firsts[r] for r in equipment) + REPEAT_WINDOW,
            )
        )
        for equipment_id, received_at, other_id in rows:
            others[equipment_id].append((received_at, other_id))
    decided: dict[int, Verdict | None] = {}
    for request_id in request_ids:
        came_back = [
            at for at, other in others.get(equipment.get(request_id), ()) if other != request_id
        ]
        decided[request_id] = verdict(repairs.get(request_id, []), came_back)
    return decided


def _upsert(dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_T)
    return statement.on_conflict_do_update(
        index_elements=[_T.c.request_id],
        set_={"first_at": statement.excluded.first_at, "fixed": statement.excluded.fixed},
    )


def store_verdicts(session: Session, request_ids: Collection[int]) -> int:
    """Decide the requests' verdicts and write those that differ from the stored ones.

    Returns how many rows were written or removed.
    """
    ids = sorted(request_ids)
    written = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        stored = {
            row.request_id: Verdict(row.first_at, row.fixed)
            for row in session.execute(select(_T).where(_T.c.request_id.in_(chunk)))
        }
        changed, gone = [], []
        for request_id, now in decide(session, chunk).items():
            if now == stored.get(request_id):
                continue
            if now is None:
                gone.append(request_id)
            else:
                changed.append(
                    {"request_id": request_id, "first_at": now.first_at, "fixed": now.fixed}
                )
        connection = session.connection()
        if changed:
            connection.execute(_upsert(connection.dialect.name), changed)
        if gone:
            connection.execute(delete(_T).where(_T.c.request_id.in_(gone)))
        written += len(changed) + len(gone)
    return written


def store_all(batch: int = BATCH) -> int:
    """Decide every request with a repair visit over that has no verdict stored yet (after a
    bulk load, or the upgrade that brought the table). Returns how many were decided."""
    done, last_id = 0, 0
    while True:
        ids = db.session.scalars(
            select(Visit.request_id)
            .where(
                Visit.request_id > last_id,
                Visit.purpose == "repair",
                Visit.status.in_((VisitStatus.COMPLETED, VisitStatus.NOT_FIXED)),
                ~select(_T.c.request_id).where(_T.c.request_id == Visit.request_id).exists(),
            )
            .group_by(Visit.request_id)
            .order_by(Visit.request_id)
            .limit(batch)
        ).all()
        if not ids:
            return done
        _lock(db.session(), _Noted(requests=set(ids)))
        store_verdicts(db.session(), ids)
        last_id = ids[-1]
        done += len(ids)
        db.session.commit()
