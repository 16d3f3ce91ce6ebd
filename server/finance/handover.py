"""Handovers (S23): what an engineer hands to finance, the receipts it covers, and cash in hand."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from server.accounts.models import Role, User
from server.db_types import utcnow
from server.domain.timezone import day_bounds_utc
from server.errors import ApiError, Msg
from server.extensions import db
from server.finance.audit import record_action
from server.finance.models import PAYMENT_METHODS, Handover, HandoverLine, HandoverReceipt
from server.finance.reconcile import held_since
from server.visits.field_models import Payment, PaymentVoid


def _engineer(engineer_id: Any) -> User:
    user = db.session.get(User, engineer_id) if isinstance(engineer_id, int) else None
    if user is None or user.role != Role.ENGINEER:
        raise ApiError(
            422, "err.handover.choose_engineer", {"engineer_id": ["form.err.no_such_engineer"]}
        )
    return user


def live_covered_ids(exclude_handover: int | None = None) -> set[str]:
    """Return the ids of payments covered by a handover that is not voided."""
    query = select(HandoverReceipt.payment_id).where(HandoverReceipt.live_payment_id.is_not(None))
    if exclude_handover is not None:
        query = query.where(HandoverReceipt.handover_id != exclude_handover)
    return set(db.session.scalars(query))


def voided_ids(payment_ids: list[str] | None = None) -> set[str]:
    """Return which payments (of those given, or all) have been voided."""
    query = select(PaymentVoid.payment_id)
    if payment_ids is not None:
        query = query.where(PaymentVoid.payment_id.in_(payment_ids))
    return set(db.session.scalars(query))


def uncovered_payments(engineer_id: int) -> list[Payment]:
    """Return the engineer's payments not voided and not yet covered by a live handover."""
    covered = live_covered_ids()
    rows = db.session.scalars(
        select(Payment).where(Payment.user_id == engineer_id).order_by(Payment.receipt_no)
    ).all()
    voided = voided_ids([p.id for p in rows])
    return [p for p in rows if p.id not in covered and p.id not in voided]


@dataclass
class HandoverCheck:
    """A handover's amounts beside what its receipts say was collected, per method."""

    handed: dict[str, int]
    expected: dict[str, int]
    voided_receipts: list[str] = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        return [m for m in PAYMENT_METHODS if m in self.handed or m in self.expected]

    def difference(self, method: str) -> int:
        return self.handed.get(method, 0) - self.expected.get(method, 0)

    @property
    def handed_fen(self) -> int:
        return sum(self.handed.values())

    @property
    def expected_fen(self) -> int:
        return sum(self.expected.values())

    @property
    def difference_fen(self) -> int:
        return self.handed_fen - self.expected_fen


def check_handover(handover: Handover) -> HandoverCheck:
    """Compare a handover with the receipts it covers (a receipt voided since counts nothing)."""
    payments = [r.payment for r in handover.receipts]
    voided = voided_ids([p.id for p in payments])
    expected: dict[str, int] = defaultdict(int)
    for p in payments:
        if p.id not in voided:
            expected[p.method] += p.amount_fen
    return HandoverCheck(
        handed={line.method: line.amount_fen for line in handover.lines},
        expected=dict(expected),
        voided_receipts=sorted(p.receipt_no for p in payments if p.id in voided),
    )


def record_handover(data: dict[str, Any], user: User) -> Handover:
    """Record money handed over by an engineer, with the receipts it covers (S23).

    `data`: engineer_id, amounts {method: fen}, payment_ids [..], note. Every receipt must be the
    engineer's own, not voided, and not already covered by another live handover.
    """
    engineer = _engineer(data.get("engineer_id"))
    amounts: dict[str, int] = data.get("amounts") or {}
    fields: dict[str, list[str]] = {}
    for method, fen in amounts.items():
        if method not in PAYMENT_METHODS:
            fields.setdefault("amounts", []).append(Msg("form.err.unknown_method", method=method))
        elif not isinstance(fen, int) or isinstance(fen, bool) or fen < 0:
            fields[f"amount_{method}"] = ["form.err.fen_not_negative"]
    ids = list(dict.fromkeys(data.get("payment_ids") or []))
    if not ids:
        fields["payment_ids"] = ["form.err.choose_receipts"]
    if fields:
        raise ApiError(422, "err.handover.incomplete", fields)
    payments = {p.id: p for p in db.session.scalars(select(Payment).where(Payment.id.in_(ids)))}
    covered = live_covered_ids()
    voided = voided_ids(ids)
    problems: list[str] = []
    for pid in ids:
        p = payments.get(pid)
        if p is None:
            problems.append(Msg("form.err.no_receipt_id", payment_id=pid))
        elif p.user_id != engineer.id:
            problems.append(Msg("form.err.receipt_other_engineer", receipt=p.receipt_no))
        elif pid in voided:
            problems.append(Msg("form.err.receipt_voided", receipt=p.receipt_no))
        elif pid in covered:
            problems.append(Msg("form.err.receipt_in_handover", receipt=p.receipt_no))
    if problems:
        # One refusal is the message itself; several are counted, each named beside the field.
        message = problems[0] if len(problems) == 1 else None
        message = message or Msg("err.handover.receipts_refused", count=len(problems))
        raise ApiError(422, message, {"payment_ids": problems})
    handover = Handover(
        engineer_id=engineer.id,
        received_by_id=user.id,
        received_at=utcnow(),
        note=(data.get("note") or "").strip(),
    )
    db.session.add(handover)
    for method in PAYMENT_METHODS:
        if amounts.get(method):
            handover.lines.append(HandoverLine(method=method, amount_fen=amounts[method]))
    for pid in ids:
        handover.receipts.append(HandoverReceipt(payment_id=pid, live_payment_id=pid))
    try:
        db.session.flush()
    except IntegrityError:
        # Another clerk's handover took one of these receipts between our check and our write;
        # the unique live receipt refused ours.
        db.session.rollback()
        taken = sorted(payments[pid].receipt_no for pid in set(ids) & live_covered_ids()) or sorted(
            payments[pid].receipt_no for pid in ids
        )
        message = Msg("err.handover.taken_just_now", receipts=", ".join(taken))
        raise ApiError(409, message, {"payment_ids": [message]}) from None
    check = check_handover(handover)
    record_action(
        user,
        "handover.record",
        f"handover:{handover.id}",
        engineer_id=engineer.id,
        amounts={line.method: line.amount_fen for line in handover.lines},
        receipts=sorted(payments[pid].receipt_no for pid in ids),
        difference_fen=check.difference_fen,
    )
    return handover


