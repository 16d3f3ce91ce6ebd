"""The sync engine: apply a device's pushed ops exactly once, and page the change feed for pull.

The server calls ``apply_push`` and ``build_pull`` inside one database transaction each, with its
own ``Store``; ``now_ms`` is passed in so the engine never reads a clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sync import hlc, merge
from sync.digest import digest_visit, visit_signoff_view
from sync.limits import RECEIPT_SEQ_DIGITS, REQUEST_LIMITS
from sync.ops import MAX_BATCH, Envelope, Op, ValidationError, parse_op, read_envelope
from sync.store import Change, ConflictRecord, DeviceState, OpRecord, Record, Store
from sync.versions import TooNew, TooOld, upgrade

DEFAULT_PULL_LIMIT = 500
MAX_PULL_LIMIT = REQUEST_LIMITS["pull_limit"]
SNAPSHOT_ENTITIES = (
    "checklist_item",
    "part_event",
    "payment",
    "payment_void",
    "charge_waiver",
    "equipment_receipt",
    "damage",
    "feedback",
    "signoff",
)


class BatchTooLarge(ValueError):
    """A push with more than MAX_BATCH ops; the server answers 413 and applies nothing."""


class CursorError(ValueError):
    """A pull cursor that is not "<epoch>:<position>"; the server answers 400."""


class Rejection(Exception):
    """Raised while applying an op to reject it; the op's partial effects are rolled back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class OpResult:
    """The answer for one op, as the push response carries it."""

    op_id: str | None
    seq: int | None
    status: str  # applied | duplicate | rejected | conflict | retry
    reason: str | None = None
    server_state: Any = None
    missing_blobs: list[str] | None = None
    original: dict[str, Any] | None = None  # for a re-sent op: the result first recorded

    def to_wire(self) -> dict[str, Any]:
        """Return the result as JSON-ready dict, leaving out empty optional fields."""
        out: dict[str, Any] = {"op_id": self.op_id, "seq": self.seq, "status": self.status}
        for name in ("reason", "server_state", "missing_blobs", "original"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True)
class PushResult:
    """The answer to a push: one result per op, in seq order, and where the device stands."""

    epoch: str
    expected_seq: int
    results: list[OpResult]
    hlc: str
    server_time_ms: int

    def to_wire(self) -> dict[str, Any]:
        """Return the push response body."""
        return {
            "epoch": self.epoch,
            "expected_seq": self.expected_seq,
            "results": [r.to_wire() for r in self.results],
            "server_time": iso_utc(self.server_time_ms),
            "hlc": self.hlc,
        }


@dataclass(frozen=True)
class PullPage:
    """One page of the change feed."""

    cursor: str
    has_more: bool
    resync: bool
    changes: list[Change] = field(default_factory=list)
    server_time_ms: int = 0

    def to_wire(self) -> dict[str, Any]:
        """Return the pull response body."""
        return {
            "cursor": self.cursor,
            "has_more": self.has_more,
            "resync": self.resync,
            "changes": [c.to_wire() for c in self.changes],
            "server_time": iso_utc(self.server_time_ms),
            # The phone merges this into its clock: whatever it records after applying the page
            # is stamped later than the page (R36 tells work before a reassignment from after).
            "hlc": hlc.format(self.server_time_ms, 0, hlc.SERVER_NODE),
        }


