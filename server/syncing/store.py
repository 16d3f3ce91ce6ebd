"""The sync engine's Store, on SQLAlchemy: the engine's records mapped onto Onsite's tables.

Every call runs inside the request's transaction; the view commits once the engine has returned,
so an op's effects, its op record and the device's last_seq commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from server.accounts.models import Device
from server.accounts.operations import outbox_report_values
from server.bulk import insert_rows
from server.domain.completeness import is_finished
from server.domain.sla import visit_arrival_due
from server.extensions import db
from server.feed import changes
from server.feed.defaults import past_epoch_key
from server.feed.models import ServerState, SyncChange, SyncCounter, SyncOperation
from server.finance.charges import visit_business_day, visit_warranty
from server.register.models import ServiceRequest
from server.register.snapshots import visit_snapshot
from server.visits.field_models import (
    Blob,
    BlobLoss,
    ChargeWaiver,
    ChecklistEntry,
    Conflict,
    DamageRecord,
    EquipmentReceipt,
    Feedback,
    PartEvent,
    Payment,
    PaymentPromise,
    PaymentVoid,
    SignOff,
)
from server.visits.models import RevokeNotice, Visit, VisitAssignment
from sync import hlc
from sync.engine import KIND_RECORD, MERGED_RECORDS, Rejection
from sync.limits import INT32_MAX, storable
from sync.ops import ITEM_ID_RE, UUID_RE
from sync.store import Change, ConflictRecord, DeviceState, Key, OpRecord, Record

# The engine's insert-only and LWW record kinds, and the table each lives in.
ENTITY_MODELS: dict[str, type] = {
    "checklist_item": ChecklistEntry,
    "part_event": PartEvent,
    "payment": Payment,
    "payment_void": PaymentVoid,
    "charge_waiver": ChargeWaiver,
    "equipment_receipt": EquipmentReceipt,
    "damage": DamageRecord,
    "feedback": Feedback,
    "signoff": SignOff,
    "payment_promise": PaymentPromise,
}
# Engine field name -> column name, where they differ.
RENAMED = {"part_event": {"reverses": "reverses_id"}}
# Visit fields the engine may write (its own names), and the column each maps to.
VISIT_WRITABLE = {
    "status": "status",
    "outcome_summary": "outcome_summary",
    "explanation": "explanation",
    "late_reason": "late_reason",
    "customer_informed": "customer_informed",
    "permission_granted": "permission_granted",
    "escalate": "escalate",
    "arrived_hlc": "arrived_hlc",
    "arrived_device_time": "arrived_device_time",
}


def ms_to_datetime(ms: int) -> datetime:
    """Turn Unix milliseconds into an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def datetime_to_ms(value: datetime) -> int:
    """Turn an aware datetime into Unix milliseconds."""
    return int(value.timestamp() * 1000)


def visit_terms(visit: Visit) -> dict[str, Any]:
    """Return the charge terms of a visit: warranty on its day, the fee due, parts charged."""
    day = visit_business_day(visit)
    status = visit_warranty(visit, day)
    # S2: in warranty nothing is charged; S3: inspection is free, parts at cost, fee on site.
    fee = 0 if status.in_warranty or visit.inspection_only else (visit.onsite_fee_fen or 0)
    return {
        "warranty_day": day.isoformat(),
        "in_warranty": status.in_warranty,
        "fee_fen": fee,
        "parts_charged": not status.in_warranty,
    }


def visit_record(visit: Visit) -> Record:
    """Return a visit as the engine reads it and as phones receive it."""
    record = visit_snapshot(visit)
    record.update(visit_terms(visit))
    record["arrived_hlc"] = visit.arrived_hlc
    record["arrived_device_time"] = visit.arrived_device_time
    record["arrived_received_ms"] = datetime_to_ms(visit.arrived_at) if visit.arrived_at else None
    record["arrival_due_ms"] = arrival_due_ms(visit)
    return record


def arrival_due_ms(visit: Visit) -> int | None:
    """Return when arriving becomes late (S16), for the engine's rule; see visit_arrival_due."""
    request = visit.request
    due = visit_arrival_due(
        visit.window_start,
        visit.window_end,
        request.received_at,
        request.needs_visit,
        first_visit=request.first_arrival_at is None,  # a later visit no longer runs S5b
    )
    return datetime_to_ms(due) if due else None


class BatchAborted(Exception):
    """A batched push cannot be finished as a batch; the caller redoes it op by op."""


