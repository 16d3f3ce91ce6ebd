"""A visit's field records for office tests, sent by the engineer's phone through sync.

Every record arrives as the field sends it: a phone signed in through the device sign-in
endpoint pushes ops to `POST /api/sync/push` (tests/api/field_phone.py), so the office pages and
the completeness check read the rows the sync engine writes, with the clocks it keeps.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from datetime import UTC, datetime, timedelta

from server.extensions import db
from server.feed.models import SyncOperation
from server.visits.field_models import (
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
from sync import hlc
from tests.api.field_phone import FieldPhone


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
    """One engineer's phone recording one visit; each call is one op, pushed at once.

    The phone's clock is the real one unless a call says `at` (when the engineer recorded it);
    the server receives each op as it is sent.
    """

    def __init__(self, visit: Visit, engineer, device_name: str = "张伟的手机") -> None:
        self.visit = visit
        self.engineer = engineer
        self.phone = FieldPhone(engineer, device_name)
        self.device = self.phone.device

    def other_device(self, device_name: str = "张伟的平板") -> FieldKit:
        """Another of the engineer's devices, signed in beside this one, on the same visit."""
        return FieldKit(self.visit, self.engineer, device_name)

    def blob(self, data: bytes | None = None, content_type: str = "image/png") -> str:
        """Upload a signature or photo (a signature by default); return its hash."""
        return self.phone.upload(data or signature_png(), content_type)

    def arrive(self, at: datetime | None = None, **fields) -> None:
        """Arrive (at `at` by the phone's clock) with the customer's permission to work.

        `fields` are the arrival's other answers, e.g. the late_reason a late arrival needs.
        """
        self.phone.transition(self.visit.id, "arrived", permission_granted=True, at=at, **fields)

    def finish(self, status: str = "completed", **fields) -> None:
        """Move the visit on; `fields` are the transition's answers (outcome_summary, ...)."""
        self.phone.transition(self.visit.id, status, **fields)

    def check(
        self,
        item_id: str,
        state: str = "done",
        note: str = "",
        *,
        at: datetime | None = None,
        expect: str = "applied",
    ) -> ChecklistEntry:
        self.phone.check(self.visit.id, item_id, state, note, at=at, expect=expect)
        return db.session.get(ChecklistEntry, (self.visit.id, item_id))

    def part(
        self,
        kind: str = "replaced",
        qty: int = 1,
        unit_cost_fen: int = 5000,
        reverses: PartEvent | None = None,
        code: str = "P-01",
        description: str = "电源模块",
    ) -> PartEvent:
        op = self.phone.part(
            self.visit.id,
            code,
            qty,
            unit_cost_fen,
            kind=kind,
            reverses=reverses.id if reverses else None,
            description=description,
        )
        return db.session.get(PartEvent, op["record_id"])

    def pay(self, amount_fen: int, method: str = "cash", receipt_no: str | None = None) -> Payment:
        op = self.phone.pay(self.visit.id, amount_fen, method, receipt_no=receipt_no)
        return db.session.get(Payment, op["record_id"])

    def void(self, payment: Payment, reason: str = "录错金额") -> PaymentVoid:
        op = self.phone.void(self.visit.id, payment.id, reason)
        return db.session.get(PaymentVoid, op["record_id"])

    def waive(self, amount_fen: int, reason: str = "老客户") -> ChargeWaiver:
        op = self.phone.waive(self.visit.id, amount_fen, reason)
        return db.session.get(ChargeWaiver, op["record_id"])

    def equipment_receipt(self, description: str = "交换机一台") -> EquipmentReceipt:
        op = self.phone.equipment_receipt(self.visit.id, description, signature_png())
        return db.session.get(EquipmentReceipt, op["record_id"])

    def damage(
        self, brand="华为", model="S5735", warranty_claimed=False, proof=False, card=False, photos=0
    ) -> DamageRecord:
        op = self.phone.damage(
            self.visit.id,
            brand,
            model,
            warranty_claimed,
            proof=signature_png(80, 60) if proof else None,
            card=signature_png(90, 60) if card else None,
            photos=tuple(signature_png(100 + i, 50) for i in range(photos)),
        )
        return db.session.get(DamageRecord, op["record_id"])

    def feedback(self, satisfaction: int = 5, comments: str = "满意") -> Feedback:
        op = self.phone.feedback(self.visit.id, satisfaction, comments)
        return db.session.get(Feedback, op["record_id"])

    def sign(self, name: str = "周老师", stale: bool = False) -> SignOff:
        """Have the customer sign for the visit as the server holds it.

        With `stale`, the phone showed the customer a visit the server no longer has (it had
        not heard of a change): the server keeps the sign-off and flags it stale at once.
        """
        digest = hashlib.sha256(b"what the customer saw").hexdigest() if stale else None
        op = self.phone.sign(self.visit.id, name, signature_png(), digest)
        return db.session.get(SignOff, op["record_id"])

    def conflict(self) -> Conflict:
        """Have another device of the engineer's write the `fix-once` item, and lose.

        Its clock is behind: it recorded the item open a minute before this phone's value was
        recorded, so the stored value stands, the other is kept beside it for the office, and
        the op is answered "conflict".
        """
        stored = db.session.get(ChecklistEntry, (self.visit.id, "fix-once"))
        assert stored is not None, "check('fix-once') first: a conflict needs a value to lose to"
        earlier = datetime.fromtimestamp(hlc.parse(stored.hlc).wall_ms / 1000, UTC)
        rival = self.other_device()
        op = rival.phone.check(
            self.visit.id,
            "fix-once",
            "open",
            "<b>未修复</b>",
            at=earlier - timedelta(minutes=1),
            expect="conflict",
        )
        return db.session.scalars(db.select(Conflict).where(Conflict.op_id == op["op_id"])).one()

    def refused(self) -> SyncOperation:
        """Send a payment of nothing, which the server refuses; return the kept operation."""
        op = self.phone.pay(self.visit.id, 0, expect="rejected")
        return db.session.scalars(
            db.select(SyncOperation).where(SyncOperation.op_id == op["op_id"])
        ).one()

    def commit(self) -> None:
        """Commit what the test changed itself (every op is committed by its push)."""
        db.session.commit()


