"""An engineer's phone that makes field data the way the field does, for server tests.

It signs in through the device sign-in endpoint (`POST /api/auth/device`) and sends every record
as an op through the sync endpoint (`POST /api/sync/push`), so the rows a test reads are rows
the sync engine wrote. Two clocks matter, as in the field:

- the phone's (`at=`): the op's clock stamp and device_time, when the engineer recorded it. A
  visit's arrival time is the phone's word (never later than the server's clock);
- the server's (`received_at=`): when the push arrived. It is the only clock a test fakes
  (freezegun), e.g. for a phone that was offline and synced days later.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from flask import current_app
from freezegun import freeze_time

from server.accounts.models import Device
from server.extensions import db
from tests.api.device_client import DeviceClient
from tests.api.sync_http import PNG, HttpPhone, part, payment, server_digest, transition


class Refused(AssertionError):
    """The server did not apply an op as expected; `result` is its answer for the op."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(f"{result['status']}: {result.get('reason')}")
        self.result = result

    @property
    def status(self) -> str:
        return self.result["status"]

    @property
    def reason(self) -> str:
        return self.result.get("reason") or ""


def server_clock(at: datetime | None) -> AbstractContextManager:
    """Set the server's clock to `at` for the block (None: leave it alone)."""
    return freeze_time(at) if at is not None else nullcontext()


