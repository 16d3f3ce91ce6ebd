"""Importing a statement and matching its lines to receipts; a clerk confirms or assigns by hand.

The file is parsed and matched by `server.domain.statements`; this module stores the lines and
what was matched, and records every decision in the audit log. A receipt is matched to at most
one statement line (a unique column): two clerks assigning one receipt at once get a 409.

A *confirmed* line is the receipt's money paid in: confirming records it as a handover of that
one receipt (`Handover.statement_entry_id`), and undoing voids that handover. So a receipt counts
as handed over exactly once, by whichever came first — a clerk's handover or a confirmed line —
and the database refuses the second (`finance_handover_receipt.live_payment_id` is unique).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from server.accounts.models import User
from server.db_types import utcnow
from server.domain import statements as parse
from server.domain.timezone import business_day
from server.errors import ApiError, Msg
from server.extensions import db
from server.finance.audit import record_action
from server.finance.models import (
    Handover,
    HandoverLine,
    HandoverReceipt,
    StatementEntry,
    StatementImport,
)
from server.finance.reconcile import held_since
from server.visits.field_models import Payment, PaymentVoid

UNMATCHED, SUGGESTED, CONFIRMED = "unmatched", "suggested", "confirmed"


def _candidates(layout: str, start: date, end: date) -> list[Payment]:
    """Receipts a statement of `layout` covering [start, end] could pay in, not yet matched."""
    matched = select(StatementEntry.payment_id).where(StatementEntry.payment_id.is_not(None))
    voided = select(PaymentVoid.payment_id)
    rows = db.session.scalars(
        select(Payment)
        .where(
            Payment.method.in_(parse.METHODS[layout]),
            Payment.id.not_in(matched),
            Payment.id.not_in(voided),
        )
        .order_by(Payment.receipt_no)
    )
    lo = start - timedelta(days=parse.SETTLE_DAYS)
    return [p for p in rows if lo <= business_day(held_since(p)) <= end]


def import_statement(data: bytes, layout: str, filename: str, user: User) -> StatementImport:
    """Store a statement's income lines and the matches the matcher is sure of (as suggested)."""
    try:
        parsed = parse.parse_statement(data, layout)
    except parse.StatementError as exc:
        message = Msg(exc.key, **exc.params)
        raise ApiError(422, message, {"file": [message]}) from None
    if not parsed.lines:
        message = "err.statement.no_income"
        raise ApiError(422, message, {"file": [message]})
    statement = StatementImport(
        layout=layout, filename=filename[:200], skipped=parsed.skipped, imported_by_id=user.id
    )
    db.session.add(statement)
    start = min(line.day for line in parsed.lines)
    end = max(line.day for line in parsed.lines)
    receipts = [
        parse.Receipt(p.id, p.receipt_no, business_day(held_since(p)), p.amount_fen)
        for p in _candidates(layout, start, end)
    ]
    matches = parse.match_lines(parsed.lines, receipts)
    for line in parsed.lines:
        payment_id = matches.get(line.line_no)
        statement.lines.append(
            StatementEntry(
                line_no=line.line_no,
                day=line.day,
                amount_fen=line.amount_fen,
                reference=line.reference,
                payer=line.payer,
                text=line.text,
                payment_id=payment_id,
                state=SUGGESTED if payment_id else UNMATCHED,
            )
        )
    _flush_or_409()
    record_action(
        user,
        "statement.import",
        f"statement:{statement.id}",
        layout=layout,
        filename=statement.filename,
        lines=len(parsed.lines),
        skipped=parsed.skipped,
        suggested=len(matches),
    )
    return statement


def _flush_or_409(payment_id: str | None = None) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        holder = _live_handover_of(payment_id) if payment_id else None
        if holder is not None and holder.statement_entry_id is None:
            message = _in_handover_message(holder)
        else:
            message = "err.statement.receipt_just_matched"
        raise ApiError(409, message, {"payment_id": [message]}) from None


def _live_handover_of(payment_id: str) -> Handover | None:
    return db.session.scalar(
        select(Handover)
        .join(HandoverReceipt, HandoverReceipt.handover_id == Handover.id)
        .where(HandoverReceipt.live_payment_id == payment_id)
    )


def _in_handover_message(handover: Handover) -> str:
    return Msg("err.statement.in_handover", handover=handover.id)


def _check_payable(entry: StatementEntry, payment: Payment) -> None:
    """Refuse a receipt that is voided, on another line, or already handed over (409)."""
    voided = select(PaymentVoid.payment_id).where(PaymentVoid.payment_id == payment.id)
    if db.session.scalar(voided):
        message = Msg("err.statement.receipt_voided", receipt=payment.receipt_no)
        raise ApiError(409, message, {"payment_id": [message]})
    other_line = select(StatementEntry.id).where(
        StatementEntry.payment_id == payment.id, StatementEntry.id != entry.id
    )
    if db.session.scalar(other_line) is not None:
        message = Msg("err.statement.receipt_on_other_line", receipt=payment.receipt_no)
        raise ApiError(409, message, {"payment_id": [message]})
    holder = _live_handover_of(payment.id)
    if holder is not None:
        message = _in_handover_message(holder)
        raise ApiError(409, message, {"payment_id": [message]})


