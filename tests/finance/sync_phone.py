"""An engineer's phone feeding finance through the real sync endpoint (`POST /api/sync/push`)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sync import hlc


class Phone:
    """Numbers, stamps and pushes ops as the app does; issues receipts from its own prefix."""

    def __init__(self, device_client) -> None:
        self.dev = device_client
        self.device_id = device_client.device_id
        self.prefix = device_client.receipt_prefix
        self.seq = 0
        self.receipts = 0
        self.clock: str | None = None
        self.outbox: list[dict[str, Any]] = []

    def op(self, kind: str, visit_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        self.clock = hlc.tick(self.clock, int(time.time() * 1000), self.device_id)
        op = {
            "op_id": str(uuid.uuid4()),
            "seq": self.seq,
            "kind": kind,
            "record_id": str(uuid.uuid4()),
            "visit_id": visit_id,
            "hlc": self.clock,
            "schema_version": 1,
            "payload": payload,
            "device_time": datetime.now(UTC).isoformat(),
        }
        self.outbox.append(op)
        return op

    def arrive(self, visit_id: int) -> None:
        self.op("visit.transition", visit_id, _transition("arrived", permission_granted=True))

    def complete(self, visit_id: int, summary: str = "fixed") -> None:
        self.op("visit.transition", visit_id, _transition("completed", outcome_summary=summary))

    def part(self, visit_id: int, code: str, qty: int, unit_fen: int, kind: str = "used"):
        return self.op(
            "part.add",
            visit_id,
            {
                "kind": kind,
                "part_code": code,
                "description": f"part {code}",
                "qty": qty,
                "unit_cost_fen": unit_fen,
                "reverses": None,
            },
        )

    def pay(self, visit_id: int, amount_fen: int, method: str = "cash", payer: str = "周老师"):
        self.receipts += 1
        return self.op(
            "payment.record",
            visit_id,
            {
                "method": method,
                "amount_fen": amount_fen,
                "currency": "CNY",
                "payer": payer,
                "receipt_no": f"R-{self.prefix}-{self.receipts:06d}",
            },
        )

    def skip_receipt(self) -> None:
        """Use up a receipt number without syncing it (a lost paper receipt)."""
        self.receipts += 1

    def void(self, visit_id: int, payment_op: dict[str, Any], reason: str):
        return self.op(
            "payment.void", visit_id, {"payment_id": payment_op["record_id"], "reason": reason}
        )

    def waive(self, visit_id: int, amount_fen: int, reason: str):
        return self.op("charge.waive", visit_id, {"amount_fen": amount_fen, "reason": reason})

    def push(self) -> list[str]:
        """Push the outbox; return each op's status and insist every op was applied."""
        response = self.dev.post(
            "/api/sync/push",
            json={"protocol": 1, "device_id": self.device_id, "ops": self.outbox},
        )
        assert response.status_code == 200, response.get_json()
        statuses = [r["status"] for r in response.get_json()["results"]]
        assert statuses == ["applied"] * len(self.outbox), response.get_json()
        self.outbox = []
        return statuses


def _transition(to: str, **kw: Any) -> dict[str, Any]:
    base = {
        "to": to,
        "late_reason": None,
        "customer_informed": None,
        "permission_granted": None,
        "outcome_summary": None,
        "explanation": None,
        "escalate": None,
    }
    return {**base, **kw}
