"""An engineer's phone feeding finance through the real sync endpoint (`POST /api/sync/push`)."""

from __future__ import annotations

from typing import Any

from tests.api.sync_http import HttpPhone, part, payment, transition


class Phone(HttpPhone):
    """The sync test phone, with the steps finance tests take and a push that must apply all."""

    @property
    def prefix(self) -> str:
        """The device's receipt prefix, as receipt numbers show it."""
        return self.dev.receipt_prefix

    def arrive(self, visit_id: int) -> None:
        self.op("visit.transition", visit_id, transition("arrived", permission_granted=True))

    def complete(self, visit_id: int, summary: str = "fixed") -> None:
        self.op("visit.transition", visit_id, transition("completed", outcome_summary=summary))

    def part(self, visit_id: int, code: str, qty: int, unit_fen: int, kind: str = "used"):
        return self.op(
            "part.add",
            visit_id,
            part(
                qty=qty,
                unit_cost_fen=unit_fen,
                kind=kind,
                part_code=code,
                description=f"part {code}",
            ),
            record_id=None,
        )

    def correct(self, visit_id: int, part_op: dict[str, Any]):
        """Cancel a part event: the same part again, as a correction of it."""
        payload = {**part_op["payload"], "reverses": part_op["record_id"]}
        return self.op("part.add", visit_id, payload, record_id=None)

    def pay(self, visit_id: int, amount_fen: int, method: str = "cash", payer: str = "周老师"):
        return self.op(
            "payment.record",
            visit_id,
            payment(amount_fen, self.receipt_no(), method=method, payer=payer),
        )

    def skip_receipt(self) -> None:
        """Use up a receipt number without syncing it (a lost paper receipt)."""
        self.receipt_no()

    def void(self, visit_id: int, payment_op: dict[str, Any], reason: str):
        return self.op(
            "payment.void", visit_id, {"payment_id": payment_op["record_id"], "reason": reason}
        )

    def waive(self, visit_id: int, amount_fen: int, reason: str):
        return self.op("charge.waive", visit_id, {"amount_fen": amount_fen, "reason": reason})

    def push(self, ops=None, expect: int = 200, report: bool = False) -> list[str]:  # type: ignore[override]
        """Push the outbox; return each op's status and insist every op was applied."""
        count = len(self.outbox if ops is None else ops)
        body = super().push(ops, expect, report)
        statuses = [r["status"] for r in body["results"]]
        assert statuses == ["applied"] * count, body
        return statuses