def complete_visit(
    make,
    engineer=None,
    *,
    stale: bool = False,
    with_conflict: bool = False,
    fee_fen: int = 8000,
    in_warranty: bool = False,
    outcome: str = "更换电源模块,恢复正常",
):
    """Build a finished visit whose records are complete (unless `stale`/`with_conflict`).

    The steps follow the app's (static/js/screens/visit/steps.js): arrive, checklist, parts,
    outcome, charges, sign-off, feedback. The request came in two hours ago, the engineer
    arrived 50 minutes ago; the rest is recorded now.
    """
    engineer = engineer or make.user("engineer")
    customer = make.customer()
    now = datetime.now(UTC)
    accepted = now.date() - timedelta(days=100 if in_warranty else 800)
    equipment = make.equipment(customer, acceptance_date=accepted, warranty_months=12)
    request = make.request(
        customer, equipment_id=equipment.id, received_at=now - timedelta(hours=2)
    )
    visit = make.visit(request, engineer, onsite_fee_fen=fee_fen)
    kit = FieldKit(visit, engineer)
    kit.arrive(now - timedelta(minutes=50))
    kit.check("dress-badge")
    if with_conflict:
        # The engineer's tablet had recorded the item open; the phone's later "done" overwrites
        # it, and the server keeps the two side by side for the office.
        kit.other_device().check(
            "fix-once", "open", "<b>未修复</b>", at=now - timedelta(minutes=40)
        )
    kit.check("fix-once", note="已修复")
    kit.part("replaced", 1, 5000)
    kit.finish("completed", outcome_summary=outcome)
    owed = 0 if in_warranty else 5000 + fee_fen
    if owed:
        kit.pay(owed)
    kit.sign(stale=stale)
    kit.feedback()
    return visit, kit
