"""The storage the engine needs, as a small Protocol the server implements with SQLAlchemy.

Everything the engine does in one ``apply_push`` call happens inside the caller's transaction: the
server opens it before the call and commits after, so an op's effects, its op record and the
device's ``last_seq`` commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Key = str | int
Record = dict[str, Any]

# The record kinds ("entities") the engine reads and writes, and the keys of each record's dict.
# Every field-made record also carries COMMON_FIELDS. The server maps each entity to a table.
COMMON_FIELDS = ("device_id", "op_id", "hlc", "device_time", "received_ms")
ENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    # Owned by the office; the engine reads and updates only these fields (put merges fields).
    "visit": (
        "id", "status", "fee_fen", "parts_charged", "outcome_summary", "explanation", "late_reason",
        "customer_informed", "permission_granted", "escalate",
        "arrived_hlc", "arrived_device_time", "arrived_received_ms",
        "arrival_due_ms",  # read only: when arriving becomes late (S16); None if never
    ),
    "checklist_item": ("id", "visit_id", "item_id", "state", "note", "device_hlc"),
    "part_event": (
        "id", "visit_id", "kind", "part_code", "description", "qty", "unit_cost_fen", "reverses",
    ),
    "payment": ("id", "visit_id", "method", "amount_fen", "currency", "payer", "receipt_no"),
    "payment_void": ("id", "visit_id", "payment_id", "reason"),
    "charge_waiver": ("id", "visit_id", "amount_fen", "reason"),
    "equipment_receipt": (
        "id", "visit_id", "receipt_no", "description", "brand", "model", "serial", "accessories",
        "condition", "customer_name", "signature_blob",
    ),
    "damage": (
        "id", "visit_id", "equipment_id", "brand", "model", "description", "warranty_claimed",
        "purchase_proof_blob", "warranty_card_blob", "photo_blobs",
    ),
    "feedback": ("id", "visit_id", "satisfaction", "comments"),
    "payment_promise": ("id", "visit_id", "method", "amount_fen", "payer", "due_on", "note"),
    "signoff": (
        "id", "visit_id", "customer_name", "signature_blob", "digest", "signed_hlc",
        "stale", "stale_reason", "server_digest",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class DeviceState:
    """What the server remembers per device: the last seq processed and the last stamp ordered."""

    last_seq: int = 0
    last_hlc: str | None = None


@dataclass(frozen=True)
class OpRecord:
    """One processed op, unique per (device_id, seq) and per op_id (where op_id is not None)."""

    device_id: str
    seq: int
    op_id: str | None  # None only for an op rejected because its op_id was already used (R6)
    status: str  # applied | duplicate | rejected | conflict
    result: dict[str, Any]  # the per-op result as first answered, replayed for duplicates
    op: Any  # the op exactly as received, kept for the office
    received_ms: int
    # Whether `op`, exactly as received, passed validation (parse_op): then every value in it
    # is one a database can keep (checked text, bounded integers, known fields only), and it
    # is stored without the walk that makes an unchecked op storable.
    checked: bool = False


@dataclass(frozen=True)
class ConflictRecord:
    """A value that lost a merge, kept visible beside the value the server holds."""

    id: str  # the op_id of the op that produced the conflict
    entity: str
    record_id: str
    visit_id: int | None  # None for a device-level record (a gap left by a restore)
    kept: Record | None
    other: Record
    device_id: str
    reason: str

    def to_record(self) -> Record:
        """Return the conflict as a plain record, for storage and for pull."""
        return {
            "id": self.id,
            "entity": self.entity,
            "record_id": self.record_id,
            "visit_id": self.visit_id,
            "kept": self.kept,
            "other": self.other,
            "device_id": self.device_id,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Change:
    """One entry of the pull feed; the store sets position when it commits the change."""

    entity: str
    id: str
    visit_id: int | None
    op: Literal["upsert", "delete", "revoke"]
    data: Record
    position: int = 0

    def to_wire(self) -> dict[str, Any]:
        """Return the change as the pull response carries it."""
        return {
            "entity": self.entity,
            "id": self.id,
            "visit_id": self.visit_id,
            "op": self.op,
            "data": self.data,
        }


class Store(Protocol):
    """The storage operations the engine calls, all inside the caller's transaction."""

    def lock_device(self, device_id: str) -> DeviceState:
        """Lock the device's row until commit (SELECT ... FOR UPDATE), creating it at seq 0."""
        ...

    def save_device(self, device_id: str, state: DeviceState) -> None:
        """Store the device's last_seq and last_hlc."""
        ...

    def prefetch(self, device_id: str, ops: list[Mapping[str, Any]]) -> None:
        """Load, in a few queries, what the engine will ask about these ops; may do nothing."""
        ...

    def op_by_seq(self, device_id: str, seq: int) -> OpRecord | None:
        """Return the op recorded for (device_id, seq), if any."""
        ...

    def op_by_id(self, op_id: str) -> OpRecord | None:
        """Return the op recorded under op_id, if any."""
        ...

    def record_op(self, record: OpRecord) -> None:
        """Store a processed op; unique constraints on (device_id, seq) and op_id back this."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """Return a context that undoes every write made inside it if it exits with an exception."""
        ...

    def get(self, entity: str, key: Key) -> Record | None:
        """Return the record of entity with that id, or None."""
        ...

    def put(self, entity: str, key: Key, data: Record) -> None:
        """Insert the record, or update the given fields of an existing one."""
        ...

    def for_visit(self, entity: str, visit_id: int) -> list[Record]:
        """Return every record of entity that belongs to the visit, in any order."""
        ...

    def find(self, entity: str, field: str, value: Any) -> list[Record]:
        """Return the records of entity whose field equals value (a correction's target, a
        void's payment): a look-up by an indexed field, whatever the visit holds besides."""
        ...

    def record_conflict(self, conflict: ConflictRecord) -> None:
        """Store a conflict record."""
        ...

    def record_change(self, change: Change) -> None:
        """Append a change to the pull feed; positions are taken last, at commit (SYNC-LESSONS)."""
        ...

    def feed_head(self) -> int:
        """Return the highest feed position committed: every position up to it is readable."""
        ...

    def changes_after(self, scope: Any, position: int, limit: int) -> list[Change]:
        """Return up to limit changes visible to scope with position > position, in order."""
        ...

    def existing_blobs(self, hashes: list[str]) -> set[str]:
        """Return the subset of hashes whose blobs the server holds."""
        ...

    def lost_blobs(self, hashes: list[str]) -> dict[str, str]:
        """Return, of these hashes, the blobs a phone gave up as lost, with the reason given."""
        ...

    def visit_exists(self, visit_id: int) -> bool:
        """Return whether the visit exists (asked of every op: most never read the visit)."""
        ...

    def may_write(self, device_id: str, visit_id: int) -> bool:
        """Return whether the device may record field data on the visit."""
        ...

    def reassigned(self, device_id: str, visit_id: int) -> tuple[bool, int | None]:
        """Return whether the visit was taken from the device's engineer, and when (server ms)
        the device first pulled that news, or None if it has not yet (R36)."""
        ...

    def epoch(self) -> str:
        """Return the server's epoch; it changes when the database is restored or reset."""
        ...

    def is_past_epoch(self, epoch: str) -> bool:
        """Return whether epoch was once this server's (before a restore started a new one)."""
        ...

    def receipt_prefix(self, device_id: str) -> str | None:
        """Return the device's own receipt-number prefix, or None if devices have none."""
        ...

    def now_ms(self) -> int:
        """Return the server's clock in Unix milliseconds."""
        ...
