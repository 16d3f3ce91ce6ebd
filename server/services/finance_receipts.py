"""The receipt register: every payment receipt per device, voids shown, gaps flagged (S23)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from ..domain.receipts import PAYMENT, find_gap_ranges, format_receipt_no, parse_receipt_no
from ..domain.timezone import day_bounds_utc
from ..extensions import db
from ..models import Device, Payment, PaymentVoid, User, Visit
from .visit_charges import visit_day_moment


@dataclass(frozen=True)
class GapRange:
    """A run of receipt numbers of one device that never reached the server."""

    first: str
    last: str
    count: int

    def __str__(self) -> str:
        return self.first if self.count == 1 else f"{self.first} – {self.last} ({self.count})"


@dataclass
class DeviceReceipts:
    """One device's payment receipts: issued, voided and missing numbers."""

    prefix: str
    device: Device | None
    engineer: User | None
    receipts: list[tuple[Payment, PaymentVoid | None]] = field(default_factory=list)
    missing: list[GapRange] = field(default_factory=list)

    @property
    def highest(self) -> int:
        return max((parse_receipt_no(p.receipt_no).seq for p, _ in self.receipts), default=0)

    @property
    def missing_count(self) -> int:
        return sum(g.count for g in self.missing)


@dataclass
class ReceiptRegister:
    devices: list[DeviceReceipts]
    # Receipts whose number is not well formed, or whose prefix is not their device's.
    irregular: list[tuple[Payment, str]]

    @property
    def missing_count(self) -> int:
        return sum(d.missing_count for d in self.devices)


def receipt_register(
    engineer_id: int | None = None, start: date | None = None, end: date | None = None
) -> ReceiptRegister:
    """Group receipts by device prefix and flag every gap in each device's sequence.

    With `start`/`end`, only receipts of visits on those business days are listed; the gaps are
    still found over each device's whole sequence (a gap is not a date's business).
    """
    query = select(Payment).order_by(Payment.receipt_no)
    if engineer_id is not None:
        query = query.where(Payment.user_id == engineer_id)
    payments = list(db.session.scalars(query))
    shown = _on_days(payments, start, end)
    voids = {
        v.payment_id: v
        for v in db.session.scalars(
            select(PaymentVoid).where(PaymentVoid.payment_id.in_([p.id for p in payments]))
        )
    }
    devices = {d.id: d for d in db.session.scalars(select(Device))}
    by_prefix_device = {d.receipt_prefix: d for d in devices.values()}
    groups: dict[str, list[Payment]] = defaultdict(list)
    irregular: list[tuple[Payment, str]] = []
    for p in payments:
        try:
            number = parse_receipt_no(p.receipt_no)
        except ValueError:
            irregular.append((p, "malformed"))
            continue
        if number.kind != PAYMENT:
            irregular.append((p, "malformed"))
            continue
        device = devices.get(p.device_id)
        if device is not None and device.receipt_prefix != number.prefix:
            irregular.append((p, "prefix_mismatch"))
        groups[number.prefix].append(p)
    out: list[DeviceReceipts] = []
    for prefix in sorted(groups):
        device = by_prefix_device.get(prefix)
        rows = sorted(groups[prefix], key=lambda p: parse_receipt_no(p.receipt_no).seq)
        engineer = (
            db.session.get(User, device.user_id)
            if device
            else db.session.get(User, rows[0].user_id)
        )
        gaps = find_gap_ranges(parse_receipt_no(p.receipt_no).seq for p in rows)
        out.append(
            DeviceReceipts(
                prefix=prefix,
                device=device,
                engineer=engineer,
                receipts=[(p, voids.get(p.id)) for p in rows if p.id in shown],
                missing=[
                    GapRange(
                        format_receipt_no(prefix, lo), format_receipt_no(prefix, hi), hi - lo + 1
                    )
                    for lo, hi in gaps
                ],
            )
        )
    return ReceiptRegister(out, irregular)


def _on_days(payments: list[Payment], start: date | None, end: date | None) -> set[str]:
    """Return the ids of the payments whose visit's business day is within [start, end]."""
    if start is None and end is None:
        return {p.id for p in payments}
    query = select(Payment.id).join(Visit, Visit.id == Payment.visit_id)
    if start is not None:
        query = query.where(visit_day_moment() >= day_bounds_utc(start)[0])
    if end is not None:
        query = query.where(visit_day_moment() < day_bounds_utc(end)[1])
    return set(db.session.scalars(query))
