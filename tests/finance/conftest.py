"""Finance fixtures: field records (payments, parts, voids, waivers) sent by engineers' phones.

Every record arrives through the sync endpoint, pushed by a phone signed in through the device
sign-in endpoint (tests/api/field_phone.py), so finance reads the rows the sync engine writes.
Fees and part prices are entered as finance enters them (server.finance.prices).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from server.accounts.models import Device
from server.dispatch import operations as dispatch
from server.domain.timezone import COMPANY_TZ
from server.extensions import db
from server.finance import prices as finance_prices
from server.finance.models import FeeRate, PartPrice
from server.visits.field_models import ChargeWaiver, PartEvent, Payment, PaymentVoid
from server.visits.models import Visit, VisitStatus
from tests.api.field_phone import FieldPhone
from tests.api.sync_http import transition


class FieldRecords:
    """Engineers' phones working visits, one op per call, each pushed through sync.

    Clocks, as in the field: a visit's records are made on site, a minute apart from its
    arrival on, and pushed at once (the server's clock is set to that moment). `received_at`
    says the server got one later (the phone was offline); `taken_at` says what the phone's
    clock showed when the money was taken.
    """

    def __init__(self, make) -> None:
        self.make = make
        self._phones: dict[str, FieldPhone] = {}  # by device id
        self._current: dict[int, FieldPhone] = {}  # each engineer's latest phone
        self._visit_phone: dict[int, FieldPhone] = {}  # the phone that arrived at each visit
        self._moment: dict[int, datetime] = {}  # each visit's last on-site moment used
        self._seq: dict[str, int] = {}
        self._clerk = None

    def device(self, engineer) -> Device:
        """Sign a new phone of the engineer's in; the engineer's next visits are worked on it."""
        phone = FieldPhone(engineer, f"{engineer.username}的手机")
        self._phones[phone.device_id] = phone
        self._current[engineer.id] = phone
        return phone.device

    def sync(self, device, at: datetime) -> None:
        """Have the phone sync at `at` with nothing left to send (the next morning, say)."""
        self._phones[device.id].sync(at)

    def _phone_of(self, engineer) -> FieldPhone:
        if engineer.id not in self._current:
            self.device(engineer)
        return self._current[engineer.id]

    def _on_site(self, visit: Visit) -> datetime:
        """The next moment on site at the visit: a minute after the last one used."""
        last = self._moment.get(visit.id) or visit.arrived_at or visit.window_start
        self._moment[visit.id] = last + timedelta(minutes=1)
        return self._moment[visit.id]

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
        """Register a request an hour before `arrived_at` and send the engineer, who arrives then.

        The visit ends `status`: completed (default) or not_fixed by the phone; cancelled by the
        office after the arrival; scheduled: nobody has arrived.
        """
        day = arrived_at.date()
        eq = equipment or (
            {"acceptance_date": day - timedelta(days=100), "warranty_months": 12}
            if in_warranty
            else {"acceptance_date": day - timedelta(days=800), "warranty_months": 12}
        )
        item = self.make.equipment(**eq)
        request = self.make.request(
            customer=item.customer,
            equipment_id=item.id,
            received_at=arrived_at - timedelta(hours=1),
        )
        visit = self.make.visit(
            request=request,
            engineer=engineer,
            window_start=arrived_at - timedelta(minutes=30),
            window_end=arrived_at + timedelta(minutes=30),
            onsite_fee_fen=fee_fen,
            inspection_only=inspection_only,
        )
        if status == VisitStatus.SCHEDULED:
            return visit
        phone = self._phone_of(engineer)
        self._visit_phone[visit.id] = phone
        self._moment[visit.id] = arrived_at
        ops = [
            phone.record(
                "visit.transition",
                visit.id,
                transition("arrived", permission_granted=True),
                at=arrived_at,
            )
        ]
        if status not in (VisitStatus.ARRIVED, VisitStatus.CANCELLED):
            fields = {"outcome_summary": "fixed"} if status == VisitStatus.COMPLETED else {}
            done = self._on_site(visit)
            ops.append(
                phone.record("visit.transition", visit.id, transition(status, **fields), at=done)
            )
        # One push, as the phone sends what it recorded on site.
        phone.deliver(*ops, received_at=self._moment[visit.id])
        assert visit.arrived_at == arrived_at, (
            f"the phone's clock had passed {arrived_at}: the server put the arrival at "
            f"{visit.arrived_at}. Make an engineer's visits in the order they happened."
        )
        if status == VisitStatus.CANCELLED:
            dispatch.cancel_visit(visit, "客户取消")
            db.session.commit()
        return visit

    def part(self, visit, code, qty, unit_fen, kind="used", reverses=None, received_at=None):
        phone = self._visit_phone.get(visit.id) or self._phone_of(visit.engineer)
        at = self._on_site(visit)
        op = phone.part(
            visit.id,
            code,
            qty,
            unit_fen,
            kind=kind,
            reverses=reverses.id if reverses is not None else None,
            description=f"part {code}",
            at=at,
            received_at=received_at or at,
        )
        return db.session.get(PartEvent, op["record_id"])

    def pay(
        self,
        visit,
        amount_fen,
        method="cash",
        *,
        device,
        seq=None,
        received_at=None,
        taken_at=None,
        payer="周老师",
        receipt_no=None,
    ) -> Payment:
        """Take money on `device`; `seq` is the receipt number's (default: the device's next).

        `receipt_no` sends another number than the device's own. Raise Refused
        (tests/api/field_phone.py) if the server does not store the payment.
        """
        phone = self._phones[device.id]
        seq = seq or self._seq.get(device.id, 0) + 1
        self._seq[device.id] = max(seq, self._seq.get(device.id, 0))
        at = taken_at or self._on_site(visit)
        op = phone.pay(
            visit.id,
            amount_fen,
            method,
            payer=payer,
            receipt_no=receipt_no or f"R-{phone.prefix}-{seq:06d}",
            at=at,
            received_at=received_at or at,
        )
        return db.session.get(Payment, op["record_id"])

    def void(self, payment, reason="typed the wrong amount", received_at=None) -> PaymentVoid:
        """Void a payment on the phone that took it."""
        phone = self._phones[payment.device_id]
        at = self._on_site(db.session.get(Visit, payment.visit_id))
        op = phone.void(payment.visit_id, payment.id, reason, at=at, received_at=received_at or at)
        return db.session.get(PaymentVoid, op["record_id"])

    def waive(self, visit, amount_fen, reason="long-standing customer") -> ChargeWaiver:
        phone = self._visit_phone.get(visit.id) or self._phone_of(visit.engineer)
        at = self._on_site(visit)
        op = phone.waive(visit.id, amount_fen, reason, at=at, received_at=at)
        return db.session.get(ChargeWaiver, op["record_id"])

    def _finance_clerk(self):
        if self._clerk is None:
            self._clerk = self.make.user("finance", username="price-clerk")
        return self._clerk

    def fee(self, effective_from: date, fen: int, by=None) -> FeeRate:
        """Set the on-site fee from a day on, as finance does (audited)."""
        data = {"effective_from": effective_from, "onsite_fee_fen": fen}
        rate = finance_prices.add_fee_rate(data, by or self._finance_clerk())
        db.session.commit()
        return rate

    def price(self, code: str, effective_from: date, fen: int, by=None) -> PartPrice:
        """Set a part's price from a day on, as finance does (audited)."""
        data = {"part_code": code, "effective_from": effective_from, "unit_cost_fen": fen}
        price = finance_prices.add_part_price(data, by or self._finance_clerk())
        db.session.commit()
        return price


@pytest.fixture
def field(make) -> FieldRecords:
    return FieldRecords(make)


def shanghai(y, mo, d, h=10, mi=0) -> datetime:
    """Return a Shanghai wall-clock time as an aware UTC datetime."""
    return datetime(y, mo, d, h, mi, tzinfo=COMPANY_TZ).astimezone(UTC)
