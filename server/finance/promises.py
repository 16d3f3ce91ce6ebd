"""Money not taken on site: the customer's promise (from the phone) and the transfer finance sees.

A promise names who pays, how, how much and by when. Finance records each transfer it finds on
the statement against the visit (and the promise it settles). A promise is outstanding while its
transfers add up to less than promised, and overdue once its day has passed. A transfer
recorded by mistake is voided with a reason (audited); a voided transfer counts for nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update

from server.accounts.models import User
from server.db_types import utcnow
from server.errors import ApiError, Msg
from server.extensions import db
from server.finance import stored_figures as finance_store
from server.finance.audit import record_action
from server.finance.models import PAYMENT_METHODS, Transfer
from server.visits.field_models import PaymentPromise
from server.visits.models import Visit

OUTSTANDING, OVERDUE, SETTLED = "outstanding", "overdue", "settled"
STATES = (OUTSTANDING, OVERDUE, SETTLED)


@dataclass
class PromiseLine:
    """A promise with what has come in against it."""

    promise: PaymentPromise
    transfers: list[Transfer]
    today: date

    @property
    def received_fen(self) -> int:
        return sum(t.amount_fen for t in self.transfers if not t.is_void)

    @property
    def outstanding_fen(self) -> int:
        return max(0, self.promise.amount_fen - self.received_fen)

    @property
    def due_on(self) -> date:
        return date.fromisoformat(self.promise.due_on)

    @property
    def state(self) -> str:
        if self.outstanding_fen == 0:
            return SETTLED
        return OVERDUE if self.due_on < self.today else OUTSTANDING


def promises(today: date, state: str | None = None) -> list[PromiseLine]:
    """Return promises with their transfers, soonest due first; `state` keeps one kind."""
    rows = list(
        db.session.scalars(
            select(PaymentPromise).order_by(PaymentPromise.due_on, PaymentPromise.received_at)
        )
    )
    by_promise: dict[str, list[Transfer]] = defaultdict(list)
    for t in db.session.scalars(
        select(Transfer).where(Transfer.promise_id.is_not(None)).order_by(Transfer.id)
    ):
        by_promise[t.promise_id].append(t)
    lines = [PromiseLine(p, by_promise.get(p.id, []), today) for p in rows]
    if state == OUTSTANDING:
        # Everything still owed, overdue included: "outstanding" is what is not yet paid.
        return [line for line in lines if line.state != SETTLED]
    if state is not None:
        return [line for line in lines if line.state == state]
    return lines


def promises_by_visit(visit_ids: list[int], today: date) -> dict[int, list[PromiseLine]]:
    """Return the promises of these visits with their transfers (for a day's page)."""
    rows = list(
        db.session.scalars(
            select(PaymentPromise)
            .where(PaymentPromise.visit_id.in_(visit_ids))
            .order_by(PaymentPromise.due_on)
        )
    )
    transfers: dict[str, list[Transfer]] = defaultdict(list)
    for t in db.session.scalars(
        select(Transfer).where(Transfer.promise_id.in_([p.id for p in rows])).order_by(Transfer.id)
    ):
        transfers[t.promise_id].append(t)
    out: dict[int, list[PromiseLine]] = defaultdict(list)
    for p in rows:
        out[p.visit_id].append(PromiseLine(p, transfers.get(p.id, []), today))
    return dict(out)


def record_transfer(data: dict[str, Any], user: User, today: date) -> Transfer:
    """Record money that reached the company for a visit (settling a promise, if named)."""
    fields: dict[str, list[str]] = {}
    promise = None
    if data.get("promise_id"):
        promise = db.session.get(PaymentPromise, data["promise_id"])
        if promise is None:
            fields["promise_id"] = ["form.err.no_such_promise"]
    visit_id = data.get("visit_id") or (promise.visit_id if promise else None)
    if promise is not None and visit_id != promise.visit_id:
        fields["visit_id"] = ["form.err.promise_other_visit"]
    if visit_id is None or db.session.get(Visit, visit_id) is None:
        fields.setdefault("visit_id", ["form.err.no_such_visit"])
    amount = data.get("amount_fen")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        fields["amount_fen"] = ["form.err.fen_positive"]
    method = data.get("method") or (promise.method if promise else None)
    if method not in PAYMENT_METHODS:
        fields["method"] = [Msg("form.err.payment_method", methods=", ".join(PAYMENT_METHODS))]
    received_on = data.get("received_on")
    if not isinstance(received_on, date):
        fields["received_on"] = ["form.err.day_money_arrived"]
    elif received_on > today:
        fields["received_on"] = ["form.err.day_in_future"]
    if fields:
        raise ApiError(422, "err.transfer.incomplete", fields)
    transfer = Transfer(
        visit_id=visit_id,
        promise_id=promise.id if promise else None,
        method=method,
        amount_fen=amount,
        received_on=received_on,
        reference=(data.get("reference") or "").strip(),
        note=(data.get("note") or "").strip(),
        recorded_by_id=user.id,
    )
    db.session.add(transfer)
    db.session.flush()
    record_action(
        user,
        "transfer.record",
        f"visit:{visit_id}",
        transfer_id=transfer.id,
        promise_id=transfer.promise_id,
        method=method,
        amount_fen=amount,
        received_on=received_on.isoformat(),
        reference=transfer.reference,
    )
    return transfer


def void_transfer(transfer_id: int, reason: str, user: User) -> Transfer:
    """Void a transfer recorded by mistake; the row stays, counting for nothing, and is audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ApiError(422, "err.reason_needed", {"reason": ["form.err.required"]})
    transfer = _get_transfer(transfer_id)
    # One guarded UPDATE: of two clerks voiding at once, the second changes no row and is told
    # (PostgreSQL makes it wait for the first and re-check; SQLite serialises the writers).
    done = db.session.execute(
        update(Transfer)
        .where(Transfer.id == transfer_id, Transfer.voided_at.is_(None))
        .values(voided_at=utcnow(), voided_by_id=user.id, void_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        message = "err.transfer.already_voided"
        raise ApiError(409, message, {"reason": [message]})
    db.session.refresh(transfer)
    finance_store.note_visits(db.session(), [transfer.visit_id])
    record_action(
        user,
        "transfer.void",
        f"visit:{transfer.visit_id}",
        transfer_id=transfer.id,
        promise_id=transfer.promise_id,
        amount_fen=transfer.amount_fen,
        reason=reason,
    )
    return transfer


def _get_transfer(transfer_id: int) -> Transfer:
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None:
        raise ApiError(404, "err.transfer.no_transfer", params={"transfer_id": transfer_id})
    return transfer