def iso_utc(ms: int) -> str:
    """Format Unix milliseconds as an ISO 8601 UTC string."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


# --------------------------------------------------------------------------------------------
# push


def apply_push(
    store: Store,
    device_id: str,
    ops: list[Any],
    now_ms: int,
    *,
    max_ahead_ms: int = hlc.DEFAULT_MAX_AHEAD_MS,
    client_epoch: str | None = None,
) -> PushResult:
    """Apply a device's ops in seq order, exactly once, and answer for each.

    The caller has authenticated device_id and commits the transaction after this returns.
    ``client_epoch`` is the epoch the device last heard from the server (R35).
    """
    if len(ops) > MAX_BATCH:
        raise BatchTooLarge(f"a push may carry at most {MAX_BATCH} ops (got {len(ops)})")
    state = store.lock_device(device_id)
    envelopes = [read_envelope(raw) for raw in ops]
    store.prefetch(device_id, [e.raw for e in envelopes if isinstance(e.raw, Mapping)])
    state = _bridge_restore_gap(store, device_id, state, envelopes, client_epoch)
    # An op without a readable seq cannot be placed in the device's sequence, so it is not counted.
    results = [
        OpResult(e.op_id, None, "rejected", "seq: must be an integer >= 1; op not processed")
        for e in envelopes
        if e.seq is None
    ]
    blocked: str | None = None  # once set, every later op waits
    for env in sorted((e for e in envelopes if e.seq is not None), key=lambda e: e.seq):
        assert env.seq is not None
        if env.seq <= state.last_seq:
            results.append(_replayed(store, device_id, env))
        elif blocked is not None:
            results.append(OpResult(env.op_id, env.seq, "retry", blocked))
        elif env.seq > state.last_seq + 1:
            blocked = f"gap: expected seq {state.last_seq + 1}"
            results.append(OpResult(env.op_id, env.seq, "retry", blocked))
        else:
            result, state = _process(store, device_id, state, env, now_ms, max_ahead_ms)
            results.append(result)
            if result.status == "retry":
                blocked = f"waiting for seq {env.seq} to be retried"
    store.save_device(device_id, state)
    return PushResult(
        epoch=store.epoch(),
        expected_seq=state.last_seq + 1,
        results=results,
        hlc=hlc.format(now_ms, 0, hlc.SERVER_NODE),
        server_time_ms=now_ms,
    )


# A device that synced with a server since restored from a backup skips, never waits forever.
def _bridge_restore_gap(
    store: Store,
    device_id: str,
    state: DeviceState,
    envelopes: list[Envelope],
    client_epoch: str | None,
) -> DeviceState:
    """Accept a device's sequence after a restore, recording the ops the restore lost (R35).

    The device deleted ops the old server acknowledged; the restored server never saw them. Its
    next op then lies beyond ``last_seq + 1`` for good, so the gap is recorded for the office and
    bridged, instead of answering ``retry`` forever. Only a device that names a previous epoch of
    this server is bridged: within one epoch, or from an epoch the server never had, a gap is
    waited for (R6).
    """
    if client_epoch is None or client_epoch == store.epoch():
        return state
    if not store.is_past_epoch(client_epoch):
        # An epoch this server never had proves no restore: the gap is waited for (R6).
        return state
    ahead = [e.seq for e in envelopes if e.seq is not None and e.seq > state.last_seq]
    if not ahead or min(ahead) <= state.last_seq + 1:
        return state
    first_lost, last_lost = state.last_seq + 1, min(ahead) - 1
    store.record_conflict(
        ConflictRecord(
            # No op produced it: a name-based UUID keeps one record per gap, in an op id's size.
            id=str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"onsite:gap:{device_id}:{first_lost}-{last_lost}")
            ),
            entity="device",
            record_id=device_id,
            visit_id=None,
            kept={"last_seq": state.last_seq, "epoch": store.epoch()},
            other={"first_seq": min(ahead), "epoch": client_epoch},
            device_id=device_id,
            reason=(
                f"the server was restored from a backup: ops {first_lost}..{last_lost} of this "
                "device were acknowledged before the restore and are not here; re-enter them"
            ),
        )
    )
    return DeviceState(last_seq=last_lost, last_hlc=state.last_hlc)


def _replayed(store: Store, device_id: str, env: Envelope) -> OpResult:
    """Answer an op whose seq was already processed: a duplicate, or a reused seq."""
    assert env.seq is not None
    rec = store.op_by_seq(device_id, env.seq)
    if rec is not None and env.op_id is not None and _recorded_op_id(rec) == env.op_id:
        return OpResult(env.op_id, env.seq, "duplicate", "already processed", original=rec.result)
    return OpResult(
        env.op_id,
        env.seq,
        "rejected",
        f"sequence number reused: seq {env.seq} was already used by another op",
    )


def _recorded_op_id(rec: OpRecord) -> str | None:
    if rec.op_id is not None:
        return rec.op_id
    return rec.op.get("op_id") if isinstance(rec.op, Mapping) else None


def _process(
    store: Store,
    device_id: str,
    state: DeviceState,
    env: Envelope,
    now_ms: int,
    max_ahead_ms: int,
) -> tuple[OpResult, DeviceState]:
    """Process the next op in sequence; return its result and the device's new state."""
    assert env.seq is not None
    record_op_id = env.op_id
    stamp: str | None = None
    checked = False
    try:
        if env.op_id is not None and store.op_by_id(env.op_id) is not None:
            record_op_id = None  # the unique op_id is taken; keep this op without it
            raise Rejection("op_id: already used by another operation")
        try:
            raw = upgrade(env.raw) if env.schema_version is not None else env.raw
        except TooNew as e:
            return OpResult(env.op_id, env.seq, "retry", str(e)), state
        except TooOld as e:
            raise Rejection(str(e)) from None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            # A malformed old op must not wedge the device: keep it for the office instead.
            raise Rejection(
                f"could not upgrade op from version {env.schema_version}: {e!r}"
            ) from None
        try:
            op = parse_op(raw, device_id)
        except ValidationError as e:
            raise Rejection(str(e)) from None
        checked = raw == env.raw  # not upgraded from an older schema: validated as sent
        refs = op.blob_refs()
        missing = sorted(set(refs) - store.existing_blobs(refs))
        lost = store.lost_blobs(missing)
        missing = [m for m in missing if m not in lost]
        if missing:
            return (
                OpResult(env.op_id, env.seq, "retry", "blobs missing", missing_blobs=missing),
                state,
            )
        stamp = merge.effective_stamp(op.hlc, state.last_hlc, now_ms, max_ahead_ms)
        with store.savepoint():
            result = _apply(store, device_id, op, stamp, now_ms, lost)
    except Rejection as r:
        result = OpResult(env.op_id, env.seq, "rejected", r.reason)
    store.record_op(
        OpRecord(
            device_id=device_id,
            seq=env.seq,
            op_id=record_op_id,
            status=result.status,
            result=result.to_wire(),
            op=env.raw,
            received_ms=now_ms,
            checked=checked,
        )
    )
    return result, DeviceState(last_seq=env.seq, last_hlc=stamp or state.last_hlc)


