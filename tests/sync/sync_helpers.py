"""Factories for sync tests: phones that number and stamp their ops, and payload builders."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from sync import hlc
from sync.engine import PushResult, apply_push
from sync.memory import MemoryStore

VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors"
NOW = 1_764_292_500_000  # 2025-11-28T01:15:00Z; the server's clock in most tests
HOUR = 3_600_000
VISIT = 12
DEV_A = "a1b2c3d4-0000-4000-8000-00000000000a"
DEV_B = "a1b2c3d4-0000-4000-8000-00000000000b"
BLOB = "ab" * 32


def load_vectors(name: str) -> dict[str, Any]:
    """Load spec/vectors/<name>.json, the file the JS tests load too."""
    return json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))


def new_id(n: int | None = None) -> str:
    """Return a fresh lowercase UUID, or a readable fixed one for n."""
    return str(uuid.uuid4()) if n is None else f"00000000-0000-4000-8000-{n:012d}"


class Phone:
    """A device that numbers its ops 1, 2, 3... and stamps them with its (maybe skewed) clock."""

    def __init__(self, device_id: str, skew_ms: int = 0, now_ms: int = NOW) -> None:
        self.device_id = device_id
        self.skew_ms = skew_ms
        self.now_ms = now_ms
        self.seq = 0
        self.clock: str | None = None
        self.offset_ms = 0  # learnt from the server at each sync, as the app does

    def local_now(self) -> int:
        """Return the phone's clock corrected by the offset learnt at the last sync."""
        return self.now_ms + self.skew_ms + self.offset_ms

    def learn(self, result: PushResult) -> None:
        """Do what the app does with a push response: measure the offset, merge the server stamp."""
        self.offset_ms = result.server_time_ms - (self.now_ms + self.skew_ms)
        self.clock = hlc.receive(self.clock, result.hlc, self.local_now(), self.device_id)

    def op(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        record_id: str | None = None,
        visit_id: int = VISIT,
        schema_version: int = 1,
    ) -> dict[str, Any]:
        """Return the next op, advancing the phone's seq and clock by one event."""
        self.seq += 1
        self.now_ms += 1000
        self.clock = hlc.tick(self.clock, self.local_now(), self.device_id)
        if record_id is None:
            record_id = f"{visit_id}:{payload['item_id']}" if kind == "checklist.set" else new_id()
        return {
            "op_id": new_id(),
            "seq": self.seq,
            "kind": kind,
            "record_id": record_id,
            "visit_id": visit_id,
            "hlc": self.clock,
            "schema_version": schema_version,
            "payload": payload,
            "device_time": "2026-11-28T09:15:00+08:00",
        }


def push(
    store: MemoryStore, device_id: str, ops: list[dict[str, Any]], now_ms: int = NOW
) -> PushResult:
    """Push ops as one batch."""
    return apply_push(store, device_id, ops, now_ms)


def statuses(result: PushResult) -> list[str]:
    """Return the per-op statuses in seq order."""
    return [r.status for r in result.results]


def make_store(**visit_fields: Any) -> MemoryStore:
    """Return a store holding visit 12 (fee 80 yuan, parts billable) and one known blob."""
    store = MemoryStore(now_ms=NOW)
    store.add_visit(VISIT, **{"fee_fen": 8000, **visit_fields})
    store.blobs.add(BLOB)
    return store


# --- payloads with defaults a test overrides by keyword ---


def transition(to: str, **kw: Any) -> dict[str, Any]:
    """Return a visit.transition payload."""
    base = {
        "to": to,
        "late_reason": None,
        "customer_informed": None,
        "permission_granted": None,
        "outcome_summary": None,
        "explanation": None,
        "escalate": None,
    }
    if to in ("in_progress", "completed"):
        base["permission_granted"] = True  # S17: the engine refuses these without the answer
    if to == "not_fixed":
        base["explanation"] = "零件缺货，已向客户致歉"  # S22
    return {**base, **kw}


def checklist(item_id: str, state: str = "done", note: str = "") -> dict[str, Any]:
    """Return a checklist.set payload."""
    return {"item_id": item_id, "state": state, "note": note}


def part(
    qty: int = 1, unit_cost_fen: int = 1000, reverses: str | None = None, **kw: Any
) -> dict[str, Any]:
    """Return a part.add payload."""
    base = {
        "kind": "used",
        "part_code": "PSU-450",
        "description": "電源 450W",
        "qty": qty,
        "unit_cost_fen": unit_cost_fen,
        "reverses": reverses,
    }
    return {**base, **kw}


def payment(amount_fen: int = 8000, **kw: Any) -> dict[str, Any]:
    """Return a payment.record payload."""
    base = {
        "method": "wechat",
        "amount_fen": amount_fen,
        "currency": "CNY",
        "payer": "張三",
        "receipt_no": "R-0001",
    }
    return {**base, **kw}


def void(payment_id: str, reason: str = "收錯金額") -> dict[str, Any]:
    """Return a payment.void payload."""
    return {"payment_id": payment_id, "reason": reason}


def signoff(digest: str, signed_hlc: str, blob: str = BLOB) -> dict[str, Any]:
    """Return a signoff.sign payload."""
    return {
        "customer_name": "張三",
        "signature_blob": blob,
        "digest": digest,
        "signed_hlc": signed_hlc,
    }