class SqlStore:
    """The Store protocol over the app's database session, for one device's request."""

    def __init__(self, user_id: int | None, batched: bool = False) -> None:
        self.user_id = user_id
        self.session = db.session
        # Batched: no SAVEPOINT and no flush per op; the caller flushes once at the end and, if
        # that (or an op that fails after writing) goes wrong, redoes the push unbatched.
        self.batched = batched
        self._writes = 0
        # Batched, new rows wait here as plain column values, written by write_batch() with one
        # executemany per table: no ORM object per row. Later puts of the same key edit them.
        self._new_rows: dict[tuple[str, str], dict[str, Any]] = {}
        self._new_ops: list[dict[str, Any]] = []
        self._rows: dict[tuple[str, str], Any] = {}
        self._written: dict[tuple[str, int], dict[str, Record]] = {}
        self._ops_by_seq: dict[tuple[str, int], OpRecord] = {}
        self._ops_by_id: dict[str, OpRecord] = {}
        self._absent_op_ids: set[str] = set()
        # Read-through caches for one push: every write goes through this store, and a
        # rolled-back savepoint clears them, so they always equal the transaction's state.
        self._records: dict[tuple[str, str], Record | None] = {}
        self._for_visit: dict[tuple[str, int], dict[str, Record]] = {}
        self._visit_records: dict[int, Record] = {}
        self._visit_facts: dict[int, _VisitFacts | None] = {}
        self._reassigned: dict[tuple[str, int], tuple[bool, int | None]] = {}
        # Held here because the session's identity map keeps clean objects only weakly: without
        # it, every op's look at its visit would load the row again.
        self._visits: dict[int, Visit | None] = {}
        self._prefixes: dict[str, str | None] = {}
        self._epoch: str | None = None
        self._locked_seq: int | None = None
        self._head: int | None = None
        # What save_device also writes: when the device was seen, its app version, its outbox.
        self._device_report: tuple[int, str | None, dict | None] | None = None

    def _forget(self) -> None:
        self._records.clear()
        self._for_visit.clear()
        self._visit_records.clear()
        self._visits.clear()
        self._reassigned.clear()
        self._visit_facts.clear()
        self._rows.clear()
        self._written.clear()
        self._ops_by_seq.clear()
        self._ops_by_id.clear()
        self._absent_op_ids.clear()

    # --- devices and ops ---

    def lock_device(self, device_id: str) -> DeviceState:
        """Lock the device's row until commit, so two pushes from one device queue up."""
        # One write that reads back: it takes the row lock on PostgreSQL and the write lock on
        # SQLite at once (no upgrade from a stale read), and returns the state it locked, and
        # the server's epoch with it (the push answers with it): one round trip, not two.
        locked = self.session.connection().execute(_LOCK_DEVICE, {"device_id": device_id}).one()
        self._epoch = locked.epoch or "none"
        self._locked_seq = locked.last_seq
        return DeviceState(last_seq=locked.last_seq, last_hlc=locked.last_hlc)

    def report_device(self, seen_ms: int, app_version: str | None, outbox: dict | None) -> None:
        """Have save_device also note when the device pushed, its app version and its outbox."""
        self._device_report = (seen_ms, app_version, outbox)

    def save_device(self, device_id: str, state: DeviceState) -> None:
        """Store the device's last_seq and last_hlc (and what report_device gave), one UPDATE."""
        values: dict[str, Any] = {"last_seq": state.last_seq, "last_hlc": state.last_hlc}
        if self._device_report is not None:
            seen_ms, app_version, outbox = self._device_report
            seen = ms_to_datetime(seen_ms)
            values["last_seen_at"] = seen
            if app_version:
                values["app_version"] = app_version
            values.update(outbox_report_values(outbox, state.last_seq, seen))
        statement = _save_device(tuple(values))
        self.session.connection().execute(statement, {**values, "device_id": device_id})

    _OP_COLUMNS = (
        SyncOperation.device_id,
        SyncOperation.seq,
        SyncOperation.op_id,
        SyncOperation.status,
        SyncOperation.result,
        SyncOperation.raw,
        SyncOperation.received_at,
    )

    def prefetch(self, device_id: str, ops: list[Mapping[str, Any]]) -> None:
        """Load the ops already recorded and the records these ops name, a query per kind.

        Batched, a fresh op (its seq past the device's last) is new by construction: its op id,
        and its record unless the op merges into it (MERGED_RECORDS), are taken as not stored,
        without a query. Should one be stored after all (a phone's bug), the batch's insert
        breaks the table's unique key, and the push is redone op by op, looking everything up.
        """
        if self.batched and self._locked_seq is not None:
            last = self._locked_seq
            fresh = [o for o in ops if _fits_int32(o.get("seq")) and o["seq"] > last]
            ops = [o for o in ops if _fits_int32(o.get("seq")) and o["seq"] <= last]
            self._presume_absent(fresh)
            ops += [o for o in fresh if KIND_RECORD.get(str(o.get("kind"))) in MERGED_RECORDS]
        self._look_up(device_id, ops)

    def _presume_absent(self, fresh: list[Mapping[str, Any]]) -> None:
        for o in fresh:
            if UUID_RE.fullmatch(str(o.get("op_id"))):
                self._absent_op_ids.add(o["op_id"])
            entity = KIND_RECORD.get(str(o.get("kind")))
            record_id = o.get("record_id")
            if entity is not None and entity not in MERGED_RECORDS and isinstance(record_id, str):
                self._records.setdefault((entity, record_id), None)

    def _look_up(self, device_id: str, ops: list[Mapping[str, Any]]) -> None:
        # Only what could be a stored key is looked up: a list as `kind`, or a seq past what the
        # column holds, must reach the op's own rejection, not fail the query.
        op_ids = [o["op_id"] for o in ops if UUID_RE.fullmatch(str(o.get("op_id")))]
        seqs = [o["seq"] for o in ops if _fits_int32(o.get("seq"))]
        if op_ids or seqs:
            found = (
                self.session.connection()
                .execute(_RECORDED_OPS, {"op_ids": op_ids, "device_id": device_id, "seqs": seqs})
                .all()
            )
            for row in found:
                record = self._to_op_record(row)
                self._ops_by_seq[(record.device_id, record.seq)] = record
                if record.op_id is not None:
                    self._ops_by_id[record.op_id] = record
            self._absent_op_ids |= set(op_ids) - set(self._ops_by_id)
        wanted: dict[str, set[str]] = {}
        for o in ops:
            kind = o.get("kind")
            entity = KIND_RECORD.get(kind) if isinstance(kind, str) else None
            record_id = o.get("record_id")
            if entity is not None and isinstance(record_id, str) and _is_key(record_id):
                wanted.setdefault(entity, set()).add(o["record_id"])
        for entity, keys in wanted.items():
            model = ENTITY_MODELS[entity]
            if entity == "checklist_item":
                # Only the items the ops name, by primary key: a visit may hold thousands of
                # rows, and a push's cost must not grow with them.
                items: dict[int, set[str]] = {}
                for k in keys:
                    visit_id, _, item_id = k.partition(":")
                    items.setdefault(int(visit_id), set()).add(item_id)
                named = [(model.visit_id == v) & model.item_id.in_(i) for v, i in items.items()]
                rows = self.session.scalars(select(model).where(or_(*named))).all() if named else []
                loaded = {f"{r.visit_id}:{r.item_id}": r for r in rows}
            else:
                rows = self.session.scalars(select(model).where(model.id.in_(keys))).all()
                loaded = {str(r.id): r for r in rows}
            for key in keys:
                row = loaded.get(key)
                cache_key = (entity, key)
                if row is not None:
                    self._rows[cache_key] = row
                self._records[cache_key] = self._to_record(entity, row) if row else None

    def _op_record(self, where) -> OpRecord | None:
        row = self.session.execute(select(*self._OP_COLUMNS).where(*where)).first()
        return self._to_op_record(row) if row is not None else None

    def _to_op_record(self, row) -> OpRecord:
        return OpRecord(
            device_id=row.device_id,
            seq=row.seq,
            op_id=row.op_id,
            status=row.status,
            result=row.result or {},
            op=row.raw,
            received_ms=datetime_to_ms(row.received_at),
        )

    def op_by_seq(self, device_id: str, seq: int) -> OpRecord | None:
        """Return the op recorded for (device_id, seq)."""
        recorded = self._ops_by_seq.get((device_id, seq))
        if recorded is not None:
            return recorded
        return self._op_record((SyncOperation.device_id == device_id, SyncOperation.seq == seq))

    def op_by_id(self, op_id: str) -> OpRecord | None:
        """Return the op recorded under op_id."""
        recorded = self._ops_by_id.get(op_id)
        if recorded is not None or op_id in self._absent_op_ids:
            return recorded
        return self._op_record((SyncOperation.op_id == op_id,))

    def record_op(self, record: OpRecord) -> None:
        """Store a processed op with its result; the table's unique keys back exactly-once."""
        # Kept as sent, except what no database column can hold (NUL, lone surrogates, NaN,
        # integers past 64 bits): those are replaced, so the office can always show the op. An
        # op that passed validation as sent holds none of them.
        if record.checked:
            raw = record.op
        else:
            raw = storable(record.op if isinstance(record.op, dict) else {"raw": record.op})
        result = storable(record.result)

        def field(name: str, kind: type) -> Any:
            value = raw.get(name)
            return value if isinstance(value, kind) and not isinstance(value, bool) else None

        def text(name: str, limit: int) -> str | None:
            value = field(name, str)
            return value[:limit] if value is not None else None

        def integer(name: str) -> int | None:
            value = field(name, int)
            return value if value is not None and -INT32_MAX <= value <= INT32_MAX else None

        self._ops_by_seq[(record.device_id, record.seq)] = record
        if record.op_id is not None:
            self._ops_by_id[record.op_id] = record
        values = {
            "op_id": record.op_id,
            "device_id": record.device_id,
            "user_id": self.user_id,
            "seq": record.seq,
            "kind": text("kind", 40),
            "record_id": text("record_id", 80),
            "visit_id": integer("visit_id"),
            "hlc": text("hlc", 80),
            "schema_version": integer("schema_version"),
            "raw": raw,
            "device_time": text("device_time", 40),
            "status": record.status,
            "reason": result.get("reason"),
            "result": result,
            "received_at": ms_to_datetime(record.received_ms),
        }
        if self.batched:
            self._new_ops.append(values)
        else:
            self.session.add(SyncOperation(**values))

    def write_batch(self) -> None:
        """Write the batch's new rows: one COPY or executemany per table and column set.

        The caller flushes the session next (updated rows, conflicts) and, if the database
        refuses any of it, rolls back and redoes the push op by op.
        """
        by_table: dict[Any, list[dict[str, Any]]] = {}
        for (entity, _), values in self._new_rows.items():
            by_table.setdefault(ENTITY_MODELS[entity].__table__, []).append(values)
        by_table[SyncOperation.__table__] = self._new_ops
        connection = self.session.connection()
        for table in _tables_in_fk_order():
            rows = by_table.get(table)
            # Rows keep the order their ops came in (a reversal after the event it reverses);
            # one statement per run of rows with the same columns.
            start = 0
            for end in range(1, len(rows or ()) + 1):
                if end == len(rows) or rows[end].keys() != rows[start].keys():
                    insert_rows(connection, table, rows[start:end])
                    start = end
        self._new_rows.clear()
        self._new_ops.clear()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo the block's writes (and its queued feed changes) if it raises.

        A database constraint that refuses a write (a receipt number already used, say) rejects
        the op instead of failing the whole push. Batched, an op that fails before writing
        anything needs no undo; one that fails after writing aborts the batch (BatchAborted).
        """
        pending = self.session.info.setdefault(changes.PENDING, [])
        mark = len(pending)
        if self.batched:
            writes = self._writes
            try:
                yield
            except BaseException:
                if self._writes != writes:
                    raise BatchAborted("an op failed after writing") from None
                raise
            return
        nested = self.session.begin_nested()
        try:
            yield
            self.session.flush()
        except IntegrityError as exc:
            nested.rollback()
            del pending[mark:]
            self._forget()
            raise Rejection(f"refused by the database: {_constraint(exc)}") from None
        except BaseException:
            nested.rollback()
            del pending[mark:]
            self._forget()
            raise
        nested.commit()

    # --- records ---

    def _visit(self, visit_id: int) -> Visit | None:
        if visit_id not in self._visits:
            self._load_visit(visit_id)
        return self._visits[visit_id]

    def _load_visit(self, visit_id: int) -> None:
        # With its register entry and equipment (the record and the charge terms read them).
        self._visits[visit_id] = self.session.execute(_VISIT, {"visit_id": visit_id}).scalar()

    def _facts(self, visit_id: int) -> _VisitFacts | None:
        """What every op on a visit asks of it, in one small query (most ops read no more).

        Whether it exists, its engineer and customer, whether this engineer was ever sent on
        it (may_write) and whether it has any sign-off (else there is none to mark stale, and
        no need to list them). The visit itself, a wide row, is loaded only if an op reads it.
        """
        if visit_id not in self._visit_facts:
            if self.user_id is None:
                row = self.session.connection().execute(_FACTS, {"visit_id": visit_id}).first()
            else:
                params = {"visit_id": visit_id, "engineer_id": self.user_id}
                row = self.session.connection().execute(_FACTS_FOR_ENGINEER, params).first()
            facts = None
            if row is not None:
                assigned = bool(row.assigned) if self.user_id is not None else False
                facts = _VisitFacts(row.engineer_id, row.customer_id, assigned)
                if not row.signed and ("signoff", visit_id) not in self._for_visit:
                    # No sign-off stored: the visit's sign-offs are those this push writes.
                    self._for_visit[("signoff", visit_id)] = dict(
                        self._written.get(("signoff", visit_id), {})
                    )
            self._visit_facts[visit_id] = facts
        return self._visit_facts[visit_id]

    def _row(self, entity: str, key: Key) -> Any:
        cache_key = (entity, str(key))
        if cache_key in self._rows:
            return self._rows[cache_key]
        model = ENTITY_MODELS[entity]
        if entity == "checklist_item":
            visit_id, _, item_id = str(key).partition(":")
            if not (visit_id.isascii() and visit_id.isdigit() and len(visit_id) <= 10):
                return None
            row = self.session.get(model, (int(visit_id), item_id))
        else:
            row = self.session.get(model, str(key))
        if row is not None:
            self._rows[cache_key] = row
        return row

    def _to_record(self, entity: str, row: Any) -> Record:
        renamed = {v: k for k, v in RENAMED.get(entity, {}).items()}
        record: Record = {}
        for column in row.__table__.columns:
            name = column.key
            value = getattr(row, name)
            if name == "received_at":
                record["received_ms"] = datetime_to_ms(value) if value else None
                continue
            if name == "user_id":
                continue
            record[renamed.get(name, name)] = value
        if entity == "checklist_item":
            record["id"] = f"{row.visit_id}:{row.item_id}"
        return record

    def get(self, entity: str, key: Key) -> Record | None:
        """Return the record of entity with that id, or None."""
        if entity == "visit":
            visit = self._visit_ref(int(key))
            return dict(visit) if visit is not None else None
        cache_key = (entity, str(key))
        if cache_key not in self._records:
            row = self._row(entity, key)
            self._records[cache_key] = self._to_record(entity, row) if row is not None else None
        record = self._records[cache_key]
        return dict(record) if record is not None else None

    def _visit_ref(self, visit_id: int) -> Record | None:
        """Return the visit's cached record itself, not a copy (read it, never change it)."""
        if visit_id not in self._visit_records:
            visit = self._visit(visit_id)
            if visit is None:
                return None
            self._visit_records[visit_id] = visit_record(visit)
        return self._visit_records[visit_id]

    def put(self, entity: str, key: Key, data: Record) -> None:
        """Insert the record, or update the given fields of an existing one."""
        if entity == "visit":
            self._put_visit(int(key), data)
            return
        model = ENTITY_MODELS[entity]
        renamed = RENAMED.get(entity, {})
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name == "received_ms":
                values["received_at"] = ms_to_datetime(value)
            elif name == "id" and entity == "checklist_item":
                continue
            else:
                values[renamed.get(name, name)] = value
        cache_key = (entity, str(key))
        known = self._records.get(cache_key)
        self._writes += 1
        new = self._new_rows.get(cache_key)
        if new is not None:
            new.update(values)
            if "device_id" in values:
                new["user_id"] = self.user_id
            self._remember(entity, key, {**(known or {}), **data})
            return
        row = None if cache_key in self._records and known is None else self._row(entity, key)
        if row is None and self.batched:
            self._new_rows[cache_key] = {"user_id": self.user_id, **values}
            merged = {**data}
        elif row is None:
            row = model(user_id=self.user_id, **values)
            self.session.add(row)
            self._rows[cache_key] = row
            merged = {**data}
        else:
            for name, value in values.items():
                setattr(row, name, value)
            if "device_id" in values:
                row.user_id = self.user_id
            merged = {**(known or self._to_record(entity, row)), **data}
        self._remember(entity, key, merged)

    def _remember(self, entity: str, key: Key, merged: Record) -> None:
        """Keep a written record for this push's reads (get, for_visit)."""
        if entity == "checklist_item":
            merged["id"] = str(key)
        self._records[(entity, str(key))] = merged
        visit_id = merged.get("visit_id")
        self._written.setdefault((entity, visit_id), {})[str(key)] = merged
        # Kept up to date rather than dropped: a visit with a sign-off is re-read after every
        # op (the digest covers all its records), and must not be loaded again each time.
        listed = self._for_visit.get((entity, visit_id))
        if listed is not None:
            listed[str(key)] = merged

    def _put_visit(self, visit_id: int, data: Record) -> None:
        visit = self._visit(visit_id)
        if visit is None:
            raise Rejection(f"visit {visit_id} does not exist")
        for name, value in data.items():
            column = VISIT_WRITABLE.get(name)
            if column is not None:
                setattr(visit, column, value)
        if data.get("arrived_hlc") is not None and visit.arrived_at is None:
            # The arrival happened when the phone's (server-corrected, clamped) clock said, not
            # when a signal let it sync: an engineer on time in a basement met S5b.
            wall_ms = hlc.parse(data["arrived_hlc"]).wall_ms
            visit.arrived_at = ms_to_datetime(
                min(wall_ms, data.get("arrived_received_ms") or wall_ms)
            )
            request = visit.request
            # S5b is met by the first arrival on site, whichever visit it was.
            if request.first_arrival_at is None or visit.arrived_at < request.first_arrival_at:
                request.first_arrival_at = visit.arrived_at
        if data.get("status") and is_finished(data["status"]) and visit.finished_at is None:
            # The office's after-visit clocks (review, call-back S12) start when it can know.
            visit.finished_at = datetime.now(UTC)
        self._move_request(visit, data.get("status"))
        self._visit_records.pop(visit_id, None)
        self._writes += 1

    def _move_request(self, visit: Visit, status: str | None) -> None:
        """Carry a visit's progress into its register entry (S29/S30 stay the office's call)."""
        request: ServiceRequest = visit.request
        if status in ("arrived", "in_progress") and request.status in (
            "registered",
            "responded",
            "scheduled",
        ):
            request.status = "in_progress"
        if status == "not_fixed" and visit.escalate:
            request.status = "escalated"

    def for_visit(self, entity: str, visit_id: int) -> list[Record]:
        """Return every record of entity that belongs to the visit."""
        cache_key = (entity, visit_id)
        if cache_key not in self._for_visit:
            model = ENTITY_MODELS[entity]
            rows = self.session.scalars(select(model).where(model.visit_id == visit_id)).all()
            found = {str(r["id"]): r for r in (self._to_record(entity, row) for row in rows)}
            found.update(self._written.get(cache_key, {}))
            self._for_visit[cache_key] = found
        return [dict(r) for r in self._for_visit[cache_key].values()]

    def find(self, entity: str, field: str, value: Any) -> list[Record]:
        """Return the records of entity whose field equals value: this push's own writes and
        the stored rows, read through the field's index (the unique keys of corrections and
        voids), so a correction costs the same on a visit with 5 part events or 10,000."""
        found = {
            key: record
            for (kind, _), written in self._written.items()
            if kind == entity
            for key, record in written.items()
            if record.get(field) == value
        }
        model = ENTITY_MODELS[entity]
        column = getattr(model, RENAMED.get(entity, {}).get(field, field))
        for row in self.session.scalars(select(model).where(column == value)):
            record = self._to_record(entity, row)
            found.setdefault(str(record["id"]), record)
        return [dict(r) for r in found.values()]

    def record_conflict(self, conflict: ConflictRecord) -> None:
        """Keep the value that lost the merge beside the one kept, for the office."""
        self._writes += 1
        self.session.add(
            Conflict(
                visit_id=conflict.visit_id,
                entity=conflict.entity,
                record_id=str(conflict.record_id)[:80],
                kind="merge",
                reason=conflict.reason,
                kept=_jsonable(conflict.kept),
                other=_jsonable(conflict.other),
                op_id=conflict.id,
                device_id=conflict.device_id,
            )
        )

    def record_change(self, change: Change) -> None:
        """Queue a change for the pull feed; it is numbered as the transaction commits."""
        self._writes += 1
        visit_id = change.visit_id
        facts = self._facts(visit_id) if visit_id is not None else None
        customer_id = facts.customer_id if facts is not None else None
        changes.emit(
            self.session(),
            changes.Change(
                entity=change.entity,
                entity_id=str(change.id),
                op=change.op,
                data=_jsonable(change.data),
                visit_id=visit_id,
                customer_id=customer_id,
            ),
        )

    def know_feed_state(self, epoch: str, head: int) -> None:
        """Take the epoch and the feed head as the caller read them (a pull reads them first)."""
        self._epoch, self._head = epoch, head

    def feed_head(self) -> int:
        """Return the counter's committed value: positions up to it belong to finished writers."""
        if self._head is not None:
            return self._head
        return self.session.scalar(select(SyncCounter.value).where(SyncCounter.id == 1)) or 0

    def changes_after(self, scope: Any, position: int, limit: int) -> list[Change]:
        """Return the changes the user (scope: their id) may see after position, in order."""
        rows = (
            self.session.connection()
            .execute(_CHANGES_AFTER, {"user_id": scope, "position": position, "limit": limit})
            .all()
        )
        found: list[Change] = []
        last = position
        for row in rows:
            # In position order; a change that reaches the user two ways comes twice.
            if row.position == last:
                continue
            last = row.position
            found.append(
                Change(
                    entity=row.entity,
                    id=row.entity_id,
                    visit_id=row.visit_id,
                    op=row.op,
                    data=row.data or {},
                    position=row.position,
                )
            )
            if len(found) == limit:
                break
        return found

    def existing_blobs(self, hashes: list[str]) -> set[str]:
        """Return the hashes whose blobs are stored."""
        if not hashes:
            return set()
        return set(self.session.scalars(select(Blob.sha256).where(Blob.sha256.in_(hashes))))

    def lost_blobs(self, hashes: list[str]) -> dict[str, str]:
        """Return the blobs among hashes that a phone gave up as lost, with their reasons."""
        if not hashes:
            return {}
        rows = self.session.execute(
            select(BlobLoss.sha256, BlobLoss.reason).where(BlobLoss.sha256.in_(hashes))
        )
        return {sha: reason for sha, reason in rows}

    def visit_exists(self, visit_id: int) -> bool:
        """Return whether the visit exists."""
        return self._facts(visit_id) is not None

    def may_write(self, device_id: str, visit_id: int) -> bool:
        """Let an engineer record on a visit they are or were sent on (their work is never lost)."""
        facts = self._facts(visit_id)
        return facts is not None and facts.assigned

    def epoch(self) -> str:
        """Return the server's epoch (as the device lock read it, in a push)."""
        if self._epoch is None:
            state = self.session.get(ServerState, "epoch")
            self._epoch = state.value if state is not None else "none"
        return self._epoch

    def reassigned(self, device_id: str, visit_id: int) -> tuple[bool, int | None]:
        """Return whether the visit was taken from this engineer, and when the device heard it."""
        # A push writes neither assignments nor notices: one answer per visit serves all its ops.
        if (device_id, visit_id) not in self._reassigned:
            self._reassigned[(device_id, visit_id)] = self._reassigned_now(device_id, visit_id)
        return self._reassigned[(device_id, visit_id)]

    def _reassigned_now(self, device_id: str, visit_id: int) -> tuple[bool, int | None]:
        facts = self._facts(visit_id)
        if facts is None or facts.engineer_id == self.user_id:
            return False, None
        notice = self.session.get(RevokeNotice, (device_id, visit_id))
        if notice is None or notice.heard_at < _last_unassigned(visit_id, self.user_id):
            return True, None
        return True, datetime_to_ms(notice.heard_at)

    def is_past_epoch(self, epoch: str) -> bool:
        """Return whether epoch was this server's before `onsite new-epoch` replaced it."""
        key = past_epoch_key(epoch)
        return len(key) <= 40 and self.session.get(ServerState, key) is not None

    def receipt_prefix(self, device_id: str) -> str | None:
        """Return the device's own receipt prefix (read once per push)."""
        if device_id not in self._prefixes:
            self._prefixes[device_id] = self.session.scalar(
                select(Device.receipt_prefix).where(Device.id == device_id)
            )
        return self._prefixes[device_id]

    @staticmethod
    def now_ms() -> int:
        """Return the server's clock in Unix milliseconds."""
        return datetime_to_ms(datetime.now(UTC))