@dataclass(frozen=True)
class _Ctx:
    store: Store
    device_id: str
    op: Op
    stamp: str
    now_ms: int

    @property
    def visit(self) -> Record:
        """The op's visit as the store holds it (read only by the ops that need it)."""
        visit = self.store.get("visit", self.op.visit_id)
        assert visit is not None  # _apply checked that it exists
        return visit

    def common(self) -> Record:
        return {
            "device_id": self.device_id,
            "op_id": self.op.op_id,
            "hlc": self.stamp,
            "device_time": self.op.device_time,
            "received_ms": self.now_ms,
        }

    def result(self, status: str, reason: str | None = None, server_state: Any = None) -> OpResult:
        return OpResult(self.op.op_id, self.op.seq, status, reason, server_state)

    def upsert(self, entity: str, key: str | int, data: Record) -> None:
        self.store.put(entity, key, data)
        full = self.store.get(entity, key) or data
        self.store.record_change(Change(entity, str(key), self.op.visit_id, "upsert", full))

    def conflict(self, entity: str, key: str, kept: Record | None, other: Record, why: str) -> None:
        c = ConflictRecord(
            self.op.op_id, entity, key, self.op.visit_id, kept, other, self.device_id, why
        )
        self.store.record_conflict(c)
        self.store.record_change(
            Change("conflict", c.id, self.op.visit_id, "upsert", c.to_record())
        )

    def insert(self, entity: str, content: Record) -> OpResult | None:
        """Insert an insert-only record; return the result unless the caller should go on."""
        key = self.op.record_id
        existing = self.store.get(entity, key)
        if existing is not None and existing.get("visit_id") != self.op.visit_id:
            # Another visit's record (perhaps another engineer's): answer without its content.
            raise Rejection(f"record_id: {entity} {key} already exists on another visit")
        decision = merge.insert_only_decision(existing, content)
        if decision == "duplicate":
            return self.result("duplicate", f"{entity} {key} is already stored", existing)
        if decision == "conflict":
            why = f"{entity} {key} is already stored with different content; the first is kept"
            self.conflict(entity, key, existing, {"id": key, **content, **self.common()}, why)
            return self.result("conflict", why, existing)
        return None