def void_handover(handover: Handover, reason: str, user: User) -> Handover:
    """Void a handover recorded by mistake; its receipts count as in hand again."""
    reason = (reason or "").strip()
    if not reason:
        raise ApiError(422, "err.reason_needed", {"reason": ["form.err.required"]})
    if handover.is_void:
        raise ApiError(409, "err.handover.already_voided")
    if handover.statement_entry_id is not None:
        message = "err.handover.paid_by_statement"
        raise ApiError(409, message, {"reason": [message]})
    handover.voided_at = utcnow()
    handover.voided_by_id = user.id
    # Its receipts are free for a new handover; the rows stay as the voided handover's history.
    for receipt in handover.receipts:
        receipt.live_payment_id = None
    handover.void_reason = reason
    record_action(user, "handover.void", f"handover:{handover.id}", reason=reason)
    return handover


def get_handover(handover_id: int) -> Handover:
    """Return a handover with its lines and receipts, or 404."""
    handover = db.session.scalar(
        select(Handover)
        .options(
            selectinload(Handover.lines),
            selectinload(Handover.receipts).selectinload(HandoverReceipt.payment),
        )
        .where(Handover.id == handover_id)
    )
    if handover is None:
        raise ApiError(404, "err.handover.no_handover", params={"handover_id": handover_id})
    return handover


def handovers_query(
    engineer_id: int | None = None,
    method: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Select:
    """Select handovers, newest first, by engineer, by a method handed over, by the day made."""
    query = (
        select(Handover)
        .options(
            selectinload(Handover.lines),
            selectinload(Handover.receipts).selectinload(HandoverReceipt.payment),
        )
        .order_by(Handover.received_at.desc(), Handover.id.desc())
    )
    if engineer_id is not None:
        query = query.where(Handover.engineer_id == engineer_id)
    if method is not None:
        with_method = select(HandoverLine.handover_id).where(HandoverLine.method == method)
        query = query.where(Handover.id.in_(with_method))
    if start is not None:
        query = query.where(Handover.received_at >= day_bounds_utc(start)[0])
    if end is not None:
        query = query.where(Handover.received_at < day_bounds_utc(end)[1])
    return query


@dataclass
class CashInHand:
    """What an engineer has collected and not yet handed over, and since when."""

    engineer: User
    by_method: dict[str, int]
    count: int
    oldest_since: datetime | None

    @property
    def total_fen(self) -> int:
        return sum(self.by_method.values())

    @property
    def receipts(self) -> list[Payment]:
        """The receipts held, read when asked (the API lists them; the pages count them)."""
        return uncovered_payments(self.engineer.id)

    def held_for(self, now: datetime) -> timedelta | None:
        return now - self.oldest_since if self.oldest_since else None


def _held_payments(engineer_ids: list[int]):
    """The payments of these engineers not covered by a live handover and not voided."""
    # NOT EXISTS, not NOT IN: an anti-join, where NOT IN hashes a year of covered receipts.
    covered = select(HandoverReceipt.live_payment_id).where(
        HandoverReceipt.live_payment_id == Payment.id
    )
    voided = select(PaymentVoid.payment_id).where(PaymentVoid.payment_id == Payment.id)
    return (Payment.user_id.in_(engineer_ids), ~covered.exists(), ~voided.exists())


def cash_in_hand() -> list[CashInHand]:
    """Return every engineer's money not yet handed over, the longest-held first.

    One pass over the held receipts (money not yet handed over is a few days' takings, not the
    year's): the anti-join that finds them is most of the cost, so it runs once.
    """
    engineers = db.session.scalars(
        select(User).where(User.role == Role.ENGINEER).order_by(User.display_name)
    ).all()
    by_method: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[int, int] = defaultdict(int)
    oldest: dict[int, datetime] = {}
    for row in db.session.execute(
        select(
            Payment.user_id,
            Payment.method,
            Payment.amount_fen,
            Payment.received_at,
            Payment.device_time,
        ).where(*_held_payments([e.id for e in engineers]))
    ):
        by_method[row.user_id][row.method] += row.amount_fen
        counts[row.user_id] += 1
        since = held_since(row)
        if row.user_id not in oldest or since < oldest[row.user_id]:
            oldest[row.user_id] = since
    out = [
        CashInHand(e, dict(by_method.get(e.id, {})), counts.get(e.id, 0), oldest.get(e.id))
        for e in engineers
    ]
    far_future = utcnow() + timedelta(days=1)
    out.sort(key=lambda c: (c.oldest_since or far_future, c.engineer.display_name))
    return out
