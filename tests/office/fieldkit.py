"""Build what the field would have synced for a visit, straight into the tables.

The office pages only read these rows; the sync endpoint that writes them in production is
built elsewhere. Every row carries who (user, device) and when (device time and server time).
"""

from __future__ import annotations

import hashlib
import struct
import uuid
import zlib
from datetime import UTC, datetime, timedelta

from server.accounts.models import Device
from server.domain.timezone import COMPANY_TZ
from server.extensions import db
from server.feed.models import SyncOperation
from server.visits.field_models import (
    Blob,
    ChargeWaiver,
    ChecklistEntry,
    Conflict,
    DamageRecord,
    EquipmentReceipt,
    Feedback,
    PartEvent,
    Payment,
    PaymentVoid,
    SignOff,
)
from server.visits.models import Visit


def signature_png(width: int = 120, height: int = 40) -> bytes:
    """Return a small PNG with a wavy stroke, standing in for a customer's signature."""
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type: none
        for x in range(width):
            on = abs(y - (height // 2 + int(8 * ((x % 30) - 15) / 15))) <= 1
            row += b"\x10\x30\x80" if on else b"\xff\xff\xff"
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


class FieldKit:
    """Write a visit's field records as one engineer on one device."""

    def __init__(self, visit: Visit, engineer, device_name: str = "张伟的手机") -> None:
        self.visit = visit
        self.engineer = engineer
        self.seq = 0
        self.base = datetime.now(UTC) - timedelta(hours=1)
        self.device = Device(
            id=str(uuid.uuid4()),
            user_id=engineer.id,
            name=device_name,
            token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
            receipt_prefix=uuid.uuid4().hex[:6].upper(),
            expires_at=datetime.now(UTC) + timedelta(days=30),
        )
        db.session.add(self.device)
        db.session.flush()

    def _captured(self, kind: str, record_id: str, payload: dict, status: str = "applied") -> dict:
        """Log the operation in the history and return the capture columns for the record."""
        self.seq += 1
        op_id = str(uuid.uuid4())
        device_time = (self.base + timedelta(minutes=self.seq)).astimezone(COMPANY_TZ)
        hlc = f"{int(device_time.timestamp() * 1000):015d}:0000:{self.device.id}"
        db.session.add(
            SyncOperation(
                op_id=op_id,
                device_id=self.device.id,
                user_id=self.engineer.id,
                seq=self.seq,
                kind=kind,
                record_id=record_id,
                visit_id=self.visit.id,
                hlc=hlc,
                schema_version=1,
                raw={
                    "op_id": op_id,
                    "seq": self.seq,
                    "kind": kind,
                    "record_id": record_id,
                    "visit_id": self.visit.id,
                    "hlc": hlc,
                    "schema_version": 1,
                    "payload": payload,
                    "device_time": device_time.isoformat(timespec="seconds"),
                },
                device_time=device_time.isoformat(timespec="seconds"),
                status=status,
            )
        )
        return {
            "device_id": self.device.id,
            "user_id": self.engineer.id,
            "op_id": op_id,
            "hlc": hlc,
            "device_time": device_time.isoformat(timespec="seconds"),
        }

    def blob(self, data: bytes | None = None, content_type: str = "image/png") -> str:
        data = data or signature_png()
        sha = hashlib.sha256(data).hexdigest()
        if db.session.get(Blob, sha) is None:
            db.session.add(Blob(sha256=sha, content_type=content_type, size=len(data), data=data))
        return sha

    def arrive(self, at: datetime) -> None:
        self.visit.arrived_at = at
        self.visit.arrived_device_time = at.isoformat()
        self.visit.status = "arrived"
        self.visit.permission_granted = True
        self._captured(
            "visit.transition", str(self.visit.id), {"to": "arrived", "permission_granted": True}
        )

    def finish(self, status: str = "completed", **fields) -> None:
        self.visit.status = status
        for key, value in fields.items():
            setattr(self.visit, key, value)
        self._captured("visit.transition", str(self.visit.id), {"to": status})

    def check(self, item_id: str, state: str = "done", note: str = "") -> ChecklistEntry:
        record_id = f"{self.visit.id}:{item_id}"
        payload = {"item_id": item_id, "state": state, "note": note}
        entry = ChecklistEntry(
            visit_id=self.visit.id,
            item_id=item_id,
            state=state,
            note=note,
            **self._captured("checklist.set", record_id, payload),
        )
        db.session.add(entry)
        return entry

    def part(
        self,
        kind: str = "replaced",
        qty: int = 1,
        unit_cost_fen: int = 5000,
        reverses=None,
        code="P-01",
        description="电源模块",
    ) -> PartEvent:
        pid = str(uuid.uuid4())
        payload = {"kind": kind, "part_code": code, "qty": qty, "unit_cost_fen": unit_cost_fen}
        event = PartEvent(
            id=pid,
            visit_id=self.visit.id,
            kind=kind,
            part_code=code,
            description=description,
            qty=qty,
            unit_cost_fen=unit_cost_fen,
            reverses_id=reverses.id if reverses else None,
            **self._captured("part.add", pid, payload),
        )
        db.session.add(event)
        db.session.flush()
        return event

    def pay(self, amount_fen: int, method: str = "cash", receipt_no: str | None = None) -> Payment:
        pid = str(uuid.uuid4())
        receipt_no = receipt_no or f"{self.device.receipt_prefix}-{self.seq + 1:04d}"
        payment = Payment(
            id=pid,
            visit_id=self.visit.id,
            method=method,
            amount_fen=amount_fen,
            payer="周老师",
            receipt_no=receipt_no,
            **self._captured("payment.record", pid, {"amount_fen": amount_fen}),
        )
        db.session.add(payment)
        db.session.flush()
        return payment

    def void(self, payment: Payment, reason: str = "录错金额") -> PaymentVoid:
        vid = str(uuid.uuid4())
        void = PaymentVoid(
            id=vid,
            payment_id=payment.id,
            visit_id=self.visit.id,
            reason=reason,
            **self._captured("payment.void", vid, {"payment_id": payment.id}),
        )
        db.session.add(void)
        return void

    def waive(self, amount_fen: int, reason: str = "老客户") -> ChargeWaiver:
        wid = str(uuid.uuid4())
        waiver = ChargeWaiver(
            id=wid,
            visit_id=self.visit.id,
            amount_fen=amount_fen,
            reason=reason,
            **self._captured("charge.waive", wid, {"amount_fen": amount_fen}),
        )
        db.session.add(waiver)
        return waiver

    def equipment_receipt(self, description: str = "交换机一台") -> EquipmentReceipt:
        rid = str(uuid.uuid4())
        receipt = EquipmentReceipt(
            id=rid,
            visit_id=self.visit.id,
            receipt_no=f"ER-{rid[:8]}",
            description=description,
            brand="华为",
            model="S5735",
            serial="SN-1",
            customer_name="周老师",
            signature_blob=self.blob(),
            **self._captured("equipment_receipt.issue", rid, {"description": description}),
        )
        db.session.add(receipt)
        return receipt

    def damage(
        self, brand="华为", model="S5735", warranty_claimed=False, proof=False, card=False, photos=0
    ) -> DamageRecord:
        did = str(uuid.uuid4())
        record = DamageRecord(
            id=did,
            visit_id=self.visit.id,
            brand=brand,
            model=model,
            description="电源损坏",
            warranty_claimed=warranty_claimed,
            purchase_proof_blob=self.blob(signature_png(80, 60)) if proof else None,
            warranty_card_blob=self.blob(signature_png(90, 60)) if card else None,
            photo_blobs=[self.blob(signature_png(100 + i, 50)) for i in range(photos)],
            **self._captured("damage.record", did, {"brand": brand, "model": model}),
        )
        db.session.add(record)
        return record

    def feedback(self, satisfaction: int = 5, comments: str = "满意") -> Feedback:
        fid = str(uuid.uuid4())
        feedback = Feedback(
            id=fid,
            visit_id=self.visit.id,
            satisfaction=satisfaction,
            comments=comments,
            **self._captured("feedback.submit", fid, {"satisfaction": satisfaction}),
        )
        db.session.add(feedback)
        return feedback

    def sign(self, name: str = "周老师", stale: bool = False) -> SignOff:
        sid = str(uuid.uuid4())
        digest = hashlib.sha256(b"what the customer saw").hexdigest()
        captured = self._captured("signoff.sign", sid, {"customer_name": name})
        signoff = SignOff(
            id=sid,
            visit_id=self.visit.id,
            customer_name=name,
            signature_blob=self.blob(),
            digest=digest,
            server_digest=hashlib.sha256(b"changed later").hexdigest() if stale else digest,
            signed_hlc=captured["hlc"],
            stale=stale,
            stale_reason="A part was added after signing" if stale else None,
            **captured,
        )
        db.session.add(signoff)
        return signoff

    def conflict(self, entity: str = "checklist_entry", kind: str = "lww_lost") -> Conflict:
        conflict = Conflict(
            visit_id=self.visit.id,
            entity=entity,
            record_id=f"{self.visit.id}:fix-once",
            kind=kind,
            reason="a later write is already stored",
            kept={"state": "done", "note": "已修复"},
            other={"state": "open", "note": "<b>未修复</b>"},
            device_id=self.device.id,
        )
        db.session.add(conflict)
        db.session.flush()
        return conflict

    def refused(
        self,
        kind: str = "payment.record",
        status: str = "rejected",
        reason: str = "payload.amount_fen: must be from 1",
    ) -> SyncOperation:
        self._captured(kind, str(uuid.uuid4()), {"amount_fen": 0}, status=status)
        db.session.flush()
        op = db.session.scalars(
            db.select(SyncOperation).where(
                SyncOperation.device_id == self.device.id, SyncOperation.seq == self.seq
            )
        ).one()
        op.reason = reason
        return op

    def commit(self) -> None:
        db.session.commit()


def complete_visit(
    make,
    engineer=None,
    *,
    stale: bool = False,
    with_conflict: bool = False,
    fee_fen: int = 8000,
    in_warranty: bool = False,
):
    """Build a finished visit whose records are complete (unless `stale`/`with_conflict`)."""
    engineer = engineer or make.user("engineer")
    customer = make.customer()
    accepted = datetime.now(UTC).date() - timedelta(days=100 if in_warranty else 800)
    equipment = make.equipment(customer, acceptance_date=accepted, warranty_months=12)
    request = make.request(customer, equipment_id=equipment.id)
    visit = make.visit(request, engineer, onsite_fee_fen=fee_fen)
    kit = FieldKit(visit, engineer)
    kit.arrive(datetime.now(UTC) - timedelta(minutes=50))
    kit.check("dress-badge")
    kit.check("fix-once")
    kit.part("replaced", 1, 5000)
    owed = 0 if in_warranty else 5000 + fee_fen
    if owed:
        kit.pay(owed)
    kit.feedback()
    kit.sign(stale=stale)
    if with_conflict:
        kit.conflict()
    kit.finish("completed", outcome_summary="更换电源模块,恢复正常")
    kit.commit()
    return visit, kit