def _apply(
    store: Store,
    device_id: str,
    op: Op,
    stamp: str,
    now_ms: int,
    lost: Mapping[str, str] | None = None,
) -> OpResult:
    """Apply one validated op inside its savepoint; `lost` are its blobs given up as lost."""
    if not store.may_write(device_id, op.visit_id):
        raise Rejection(f"visit {op.visit_id} is not assigned to this device")
    if not store.visit_exists(op.visit_id):
        raise Rejection(f"visit {op.visit_id} does not exist")
    moved, heard_ms = store.reassigned(device_id, op.visit_id)
    if moved and heard_ms is not None and hlc.parse(op.hlc).wall_ms >= heard_ms:
        # R36: recorded after the phone was told the visit is someone else's now.
        why = (
            f"visit {op.visit_id} was reassigned, and this phone had been told so before this "
            f"{op.kind} was recorded; not applied"
        )
        told = _Ctx(store, device_id, op, stamp, now_ms)
        told.conflict("visit", str(op.visit_id), None, _refused_op(op, stamp, now_ms), why)
        return OpResult(op.op_id, op.seq, "conflict", why)
    if op.kind in RECEIPT_KINDS:
        problem = receipt_no_problem(
            op.payload["receipt_no"], RECEIPT_KINDS[op.kind], store.receipt_prefix(device_id)
        )
        if problem is not None:
            raise Rejection(f"payload.receipt_no: {problem}")
    ctx = _Ctx(store, device_id, op, stamp, now_ms)
    result = APPLIERS[op.kind](ctx)
    if result.status == "applied" and op.kind != "signoff.sign":
        mark_stale_signoffs(store, op.visit_id, f"visit changed after sign-off by op {op.op_id}")
    if lost and result.status == "applied":
        # R13a: the record stands without the photo or signature; the office sees the gap.
        why = "; ".join(
            f"blob {sha[:12]} lost on the phone: {reason}" for sha, reason in lost.items()
        )
        record = {**_refused_op(op, stamp, now_ms), "lost_blobs": dict(lost)}
        ctx.conflict(KIND_RECORD.get(op.kind, "visit"), _record_key(op), None, record, why)
    if moved and result.status == "applied":
        # R36: real field work captured before the phone heard of the reassignment: kept, and
        # shown to the office beside the new engineer's work.
        why = (
            f"{op.kind} recorded by the previous engineer's phone before it heard that visit "
            f"{op.visit_id} was reassigned; kept, check it against the new engineer's work"
        )
        record = _refused_op(op, stamp, now_ms)
        ctx.conflict(KIND_RECORD.get(op.kind, "visit"), _record_key(op), None, record, why)
    return result


# The record each kind of op writes (a transition writes the visit itself).
KIND_RECORD = {
    "checklist.set": "checklist_item",
    "part.add": "part_event",
    "payment.record": "payment",
    "payment.void": "payment_void",
    "charge.waive": "charge_waiver",
    "equipment_receipt.issue": "equipment_receipt",
    "damage.record": "damage",
    "feedback.submit": "feedback",
    "signoff.sign": "signoff",
    "payment.promise": "payment_promise",
}
# The records an op merges into, last writer wins (R17). Every other kind's op only ever adds
# its record: one already stored under its id makes it a duplicate or a conflict, never an
# update, so applying it writes a new row under that id (a store may rely on the unique key).
MERGED_RECORDS = frozenset({"checklist_item"})


def _record_key(op: Op) -> str:
    return str(op.visit_id) if op.kind == "visit.transition" else op.record_id