_OP = SyncOperation.__table__.c
_RECORDED_OPS = select(
    _OP.device_id, _OP.seq, _OP.op_id, _OP.status, _OP.result, _OP.raw, _OP.received_at
).where(
    or_(
        _OP.op_id.in_(bindparam("op_ids", expanding=True)),
        (_OP.device_id == bindparam("device_id")) & _OP.seq.in_(bindparam("seqs", expanding=True)),
    )
)

_VISIT = (
    select(Visit)
    .options(joinedload(Visit.request).joinedload(ServiceRequest.equipment))
    .where(Visit.id == bindparam("visit_id"))
)


@dataclass(frozen=True, slots=True)
class _VisitFacts:
    engineer_id: int | None
    customer_id: int | None
    assigned: bool  # this store's engineer was ever sent on the visit


_V, _R = Visit.__table__, ServiceRequest.__table__
_FACTS = (
    select(
        _V.c.engineer_id,
        _R.c.customer_id,
        select(SignOff.id).where(SignOff.visit_id == _V.c.id).exists().label("signed"),
    )
    .select_from(_V.outerjoin(_R, _R.c.id == _V.c.request_id))
    .where(_V.c.id == bindparam("visit_id"))
)
_FACTS_FOR_ENGINEER = _FACTS.add_columns(
    select(VisitAssignment.id)
    .where(
        VisitAssignment.visit_id == _V.c.id,
        VisitAssignment.engineer_id == bindparam("engineer_id"),
    )
    .exists()
    .label("assigned")
)


