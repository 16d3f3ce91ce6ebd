"""Merge rules: one small pure function per rule, the rule written above it in one sentence."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from sync import hlc

Decision = Literal["apply", "duplicate", "conflict"]

# Visit states in the order a visit moves through them; the last two are both terminal outcomes.
VISIT_PROGRESS = ("scheduled", "en_route", "arrived", "in_progress")
VISIT_OUTCOMES = ("completed", "not_fixed")
VISIT_TERMINAL = (*VISIT_OUTCOMES, "cancelled")
DEVICE_TRANSITIONS = ("en_route", "arrived", "in_progress", *VISIT_OUTCOMES)

# Part events that are billed out of warranty (S3); a returned part is registered (S31), not billed.
CHARGEABLE_PART_KINDS = ("used", "replaced")


def _rank(status: str) -> int:
    return len(VISIT_PROGRESS) if status in VISIT_TERMINAL else VISIT_PROGRESS.index(status)


# A transition may move a visit forward, skipping states, but never back nor out of a terminal
# state; naming the current state is a harmless duplicate.
def transition_decision(current: str, to: str) -> Decision:
    """Decide whether a transition applies, repeats the current state, or conflicts."""
    if to == current:
        return "duplicate"
    if current in VISIT_TERMINAL:
        return "conflict"
    return "apply" if _rank(to) > _rank(current) else "conflict"


# The service commitment asks the engineer, and the server checks the answer is there: a late
# arrival carries a reason (S16), work starts and a fault is fixed only with the customer's
# permission (S17), and a fault left unfixed carries an explanation (S22). `arrived_ms` is when the
# phone says it arrived (capped by the caller at the server's clock); `arrival_due_ms` is the
# earlier of the appointment's end and the S5b deadline, or None when nothing is due.
def transition_missing(
    visit: Mapping[str, Any], payload: Mapping[str, Any], arrived_ms: int
) -> tuple[str, str] | None:
    """Return (field, why) for the answer a forward transition lacks, or None if complete."""
    to = payload["to"]

    def given(name: str) -> Any:
        value = payload.get(name)
        if isinstance(value, str) and not value.strip():
            value = None
        return value if value is not None else visit.get(name)

    due = visit.get("arrival_due_ms")
    if to == "arrived" and due is not None and arrived_ms > due and not given("late_reason"):
        return "late_reason", "a late arrival needs its reason (S16)"
    if to in ("in_progress", "completed") and given("permission_granted") is not True:
        return "permission_granted", "work needs the customer's permission, asked on arrival (S17)"
    if to == "not_fixed" and not given("explanation"):
        return "explanation", "a fault not fixed needs an explanation for the customer (S22)"
    return None


# The server orders a device's op by its stamp clamped to the server's clock, and never lets it fall
# at or before that device's previous op, so a device's own later edit always beats its earlier one.
def effective_stamp(
    op_hlc: str, last_device_hlc: str | None, server_now_ms: int, max_ahead_ms: int
) -> str:
    """Return the stamp the server orders this op by."""
    stamp = hlc.clamp(op_hlc, server_now_ms, max_ahead_ms)
    if last_device_hlc is not None and hlc.compare(stamp, last_device_hlc) <= 0:
        last = hlc.parse(last_device_hlc)
        return hlc.tick(last_device_hlc, last.wall_ms, last.node)
    return stamp


# Last writer wins per checklist item by (effective stamp, device id); keys never tie, since each
# device's effective stamps strictly increase and a stamp names its device.
def lww_incoming_wins(incoming: tuple[str, str], current: tuple[str, str] | None) -> bool:
    """Return True if the incoming (stamp, device_id) key beats the current one."""
    return current is None or incoming > current


# An insert-only record keeps the first version: the same content again is a duplicate, different
# content under the same id is a conflict.
def insert_only_decision(
    existing: Mapping[str, Any] | None, incoming: Mapping[str, Any]
) -> Decision:
    """Decide what an insert of incoming does given the record already stored under its id."""
    if existing is None:
        return "apply"
    same = all(existing.get(k) == v for k, v in incoming.items())
    return "duplicate" if same else "conflict"


# A correction may cancel only an existing, not yet cancelled, ordinary (non-correction) part
# event of the same visit.
def reversal_problem(target: Mapping[str, Any] | None, target_id: str, visit_id: int) -> str | None:
    """Return why a part event cannot be reversed, or None if it can (already-reversed aside)."""
    if target is None:
        return f"part event {target_id} does not exist"
    if target["visit_id"] != visit_id:
        return f"part event {target_id} belongs to another visit"
    if target["reverses"] is not None:
        return f"part event {target_id} is itself a correction; record a new part instead"
    return None


# Part totals are derived from events, never synced: a correction and the event it cancels both
# drop out.
def live_part_events(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Return the part events that count: not corrections and not cancelled by one."""
    events = list(events)
    cancelled = {e["reverses"] for e in events if e["reverses"] is not None}
    return [e for e in events if e["reverses"] is None and e["id"] not in cancelled]


# Parts are billed at quantity times unit cost for parts used or fitted as replacements.
def parts_fen(live_events: Iterable[Mapping[str, Any]]) -> int:
    """Return the billable parts total in fen of the given live events."""
    return sum(
        e["qty"] * e["unit_cost_fen"] for e in live_events if e["kind"] in CHARGEABLE_PART_KINDS
    )


# A sign-off stays good only while the server's digest of the visit equals the digest signed.
def signoff_is_stale(signed_digest: str, server_digest: str) -> bool:
    """Return True if what the customer signed differs from the visit as the server holds it."""
    return signed_digest != server_digest
