"""Onsite sync core: the protocol, merge rules and engine, with no web or database imports.

The server calls `apply_push` and `build_pull` from `sync.engine` with its own implementation of
`sync.store.Store`; everything else here is pure.
"""

from sync.engine import (
    BatchTooLarge,
    CursorError,
    OpResult,
    PullPage,
    PushResult,
    apply_push,
    build_pull,
    emit_visit_snapshot,
    mark_stale_signoffs,
    visit_view,
)
from sync.ops import MAX_BATCH, ValidationError, parse_op
from sync.store import Change, ConflictRecord, DeviceState, OpRecord, Store

__all__ = [
    "MAX_BATCH",
    "BatchTooLarge",
    "Change",
    "ConflictRecord",
    "CursorError",
    "DeviceState",
    "OpRecord",
    "OpResult",
    "PullPage",
    "PushResult",
    "Store",
    "ValidationError",
    "apply_push",
    "build_pull",
    "emit_visit_snapshot",
    "mark_stale_signoffs",
    "parse_op",
    "visit_view",
]
