"""An in-memory Store for unit tests and for trying the engine without a database."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sync.store import Change, ConflictRecord, DeviceState, Key, OpRecord, Record


class MemoryStore:
    """Hold everything in dicts; a savepoint is a snapshot restored on error.

    ``scope`` for pull is a set of visit ids the device may see, or None for all.
    ``assignments`` maps device id to the visit ids it may write; a device absent from it may write
    any visit.
    """

    def __init__(self, epoch: str = "e1", now_ms: int = 1_764_292_500_000) -> None:
        self._epoch = epoch
        self._now_ms = now_ms
        self.devices: dict[str, DeviceState] = {}
        self.ops_by_seq: dict[tuple[str, int], OpRecord] = {}
        self.ops_by_id: dict[str, OpRecord] = {}
        self.records: dict[str, dict[Key, Record]] = {}
        self.conflicts: list[ConflictRecord] = []
        self.changes: list[Change] = []
        self.blobs: set[str] = set()
        self.assignments: dict[str, set[int]] = {}
        self.prefixes: dict[str, str] = {}  # device id -> receipt prefix; absent: unchecked
        self.past_epochs: set[str] = set()
        self.lost: dict[str, str] = {}  # blob hash -> the reason a phone gave it up
        # (device id, visit id) -> when the device heard the visit was reassigned (None: not yet)
        self.moved: dict[tuple[str, int], int | None] = {}
        self.position = 0

    # --- the Store protocol ---

    def lock_device(self, device_id: str) -> DeviceState:
        """Return the device's state, creating it at seq 0 (one thread: nothing to lock)."""
        return self.devices.setdefault(device_id, DeviceState())

    def save_device(self, device_id: str, state: DeviceState) -> None:
        """Store the device's state."""
        self.devices[device_id] = state

    def prefetch(self, device_id: str, ops: list[Any]) -> None:
        """Do nothing: every lookup is already a dict access."""

    def op_by_seq(self, device_id: str, seq: int) -> OpRecord | None:
        """Return the op recorded for (device_id, seq)."""
        return self.ops_by_seq.get((device_id, seq))

    def op_by_id(self, op_id: str) -> OpRecord | None:
        """Return the op recorded under op_id."""
        return self.ops_by_id.get(op_id)

    def record_op(self, record: OpRecord) -> None:
        """Store a processed op, enforcing the same uniqueness the database would."""
        key = (record.device_id, record.seq)
        if key in self.ops_by_seq:
            raise AssertionError(f"unique violation: op ({key}) already recorded")
        if record.op_id is not None:
            if record.op_id in self.ops_by_id:
                raise AssertionError(f"unique violation: op_id {record.op_id} already recorded")
            self.ops_by_id[record.op_id] = record
        self.ops_by_seq[key] = record

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo every write made inside the block if it raises."""
        saved = self._snapshot()
        try:
            yield
        except BaseException:
            self._restore(saved)
            raise

    def get(self, entity: str, key: Key) -> Record | None:
        """Return a copy of the record, so callers cannot change the store by accident."""
        rec = self.records.get(entity, {}).get(key)
        return copy.deepcopy(rec) if rec is not None else None

    def put(self, entity: str, key: Key, data: Record) -> None:
        """Insert the record or merge the given fields into it."""
        table = self.records.setdefault(entity, {})
        # Replace, never mutate, a stored record: a savepoint's shallow snapshot then stays valid.
        table[key] = {**table.get(key, {}), **copy.deepcopy(data)}

    def for_visit(self, entity: str, visit_id: int) -> list[Record]:
        """Return copies of the entity's records on the visit."""
        return [
            copy.deepcopy(r)
            for r in self.records.get(entity, {}).values()
            if r.get("visit_id") == visit_id
        ]

    def find(self, entity: str, field: str, value: Any) -> list[Record]:
        """Return copies of the entity's records whose field equals value."""
        return [
            copy.deepcopy(r) for r in self.records.get(entity, {}).values() if r.get(field) == value
        ]

    def record_conflict(self, conflict: ConflictRecord) -> None:
        """Keep the conflict."""
        self.conflicts.append(conflict)

    def record_change(self, change: Change) -> None:
        """Append to the feed; one writer at a time, so the next number is safe to take now."""
        self.position += 1
        self.changes.append(dataclasses.replace(change, position=self.position))

    def feed_head(self) -> int:
        """Return the last position handed out (one thread: all of it is committed)."""
        return self.position

    def changes_after(self, scope: Any, position: int, limit: int) -> list[Change]:
        """Return the next changes after position that scope may see."""
        out = []
        for ch in self.changes:
            if ch.position <= position:
                continue
            if scope is not None and ch.visit_id not in scope:
                continue
            out.append(ch)
            if len(out) == limit:
                break
        return out

    def existing_blobs(self, hashes: list[str]) -> set[str]:
        """Return the hashes held."""
        return {h for h in hashes if h in self.blobs}

    def lost_blobs(self, hashes: list[str]) -> dict[str, str]:
        """Return the given-up blobs among hashes, with their reasons."""
        return {h: self.lost[h] for h in hashes if h in self.lost}

    def visit_exists(self, visit_id: int) -> bool:
        """Return whether the visit is stored."""
        return visit_id in self.records.get("visit", {})

    def may_write(self, device_id: str, visit_id: int) -> bool:
        """Return whether the device is assigned the visit (unrestricted devices may write all)."""
        allowed = self.assignments.get(device_id)
        return allowed is None or visit_id in allowed

    def epoch(self) -> str:
        """Return the epoch."""
        return self._epoch

    def reassigned(self, device_id: str, visit_id: int) -> tuple[bool, int | None]:
        """Return whether the visit was moved from the device, and when it heard (tests set it)."""
        key = (device_id, visit_id)
        return (key in self.moved, self.moved.get(key))

    def is_past_epoch(self, epoch: str) -> bool:
        """Return whether the store ran under epoch before a restore."""
        return epoch in self.past_epochs

    def receipt_prefix(self, device_id: str) -> str | None:
        """Return the device's receipt prefix, if the test gave it one."""
        return self.prefixes.get(device_id)

    def now_ms(self) -> int:
        """Return the store's fixed clock."""
        return self._now_ms

    # --- helpers for tests ---

    def add_visit(self, visit_id: int, **fields: Any) -> None:
        """Create a visit as the office would, scheduled, with a fee and billable parts."""
        visit: Record = {
            "id": visit_id,
            "status": "scheduled",
            "fee_fen": 0,
            "parts_charged": True,
            "outcome_summary": None,
            "explanation": None,
            "late_reason": None,
            "customer_informed": None,
            "permission_granted": None,
            "escalate": None,
            "arrived_hlc": None,
            "arrived_device_time": None,
            "arrived_received_ms": None,
            "arrival_due_ms": None,
        }
        visit.update(fields)
        self.put("visit", visit_id, visit)

    def restore_epoch(self, epoch: str) -> None:
        """Pretend the database was restored from a backup under a new epoch."""
        self.past_epochs.add(self._epoch)
        self._epoch = epoch

    def _snapshot(self) -> tuple[Any, ...]:
        # Shallow copies suffice: records are replaced, never mutated, and the logs only grow.
        return (
            dict(self.devices),
            dict(self.ops_by_seq),
            dict(self.ops_by_id),
            {entity: dict(table) for entity, table in self.records.items()},
            len(self.conflicts),
            len(self.changes),
            self.position,
        )

    def _restore(self, saved: tuple[Any, ...]) -> None:
        (
            self.devices,
            self.ops_by_seq,
            self.ops_by_id,
            self.records,
            n_conflicts,
            n_changes,
            self.position,
        ) = saved
        del self.conflicts[n_conflicts:]
        del self.changes[n_changes:]