@cache
def _save_device(columns: tuple[str, ...]):
    """The device UPDATE for these columns, built once per set of them (a push's last write)."""
    return (
        update(_DEVICE)
        .where(_DEVICE.c.id == bindparam("device_id"))
        .values({name: bindparam(name) for name in columns})
    )


@cache
def _tables_in_fk_order() -> list:
    """The tables, each after those it refers to (computed once: sorting them is not free)."""
    return db.metadata.sorted_tables


_DEVICE = Device.__table__
_LOCK_DEVICE = (
    update(_DEVICE)
    .where(_DEVICE.c.id == bindparam("device_id"))
    .values(last_seq=_DEVICE.c.last_seq)
    .returning(
        _DEVICE.c.last_seq,
        _DEVICE.c.last_hlc,
        select(ServerState.value)
        .where(ServerState.key == "epoch")
        .scalar_subquery()
        .label("epoch"),
    )
)


def _changes_after():
    """The pull's query: a user's changes after a position, in order (built once).

    A change reaches a device by its visit, by naming the user, by being for everyone, or (with
    no visit) by its customer. Each way is read through its own index, its first `limit` rows
    after the position, and the rows of all four in position order (a change that reaches the
    user two ways comes twice; the caller keeps one). The first `limit` changes the user may
    see are among them, and the cost follows what the user may see, not the other engineers'
    changes the feed took since the cursor (one OR over the feed walks every one of those).
    """
    user_id, position, limit = bindparam("user_id"), bindparam("position"), bindparam("limit")
    change = SyncChange.__table__.c
    my_visits = select(Visit.id).where(Visit.engineer_id == user_id)
    my_customers = (
        select(ServiceRequest.customer_id)
        .join(Visit, Visit.request_id == ServiceRequest.id)
        .where(Visit.engineer_id == user_id)
    )
    ways = (
        change.visit_id.in_(my_visits),
        change.audience_user_id == user_id,
        change.is_global,  # as the partial index states it (ix_sync_change_global_position)
        change.visit_id.is_(None) & change.customer_id.in_(my_customers),
    )
    columns = (
        change.position,
        change.entity,
        change.entity_id,
        change.op,
        change.visit_id,
        change.data,
    )
    firsts = [
        select(
            select(*columns)
            .where(way, change.position > position)
            .order_by(change.position)
            .limit(limit)
            .subquery()
        )
        for way in ways
    ]
    return union_all(*firsts).order_by("position")