def _pay_in(entry: StatementEntry, payment: Payment, user: User) -> None:
    """Record a confirmed line as the handover of its one receipt."""
    handover = Handover(
        engineer_id=payment.user_id,
        received_by_id=user.id,
        received_at=utcnow(),
        statement_entry_id=entry.id,
    )
    handover.lines.append(HandoverLine(method=payment.method, amount_fen=entry.amount_fen))
    handover.receipts.append(HandoverReceipt(payment_id=payment.id, live_payment_id=payment.id))
    db.session.add(handover)


def _undo_pay_in(entry: StatementEntry, user: User) -> int | None:
    """Void the handover a confirmed line made, freeing its receipt; return its id."""
    handover = db.session.scalar(
        select(Handover).where(
            Handover.statement_entry_id == entry.id, Handover.voided_at.is_(None)
        )
    )
    if handover is None:
        return None
    handover.voided_at, handover.voided_by_id = utcnow(), user.id
    handover.void_reason = f"statement:{entry.statement_id} line {entry.line_no}"
    for receipt in handover.receipts:
        receipt.live_payment_id = None
    return handover.id


def statement_handover(entry_id: int) -> Handover | None:
    """Return the live handover a confirmed statement line made, if any."""
    return db.session.scalar(
        select(Handover).where(
            Handover.statement_entry_id == entry_id, Handover.voided_at.is_(None)
        )
    )


def get_statement(statement_id: int) -> StatementImport:
    statement = db.session.scalar(
        select(StatementImport)
        .options(selectinload(StatementImport.lines).selectinload(StatementEntry.payment))
        .where(StatementImport.id == statement_id)
    )
    if statement is None:
        raise ApiError(404, "err.statement.no_statement", params={"statement_id": statement_id})
    return statement


def list_statements() -> list[StatementImport]:
    return list(
        db.session.scalars(select(StatementImport).order_by(StatementImport.id.desc()).limit(200))
    )


@dataclass
class StatementView:
    statement: StatementImport
    unmatched_receipts: list[Payment]

    @property
    def unmatched_lines(self) -> list[StatementEntry]:
        return [e for e in self.statement.lines if e.payment_id is None]


def statement_view(statement_id: int) -> StatementView:
    """A statement with its lines, and the receipts of its days that no line pays in."""
    statement = get_statement(statement_id)
    days = [e.day for e in statement.lines]
    receipts = _candidates(statement.layout, min(days), max(days)) if days else []
    return StatementView(statement, receipts)


def _entry(entry_id: int) -> StatementEntry:
    entry = db.session.get(StatementEntry, entry_id, with_for_update=True)
    if entry is None:
        raise ApiError(404, "err.statement.no_line", params={"entry_id": entry_id})
    return entry


def decide(entry_id: int, action: str, user: User, payment_id: str | None = None) -> StatementEntry:
    """Confirm a suggested match, assign a receipt by hand, or undo a match.

    Confirming or assigning pays the receipt in (a handover of it); undoing voids that handover.
    """
    entry = _entry(entry_id)
    before, was_confirmed = entry.payment_id, entry.state == CONFIRMED
    if action == "confirm":
        if entry.payment_id is None:
            message = "err.statement.nothing_to_confirm"
            raise ApiError(409, message, {"payment_id": [message]})
        if was_confirmed:
            message = "err.statement.already_confirmed"
            raise ApiError(409, message, {"payment_id": [message]})
        payment = entry.payment
    elif action == "assign":
        payment = db.session.get(Payment, payment_id) if payment_id else None
        if payment is None:
            raise ApiError(
                422, "err.statement.choose_receipt", {"payment_id": ["form.err.no_such_receipt"]}
            )
        layout = entry.statement.layout
        if payment.method not in parse.METHODS[layout]:
            message = Msg(
                "err.statement.other_method", receipt=payment.receipt_no, method=payment.method
            )
            raise ApiError(422, message, {"payment_id": [message]})
        if payment.amount_fen != entry.amount_fen:
            message = Msg("err.statement.other_amount", receipt=payment.receipt_no)
            raise ApiError(422, message, {"payment_id": [message]})
        if was_confirmed and before == payment.id:
            message = "err.statement.confirmed_for_receipt"
            raise ApiError(409, message, {"payment_id": [message]})
    elif action == "unmatch":
        payment = None
    else:
        raise ApiError(404, "err.statement.no_action", params={"action": action})
    voided_handover = _undo_pay_in(entry, user) if was_confirmed else None
    if voided_handover is not None:
        # The receipt is free before it is paid in again (by this line, assigned anew).
        db.session.flush()
    if payment is None:
        entry.payment_id, entry.state = None, UNMATCHED
    else:
        _check_payable(entry, payment)
        entry.payment_id, entry.state = payment.id, CONFIRMED
        _pay_in(entry, payment, user)
    entry.decided_by_id, entry.decided_at = user.id, utcnow()
    _flush_or_409(entry.payment_id)
    handover = statement_handover(entry.id)
    record_action(
        user,
        f"statement.{action}",
        f"statement:{entry.statement_id}",
        line=entry.line_no,
        amount_fen=entry.amount_fen,
        payment_before=before,
        payment_after=entry.payment_id,
        handover_voided=voided_handover,
        handover=handover.id if handover else None,
    )
    return entry