class FieldPhone(HttpPhone):
    """A signed-in phone whose ops go one push each, each answered as the test expects."""

    def __init__(self, user, name: str = "test phone") -> None:
        super().__init__(DeviceClient(current_app.test_client(), user, device_name=name))
        self.user = user
        # What the phone's clock shows while an op is recorded; None: the (server's) real clock.
        self.wall: datetime | None = None
        self.equipment_receipts = 0

    @property
    def device(self) -> Device:
        """The device's row, as sign-in stored it."""
        return db.session.get(Device, self.device_id)

    @property
    def prefix(self) -> str:
        """The device's own receipt prefix (R-<prefix>-000001)."""
        return self.dev.receipt_prefix

    def now_ms(self) -> int:
        if self.wall is not None:
            return int(self.wall.timestamp() * 1000)
        return super().now_ms()

    def record(
        self,
        kind: str,
        visit_id: int,
        payload: dict[str, Any],
        record_id: str | None = None,
        *,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Queue an op recorded when the phone's clock shows `at` (None: now); return it."""
        self.wall = at
        try:
            return self.op(kind, visit_id, payload, record_id)
        finally:
            self.wall = None

    def deliver(
        self, *ops: dict[str, Any], received_at: datetime | None = None, expect: str = "applied"
    ) -> list[dict[str, Any]]:
        """Push the outbox with the server's clock at `received_at`; return the ops' results.

        Raise Refused unless the server answered `expect` for each of `ops`.
        """
        with server_clock(received_at):
            body = self.push()
        answers = {r["op_id"]: r for r in body["results"]}
        results = [answers[op["op_id"]] for op in ops]
        for result in results:
            if result["status"] != expect:
                raise Refused(result)
        return results

    def send(
        self,
        kind: str,
        visit_id: int,
        payload: dict[str, Any],
        record_id: str | None = None,
        *,
        at: datetime | None = None,
        received_at: datetime | None = None,
        expect: str = "applied",
    ) -> dict[str, Any]:
        """Record one op at `at` and push it at `received_at`; return the op."""
        op = self.record(kind, visit_id, payload, record_id, at=at)
        self.deliver(op, received_at=received_at, expect=expect)
        return op

    def sync(self, at: datetime | None = None) -> dict[str, Any]:
        """Sync with nothing to send, reporting the outbox as the app does, at `at`."""
        with server_clock(at):
            return self.push(report=True)

    # --- the steps of a visit, as the app sends them ---

    def transition(
        self,
        visit_id: int,
        to: str,
        *,
        at: datetime | None = None,
        received_at: datetime | None = None,
        expect: str = "applied",
        **fields: Any,
    ):
        """Move the visit on; `fields` are the transition's answers (permission_granted, ...)."""
        payload = transition(to, **fields)
        return self.send(
            "visit.transition", visit_id, payload, at=at, received_at=received_at, expect=expect
        )

    def check(self, visit_id: int, item_id: str, state: str = "done", note: str = "", **when):
        payload = {"item_id": item_id, "state": state, "note": note}
        return self.send("checklist.set", visit_id, payload, **when)

    def part(
        self,
        visit_id: int,
        code: str,
        qty: int,
        unit_cost_fen: int,
        kind: str = "used",
        reverses: str | None = None,
        description: str = "",
        **when,
    ):
        payload = part(
            qty=qty,
            unit_cost_fen=unit_cost_fen,
            kind=kind,
            part_code=code,
            description=description,
            reverses=reverses,
        )
        return self.send("part.add", visit_id, payload, **when)

    def pay(
        self,
        visit_id: int,
        amount_fen: int,
        method: str = "cash",
        payer: str = "周老师",
        receipt_no: str | None = None,
        **when,
    ):
        number = receipt_no or self.receipt_no()
        payload = payment(amount_fen, number, method=method, payer=payer)
        return self.send("payment.record", visit_id, payload, **when)

    def void(self, visit_id: int, payment_id: str, reason: str, **when):
        payload = {"payment_id": payment_id, "reason": reason}
        return self.send("payment.void", visit_id, payload, **when)

    def waive(self, visit_id: int, amount_fen: int, reason: str, **when):
        payload = {"amount_fen": amount_fen, "reason": reason}
        return self.send("charge.waive", visit_id, payload, **when)

    def equipment_receipt(self, visit_id: int, description: str, signature: bytes = PNG, **when):
        self.equipment_receipts += 1
        payload = {
            "receipt_no": f"E-{self.prefix}-{self.equipment_receipts:06d}",
            "description": description,
            "brand": "华为",
            "model": "S5735",
            "serial": "SN-1",
            "accessories": "电源线",
            "condition": "外壳有划痕",
            "customer_name": "周老师",
            "signature_blob": self.upload(signature),
        }
        return self.send("equipment_receipt.issue", visit_id, payload, **when)

    def damage(
        self,
        visit_id: int,
        brand: str,
        model: str,
        warranty_claimed: bool = False,
        proof: bytes | None = None,
        card: bytes | None = None,
        photos: tuple[bytes, ...] = (),
        **when,
    ):
        payload = {
            "equipment_id": None,
            "brand": brand,
            "model": model,
            "description": "电源损坏",
            "warranty_claimed": warranty_claimed,
            "purchase_proof_blob": self.upload(proof) if proof else None,
            "warranty_card_blob": self.upload(card) if card else None,
            "photo_blobs": [self.upload(p) for p in photos],
        }
        return self.send("damage.record", visit_id, payload, **when)

    def feedback(self, visit_id: int, satisfaction: int = 5, comments: str = "", **when):
        payload = {"satisfaction": satisfaction, "comments": comments}
        return self.send("feedback.submit", visit_id, payload, **when)

    def sign(
        self,
        visit_id: int,
        customer_name: str = "周老师",
        signature: bytes = PNG,
        digest: str | None = None,
        *,
        at: datetime | None = None,
        received_at: datetime | None = None,
    ):
        """Have the customer sign; by default for the visit as the server holds it.

        A phone in step with the server shows the customer what the server holds, so its digest
        is the server's (`server_digest`); pass another to sign for a view the server lacks.
        """
        payload = {
            "customer_name": customer_name,
            "signature_blob": self.upload(signature),
            "digest": digest or server_digest(visit_id),
            "signed_hlc": "",  # the op's own stamp, set below once the phone has ticked
        }
        op = self.record("signoff.sign", visit_id, payload, at=at)
        op["payload"]["signed_hlc"] = op["hlc"]
        self.deliver(op, received_at=received_at)
        return op