def _refused_op(op: Op, stamp: str, now_ms: int) -> Record:
    """The op as the office is shown it beside the visit: kind, record and what it held."""
    return {
        "kind": op.kind,
        "record_id": op.record_id,
        **op.payload,
        "hlc": stamp,
        "device_time": op.device_time,
        "received_ms": now_ms,
    }


# The letter that starts each kind's receipt numbers (server/domain/receipts.py, S21, S23).
RECEIPT_KINDS = {"payment.record": "R", "equipment_receipt.issue": "E"}


def receipt_no_problem(number: str, letter: str, prefix: str | None) -> str | None:
    """Return why a device may not issue this receipt number, or None if it may.

    A number is LETTER-PREFIX-SEQ; the prefix must be the sending device's own, so that no device
    can take (squat) another's numbers, and SEQ is 1 to 16 ASCII digits, not zero. A store that
    gives devices no prefix (None) leaves the number unchecked.
    """
    if prefix is None:
        return None
    head, _, seq = number.rpartition("-")
    if head != f"{letter}-{prefix}":
        return f"must start with {letter}-{prefix}-, this device's own receipt prefix"
    if not (seq.isascii() and seq.isdigit()) or len(seq) > RECEIPT_SEQ_DIGITS or int(seq) == 0:
        return f"must end in a sequence number of 1 to {RECEIPT_SEQ_DIGITS} digits, not zero"
    return None


def _transition(ctx: _Ctx) -> OpResult:
    p, visit = ctx.op.payload, ctx.visit
    current, to = visit["status"], p["to"]
    decision = merge.transition_decision(current, to)
    state = {"status": current}
    if decision == "duplicate":
        return ctx.result("duplicate", f"visit is already {current}", state)
    if decision == "conflict":
        why = f"visit is {current}; a transition to {to} would not move it forward"
        ctx.conflict("visit", str(visit["id"]), state, {**p, **ctx.common()}, why)
        return ctx.result("conflict", why, state)
    arrived_ms = min(hlc.parse(ctx.op.hlc).wall_ms, ctx.now_ms)  # the phone's word, never ahead
    missing = merge.transition_missing(visit, p, arrived_ms)
    if missing is not None:
        raise Rejection(f"payload.{missing[0]}: {missing[1]}")
    updates: Record = {"status": to}
    for name in (
        "late_reason",
        "customer_informed",
        "permission_granted",
        "outcome_summary",
        "explanation",
        "escalate",
    ):
        if p[name] is not None:
            updates[name] = p[name]
    if to == "arrived" and visit.get("arrived_hlc") is None:
        # Keep both: the server's ordering stamp and the time the phone reported (S5b, S16).
        updates["arrived_hlc"] = ctx.stamp
        updates["arrived_device_time"] = ctx.op.device_time
        updates["arrived_received_ms"] = ctx.now_ms
    ctx.upsert("visit", visit["id"], updates)
    return ctx.result("applied")


def _checklist(ctx: _Ctx) -> OpResult:
    op, p = ctx.op, ctx.op.payload
    key = op.record_id
    current = ctx.store.get("checklist_item", key)
    incoming: Record = {
        "id": key,
        "visit_id": op.visit_id,
        "item_id": p["item_id"],
        "state": p["state"],
        "note": p["note"],
        "device_hlc": op.hlc,
        **ctx.common(),
    }
    cur_key = (current["hlc"], current["device_id"]) if current else None
    if merge.lww_incoming_wins((ctx.stamp, ctx.device_id), cur_key):
        ctx.upsert("checklist_item", key, incoming)
        if current is not None and _is_rival(current, incoming):
            ctx.conflict("checklist_item", key, incoming, current, "overwritten by a later write")
        return ctx.result("applied")
    if current is not None and _is_rival(current, incoming):
        ctx.conflict("checklist_item", key, current, incoming, "a later write is already stored")
    return ctx.result("conflict", "a later write is already stored", current)


def _is_rival(a: Record, b: Record) -> bool:
    """Return whether two checklist values are a real conflict: other device, other content."""
    return a["device_id"] != b["device_id"] and (a["state"], a["note"]) != (b["state"], b["note"])


def _content(ctx: _Ctx) -> Record:
    return {"visit_id": ctx.op.visit_id, **ctx.op.payload}


