"""Finance fixtures: field records (payments, parts, voids, waivers) as the sync layer stores."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from server.accounts.operations import sign_in_device
from server.extensions import db
from server.finance.models import FeeRate
from server.visits.field_models import ChargeWaiver, PartEvent, Payment, PaymentVoid
from server.visits.models import Visit, VisitStatus


class FieldRecords:
    """Makes the rows an engineer's phone would have synced; every call commits."""

    def __init__(self, make) -> None:
        self.make = make
        self._seq: dict[str, int] = {}

    def _captured(self, user_id: int, device_id: str, received_at: datetime | None) -> dict:
        return {
            "device_id": device_id,
            "user_id": user_id,
            "op_id": str(uuid.uuid4()),
            "hlc": f"{int((received_at or datetime.now(UTC)).timestamp() * 1000)}:0:{device_id}",
            "device_time": (received_at or datetime.now(UTC)).isoformat(),
            "received_at": received_at or datetime.now(UTC),
        }

    def device(self, engineer):
        device, _ = sign_in_device(engineer, str(uuid.uuid4()), "phone", None)
        db.session.commit()
        return device

    def visit(
        self,
        engineer,
        arrived_at: datetime,
        *,
        in_warranty: bool = False,
        fee_fen: int | None = 30000,
        inspection_only: bool = False,
        equipment: dict | None = None,
        status: str = VisitStatus.COMPLETED,
    ) -> Visit:
        day = arrived_at.date()
        eq = equipment or (
            {"acceptance_date": day - timedelta(days=100), "warranty_months": 12}
            if in_warranty
            else {"acceptance_date": day - timedelta(days=800), "warranty_months": 12}
        )
        item = self.make.equipment(**eq)
        request = self.make.request(customer=item.customer, equipment_id=item.id)
        visit = self.make.visit(
            request=request,
            engineer=engineer,
            window_start=arrived_at - timedelta(minutes=30),
            window_end=arrived_at + timedelta(minutes=30),
            onsite_fee_fen=fee_fen,
            inspection_only=inspection_only,
        )
        visit.arrived_at = arrived_at
        visit.status = status
        db.session.commit()
        return visit

    def part(self, visit, code, qty, unit_fen, kind="used", reverses=None, received_at=None):
        row = PartEvent(
            id=str(uuid.uuid4()),
            visit_id=visit.id,
            kind=kind,
            part_code=code,
            description=f"part {code}",
            qty=qty,
            unit_cost_fen=unit_fen,
            reverses_id=reverses.id if reverses is not None else None,
            **self._captured(visit.engineer_id, "dev", received_at),
        )
        db.session.add(row)
        db.session.commit()
        return row

    def pay(self, visit, amount_fen, method="cash", *, device, seq=None, received_at=None, by=None):
        seq = seq or self._seq.get(device.id, 0) + 1
        self._seq[device.id] = max(seq, self._seq.get(device.id, 0))
        row = Payment(
            id=str(uuid.uuid4()),
            visit_id=visit.id,
            method=method,
            amount_fen=amount_fen,
            currency="CNY",
            payer="周老师",
            receipt_no=f"R-{device.receipt_prefix}-{seq:06d}",
            **self._captured(by.id if by else device.user_id, device.id, received_at),
        )
        db.session.add(row)
        db.session.commit()
        return row

    def void(self, payment, reason="typed the wrong amount", received_at=None):
        row = PaymentVoid(
            id=str(uuid.uuid4()),
            payment_id=payment.id,
            visit_id=payment.visit_id,
            reason=reason,
            **self._captured(payment.user_id, payment.device_id, received_at),
        )
        db.session.add(row)
        db.session.commit()
        return row

    def waive(self, visit, amount_fen, reason="long-standing customer"):
        row = ChargeWaiver(
            id=str(uuid.uuid4()),
            visit_id=visit.id,
            amount_fen=amount_fen,
            reason=reason,
            **self._captured(visit.engineer_id, "dev", None),
        )
        db.session.add(row)
        db.session.commit()
        return row

    def fee(self, effective_from: date, fen: int) -> FeeRate:
        rate = FeeRate(effective_from=effective_from, onsite_fee_fen=fen)
        db.session.add(rate)
        db.session.commit()
        return rate

    def price(self, code: str, effective_from: date, fen: int):
        from server.finance.models import PartPrice

        row = PartPrice(part_code=code, effective_from=effective_from, unit_cost_fen=fen)
        db.session.add(row)
        db.session.commit()
        return row


@pytest.fixture
def field(make) -> FieldRecords:
    return FieldRecords(make)


def shanghai(y, mo, d, h=10, mi=0) -> datetime:
    """Return a Shanghai wall-clock time as an aware UTC datetime."""
    from server.domain.timezone import COMPANY_TZ

    return datetime(y, mo, d, h, mi, tzinfo=COMPANY_TZ).astimezone(UTC)
