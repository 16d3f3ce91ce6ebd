"""An engineer's phone speaking the sync protocol over the real HTTP stack, for server tests."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from server.domain.timezone import COMPANY_TZ
from sync import hlc
from sync.digest import digest_visit
from sync.engine import visit_view
from tests.sync.sync_helpers import transition as transition  # re-exported for the tests

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)


class HttpPhone:
    """Numbers and stamps ops like the app, keeps an outbox, pushes and pulls through HTTP."""

    def __init__(self, device_client, skew_ms: int = 0) -> None:
        self.dev = device_client
        self.device_id = device_client.device_id
        self.skew_ms = skew_ms
        self.offset_ms = 0
        self.seq = 0
        self.clock: str | None = None
        self.outbox: list[dict[str, Any]] = []
        self.cursor: str | None = None
        self.receipts = 0

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.skew_ms + self.offset_ms

    def op(self, kind: str, visit_id: int, payload: dict[str, Any], record_id: str | None = None):
        """Queue the next op in the outbox and return it."""
        self.seq += 1
        self.clock = hlc.tick(self.clock, self.now_ms(), self.device_id)
        if record_id is None:
            record_id = (
                f"{visit_id}:{payload['item_id']}" if kind == "checklist.set" else str(uuid.uuid4())
            )
        op = {
            "op_id": str(uuid.uuid4()),
            "seq": self.seq,
            "kind": kind,
            "record_id": record_id,
            "visit_id": visit_id,
            "hlc": self.clock,
            "schema_version": 1,
            "payload": payload,
            # As the app writes it: the phone's wall clock, with its zone's offset. Not a fixed
            # day: finance reads when money was taken from it, and a fixed day drifts out of
            # every window the tests' own "today" opens (a statement's three settle days).
            "device_time": datetime.fromtimestamp(self.now_ms() / 1000, UTC)
            .astimezone(COMPANY_TZ)
            .isoformat(timespec="seconds"),
        }
        self.outbox.append(op)
        return op

    def receipt_no(self) -> str:
        self.receipts += 1
        return f"R-{self.dev.receipt_prefix}-{self.receipts:06d}"

    def outbox_report(self) -> dict[str, Any]:
        """What the app tells the server of its outbox with each push."""
        return {
            "high_seq": self.seq,
            "payment_seqs": [o["seq"] for o in self.outbox if o["kind"] == "payment.record"],
        }

    def push(
        self, ops: list[dict[str, Any]] | None = None, expect: int = 200, report: bool = False
    ) -> dict[str, Any]:
        """Send ops (the whole outbox by default); drop the ones the answer covers.

        With `report`, the push tells the server what the outbox holds, as the app does.
        """
        batch = self.outbox if ops is None else ops
        body = {"protocol": 1, "device_id": self.device_id, "ops": batch}
        if report:
            body["outbox"] = self.outbox_report()
        response = self.dev.post("/api/sync/push", json=body)
        assert response.status_code == expect, response.get_json()
        body = response.get_json()
        if response.status_code == 200:
            done = {
                r["op_id"]
                for r in body["results"]
                if r["status"] in ("applied", "duplicate", "rejected", "conflict")
            }
            self.outbox = [o for o in self.outbox if o["op_id"] not in done]
            server_ms = int(datetime.fromisoformat(body["server_time"]).timestamp() * 1000)
            self.offset_ms = server_ms - (int(time.time() * 1000) + self.skew_ms)
            self.clock = hlc.receive(self.clock, body["hlc"], self.now_ms(), self.device_id)
        return body

    def pull_all(self, limit: int = 500) -> list[dict[str, Any]]:
        """Pull pages until there is no more; return every change received."""
        received: list[dict[str, Any]] = []
        while True:
            query = {"limit": limit}
            if self.cursor:
                query["cursor"] = self.cursor
            response = self.dev.get("/api/sync/pull", query_string=query)
            assert response.status_code == 200, response.get_json()
            body = response.get_json()
            received.extend(body["changes"])
            self.cursor = body["cursor"]
            if body.get("hlc"):  # as the app does: later ops are stamped after the page
                self.clock = hlc.receive(self.clock, body["hlc"], self.now_ms(), self.device_id)
            if not body["has_more"]:
                return received

    def upload(self, data: bytes = PNG, content_type: str = "image/png") -> str:
        digest = hashlib.sha256(data).hexdigest()
        response = self.dev.put(
            f"/api/sync/blobs/{digest}", data=data, headers={"Content-Type": content_type}
        )
        assert response.status_code in (200, 201), response.get_json()
        return digest


def server_digest(visit_id: int) -> str:
    """Return the digest of the visit as the server holds it."""
    from server.syncing.store import SqlStore

    return digest_visit(visit_view(SqlStore(None), visit_id))


def part(qty: int = 1, unit_cost_fen: int = 1000, **kw: Any) -> dict[str, Any]:
    base = {
        "kind": "used",
        "part_code": "PSU-450",
        "description": "電源 450W",
        "qty": qty,
        "unit_cost_fen": unit_cost_fen,
        "reverses": None,
    }
    return {**base, **kw}


def payment(amount_fen: int, receipt_no: str, **kw: Any) -> dict[str, Any]:
    base = {
        "method": "cash",
        "amount_fen": amount_fen,
        "currency": "CNY",
        "payer": "周老師",
        "receipt_no": receipt_no,
    }
    return {**base, **kw}


def at_head(make, signed_device) -> tuple[HttpPhone, Any]:
    """An engineer's signed-in phone with a visit assigned, pulled up to the feed head."""
    engineer = make.user("engineer")
    visit = make.visit(engineer=engineer)
    phone = HttpPhone(signed_device(engineer))
    phone.pull_all()
    return phone, visit