_CHANGES_AFTER = _changes_after()


def _last_unassigned(visit_id: int, engineer_id: int | None) -> datetime:
    last = db.session.scalar(
        select(func.max(VisitAssignment.unassigned_at)).where(
            VisitAssignment.visit_id == visit_id, VisitAssignment.engineer_id == engineer_id
        )
    )
    return last if last is not None else datetime.min.replace(tzinfo=UTC)


def note_revokes_heard(
    device_id: str, user_id: int, changes_pulled: list[Change], heard_ms: int
) -> None:
    """Remember when a device first pulled the news that a visit was taken from its engineer.

    heard_ms is the page's server time, whose clock stamp the phone merges: ops it records after
    applying the page are stamped later, and are refused as conflicts (R36). A notice older than
    the visit's latest reassignment belongs to an earlier one and is renewed.
    """
    now = ms_to_datetime(heard_ms)
    for change in changes_pulled:
        if change.entity != "visit" or change.op != "revoke" or not str(change.id).isdigit():
            continue
        visit_id = int(change.id)
        notice = db.session.get(RevokeNotice, (device_id, visit_id))
        if notice is None:
            db.session.add(RevokeNotice(device_id=device_id, visit_id=visit_id, heard_at=now))
        elif notice.heard_at < _last_unassigned(visit_id, user_id):
            notice.heard_at = now


def _fits_int32(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT32_MAX


def _is_key(record_id: str) -> bool:
    """Tell whether a record id can name a stored row (a UUID, or "<visit_id>:<item_id>")."""
    if UUID_RE.fullmatch(record_id):
        return True
    visit, sep, item = record_id.partition(":")
    digits = visit.isascii() and visit.isdigit() and len(visit) <= 10
    # The item goes into the query as a parameter: only what an op may name (no lone surrogate).
    return (
        bool(sep) and digits and _fits_int32(int(visit)) and ITEM_ID_RE.fullmatch(item) is not None
    )


def _constraint(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "receipt_no" in text:
        return "that receipt number is already used by another payment or receipt"
    if "reverses" in text:
        return "that part event was already corrected"
    if "payment_id" in text:
        return "that payment was already voided"
    return "a record with the same key already exists"


# Values a JSON column takes as they are: no call for each (a push makes a change per op).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    """Make a record safe for a JSON column (dates as ISO strings)."""
    if isinstance(value, dict):
        return {k: v if type(v) in _PLAIN else _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if type(v) in _PLAIN else _jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