def _insert_only(entity: str) -> Callable[[_Ctx], OpResult]:
    def apply(ctx: _Ctx) -> OpResult:
        content = _content(ctx)
        done = ctx.insert(entity, content)
        if done is not None:
            return done
        ctx.upsert(entity, ctx.op.record_id, {"id": ctx.op.record_id, **content, **ctx.common()})
        return ctx.result("applied")

    return apply


def _part(ctx: _Ctx) -> OpResult:
    content = _content(ctx)
    done = ctx.insert("part_event", content)
    if done is not None:
        return done
    target_id = content["reverses"]
    if target_id is not None:
        target = ctx.store.get("part_event", target_id)
        problem = merge.reversal_problem(target, target_id, ctx.op.visit_id)
        if problem:
            raise Rejection(problem)
        earlier = ctx.store.find("part_event", "reverses", target_id)
        if earlier:
            why = f"part event {target_id} was already corrected by {earlier[0]['id']}"
            other = {"id": ctx.op.record_id, **content, **ctx.common()}
            ctx.conflict("part_event", ctx.op.record_id, earlier[0], other, why)
            return ctx.result("conflict", why, earlier[0])
    ctx.upsert("part_event", ctx.op.record_id, {"id": ctx.op.record_id, **content, **ctx.common()})
    return ctx.result("applied")


def _void(ctx: _Ctx) -> OpResult:
    content = _content(ctx)
    done = ctx.insert("payment_void", content)
    if done is not None:
        return done
    pid = content["payment_id"]
    payment = ctx.store.get("payment", pid)
    if payment is None or payment["visit_id"] != ctx.op.visit_id:
        raise Rejection(f"payment {pid} does not exist on visit {ctx.op.visit_id}")
    earlier = ctx.store.find("payment_void", "payment_id", pid)
    if earlier:
        why = f"payment {pid} was already voided by {earlier[0]['id']}"
        other = {"id": ctx.op.record_id, **content, **ctx.common()}
        ctx.conflict("payment_void", ctx.op.record_id, earlier[0], other, why)
        return ctx.result("conflict", why, earlier[0])
    ctx.upsert(
        "payment_void", ctx.op.record_id, {"id": ctx.op.record_id, **content, **ctx.common()}
    )
    return ctx.result("applied")


def _signoff(ctx: _Ctx) -> OpResult:
    content = _content(ctx)
    done = ctx.insert("signoff", content)
    if done is not None:
        return done
    server_digest = digest_visit(visit_view(ctx.store, ctx.op.visit_id))
    stale = merge.signoff_is_stale(content["digest"], server_digest)
    reason = (
        "stored but flagged stale for office review: the visit signed for differs from the "
        f"server's (signed {content['digest'][:12]}, server {server_digest[:12]})"
        if stale
        else None
    )
    record = {
        "id": ctx.op.record_id,
        **content,
        **ctx.common(),
        "stale": stale,
        "stale_reason": reason,
        "server_digest": server_digest,
    }
    ctx.upsert("signoff", ctx.op.record_id, record)
    return ctx.result("applied", reason, {"stale": stale, "server_digest": server_digest})


APPLIERS: dict[str, Callable[[_Ctx], OpResult]] = {
    "visit.transition": _transition,
    "checklist.set": _checklist,
    "part.add": _part,
    "payment.record": _insert_only("payment"),
    "payment.void": _void,
    "charge.waive": _insert_only("charge_waiver"),
    "equipment_receipt.issue": _insert_only("equipment_receipt"),
    "damage.record": _insert_only("damage"),
    "feedback.submit": _insert_only("feedback"),
    "signoff.sign": _signoff,
    "payment.promise": _insert_only("payment_promise"),
}


# --------------------------------------------------------------------------------------------
# helpers the server also calls


