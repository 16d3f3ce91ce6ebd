"""The receipt register: every payment receipt per device, voids shown, gaps flagged (S23)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from server.accounts.models import Device, User
from server.domain.receipts import (
    PAYMENT,
    find_gap_ranges,
    format_receipt_no,
    parse_payment_numbers,
    parse_receipt_no,
)
from server.domain.timezone import day_bounds_utc
from server.extensions import count_rows, db
from server.visits.field_models import Payment, PaymentVoid
from server.visits.models import Visit, visit_moment


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
    """One device's payment receipts: issued (those on the page), voided and missing numbers."""

    prefix: str
    device: Device | None
    engineer: User | None
    receipts: list[tuple[Payment, PaymentVoid | None]] = field(default_factory=list)
    missing: list[GapRange] = field(default_factory=list)
    # The device's highest number over its whole sequence, not only the receipts shown.
    highest: int = 0

    @property
    def missing_count(self) -> int:
        return sum(g.count for g in self.missing)


@dataclass
class ReceiptRegister:
    devices: list[DeviceReceipts]
    # Receipts whose number is not well formed, or whose prefix is not their device's.
    irregular: list[tuple[Payment, str]]
    # Which page of the receipts is listed (None: all of them).
    meta: dict[str, int] | None = None

    @property
    def missing_count(self) -> int:
        return sum(d.missing_count for d in self.devices)


def receipt_register(
    engineer_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
    page: int | None = None,
    per_page: int = 100,
    *,
    receipts: bool = True,
) -> ReceiptRegister:
    """Group receipts by device prefix and flag every gap in each device's sequence.

    With `start`/`end`, only receipts of visits on those business days are listed; the gaps are
    still found over each device's whole sequence (a gap is not a date's business). With
    `page`, only that page of the listed receipts is loaded: the gaps come from the numbers
    alone, so a year of receipts is never loaded as records. Without `receipts`, none is
    listed: only the gaps (the overview's "missing receipts").
    """
    devices = {d.id: d for d in db.session.scalars(select(Device))}
    by_prefix_device = {d.receipt_prefix: d for d in devices.values()}
    mine = [Payment.user_id == engineer_id] if engineer_id is not None else []
    # A year of receipt numbers as one string per device, parsed in one pass: no row each.
    seqs: dict[str, list[int]] = defaultdict(list)
    odd_numbers: dict[str, str] = {}
    for device_id, joined in db.session.execute(
        select(Payment.device_id, func.aggregate_strings(Payment.receipt_no, "\n"))
        .where(*mine)
        .group_by(Payment.device_id)
    ):
        numbers = joined.split("\n")
        device = devices.get(device_id)
        parsed = parse_payment_numbers(numbers)
        prefixes = {parts[0] if parts else None for parts in parsed}
        if device is not None and prefixes == {device.receipt_prefix}:
            # The usual case, every number well formed and the device's own: no row each.
            seqs[device.receipt_prefix].extend([parts[1] for parts in parsed])
            continue
        for number, parts in zip(numbers, parsed, strict=True):
            if parts is None:
                odd_numbers[number] = "malformed"
                continue
            if device is not None and device.receipt_prefix != parts[0]:
                # Another device's prefix (never from a phone: sync refuses it).
                odd_numbers[number] = "prefix_mismatch"
            seqs[parts[0]].append(parts[1])
    odd = (
        [
            (pid, odd_numbers[number])
            for pid, number in db.session.execute(
                select(Payment.id, Payment.receipt_no)
                .where(Payment.receipt_no.in_(list(odd_numbers)), *mine)
                .order_by(Payment.receipt_no)
            )
        ]
        if odd_numbers
        else []
    )
    # Who issued a prefix no device holds any more: whoever took its first receipt.
    owner = {
        prefix: db.session.scalar(
            select(Payment.user_id)
            .where(Payment.receipt_no.like(f"{PAYMENT}-{prefix}-%"), *mine)
            .order_by(Payment.receipt_no)
            .limit(1)
        )
        for prefix in seqs
        if prefix not in by_prefix_device
    }

    listed, meta = _listed(engineer_id, start, end, page, per_page) if receipts else ([], None)
    voids = (
        {
            v.payment_id: v
            for v in db.session.scalars(
                select(PaymentVoid).where(PaymentVoid.payment_id.in_([p.id for p in listed]))
            )
        }
        if listed
        else {}
    )
    shown: dict[str, list[Payment]] = defaultdict(list)
    for p in listed:
        try:
            number = parse_receipt_no(p.receipt_no)
        except ValueError:
            continue
        if number.kind == PAYMENT:
            shown[number.prefix].append(p)
    engineer_of = {
        prefix: by_prefix_device[prefix].user_id if prefix in by_prefix_device else owner[prefix]
        for prefix in seqs
    }
    users = {
        u.id: u
        for u in db.session.scalars(select(User).where(User.id.in_(set(engineer_of.values()))))
    }
    out: list[DeviceReceipts] = []
    for prefix in sorted(seqs):
        rows = sorted(shown[prefix], key=lambda p: parse_receipt_no(p.receipt_no).seq)
        out.append(
            DeviceReceipts(
                prefix=prefix,
                device=by_prefix_device.get(prefix),
                engineer=users.get(engineer_of[prefix]),
                receipts=[(p, voids.get(p.id)) for p in rows],
                missing=[
                    GapRange(
                        format_receipt_no(prefix, lo), format_receipt_no(prefix, hi), hi - lo + 1
                    )
                    for lo, hi in find_gap_ranges(seqs[prefix])
                ],
                highest=max(seqs[prefix]),
            )
        )
    odd_payments = {
        p.id: p
        for p in db.session.scalars(select(Payment).where(Payment.id.in_([i for i, _ in odd])))
    }
    return ReceiptRegister(out, [(odd_payments[i], why) for i, why in odd], meta)


def _listed(
    engineer_id: int | None,
    start: date | None,
    end: date | None,
    page: int | None,
    per_page: int,
) -> tuple[list[Payment], dict[str, int] | None]:
    """Return the receipts to list (of visits on those business days), one page if asked."""
    query = select(Payment).order_by(Payment.receipt_no)
    if engineer_id is not None:
        query = query.where(Payment.user_id == engineer_id)
    if start is not None or end is not None:
        query = query.join(Visit, Visit.id == Payment.visit_id)
    if start is not None:
        query = query.where(visit_moment() >= day_bounds_utc(start)[0])
    if end is not None:
        query = query.where(visit_moment() < day_bounds_utc(end)[1])
    if page is None:
        return list(db.session.scalars(query)), None
    total = count_rows(query)
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page))
    pages = (total + per_page - 1) // per_page
    return list(items), {"page": page, "per_page": per_page, "total": total, "pages": pages}