def visit_view(store: Store, visit_id: int) -> dict[str, Any]:
    """Build the sign-off view of a visit from the store's merged records."""
    visit = store.get("visit", visit_id)
    if visit is None:
        raise KeyError(f"visit {visit_id} does not exist")
    return visit_signoff_view(
        visit_id=visit_id,
        outcome=visit.get("outcome_summary"),
        fee_fen=visit.get("fee_fen") or 0,
        parts_charged=bool(visit.get("parts_charged")),
        checklist=store.for_visit("checklist_item", visit_id),
        parts=store.for_visit("part_event", visit_id),
        payments=store.for_visit("payment", visit_id),
        voided_payment_ids=[v["payment_id"] for v in store.for_visit("payment_void", visit_id)],
        waivers=store.for_visit("charge_waiver", visit_id),
        equipment_receipts=store.for_visit("equipment_receipt", visit_id),
    )


def mark_stale_signoffs(store: Store, visit_id: int, reason: str) -> list[str]:
    """Flag the visit's sign-offs whose digest no longer matches the visit; return their ids.

    The engine calls this after every applied op; the server calls it after an office edit.
    """
    signoffs = [s for s in store.for_visit("signoff", visit_id) if not s.get("stale")]
    if not signoffs:
        return []
    current = digest_visit(visit_view(store, visit_id))
    flagged = []
    for s in signoffs:
        if merge.signoff_is_stale(s["digest"], current):
            store.put("signoff", s["id"], {"stale": True, "stale_reason": reason})
            data = store.get("signoff", s["id"]) or s
            store.record_change(Change("signoff", s["id"], visit_id, "upsert", data))
            flagged.append(s["id"])
    return flagged


def emit_visit_snapshot(store: Store, visit_id: int) -> int:
    """Re-announce a visit and all its records in the feed; return how many changes were added.

    The server calls this when a visit is newly assigned, so a device whose cursor is already past
    the visit's history still receives it (WatermelonDB #1264).
    """
    count = 0
    visit = store.get("visit", visit_id)
    if visit is not None:
        store.record_change(Change("visit", str(visit_id), visit_id, "upsert", visit))
        count += 1
    for entity in SNAPSHOT_ENTITIES:
        for rec in sorted(store.for_visit(entity, visit_id), key=lambda r: str(r["id"])):
            store.record_change(Change(entity, str(rec["id"]), visit_id, "upsert", rec))
            count += 1
    return count


# --------------------------------------------------------------------------------------------
# pull


def format_cursor(epoch: str, position: int) -> str:
    """Encode a pull cursor."""
    return f"{epoch}:{position}"


def parse_cursor(cursor: str) -> tuple[str, int]:
    """Decode a pull cursor, raising CursorError if it is malformed."""
    epoch, sep, pos = cursor.rpartition(":")
    # ASCII digits only: str.isdigit() also takes "٣", and int() would read it.
    if not sep or not epoch or not (pos.isascii() and pos.isdigit()) or len(pos) > 18:
        shown = cursor[:100].encode("ascii", "backslashreplace").decode()
        raise CursorError(f"malformed cursor {shown!r}: expected '<epoch>:<position>'")
    return epoch, int(pos)


def build_pull(store: Store, scope: Any, cursor: str | None, limit: int | None) -> PullPage:
    """Return the changes visible to scope after cursor, at most limit of them.

    A cursor from another epoch (the database was restored) restarts from zero with resync set;
    the client keeps its outbox and re-sends it.
    """
    limit = DEFAULT_PULL_LIMIT if limit is None else max(1, min(limit, MAX_PULL_LIMIT))
    epoch = store.epoch()
    position, resync = 0, False
    if cursor:
        cursor_epoch, position = parse_cursor(cursor)
        if cursor_epoch != epoch:
            position, resync = 0, True
    # Read the head before the changes: everything up to it is committed and will be seen.
    head = store.feed_head()
    # Ask for one more than a page: has_more is then exact even when the count equals the page size.
    rows = store.changes_after(scope, position, limit + 1)
    page = rows[:limit]
    has_more = len(rows) > limit
    end = page[-1].position if page else position
    if not has_more:
        # Skip past what this scope may not see, so the next pull never scans it again.
        end = max(end, head)
    return PullPage(
        cursor=format_cursor(epoch, end),
        has_more=has_more,
        resync=resync,
        changes=page,
        server_time_ms=store.now_ms(),
    )
