"""CSV exports of payments, handovers and reconciliation, for a spreadsheet or the auditors."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.accounts.models import User
from server.domain.charges import yuan_text
from server.domain.timezone import COMPANY_TZ
from server.extensions import db
from server.finance.handover import check_handover
from server.finance.models import Handover, HandoverReceipt
from server.finance.reconcile import compute_days

# A cell starting with one of these is a formula to a spreadsheet: customer text must stay text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    # The BOM lets spreadsheet programs in China open UTF-8 (Chinese names) correctly.
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _names() -> dict[int, str]:
    return {uid: name for uid, name in db.session.execute(select(User.id, User.display_name))}


def payments_csv(start: date, end: date, engineer_id: int | None = None) -> str:
    """Every receipt of the period (by its visit's business day), voided ones marked."""
    names = _names()
    rows = []
    for fig in compute_days(start, end, engineer_id).values():
        for line in fig.receipts:
            p = line.payment
            rows.append(
                [
                    line.day.isoformat(),
                    p.receipt_no,
                    names.get(p.user_id, p.user_id),
                    p.visit_id,
                    p.method,
                    p.amount_fen,
                    yuan_text(p.amount_fen),
                    p.currency,
                    p.payer,
                    "yes" if line.void else "no",
                    line.void.reason if line.void else "",
                    line.counted_fen,
                    line.handed_fen,
                    " ".join(str(h) for h in line.handover_ids),
                    p.received_at.astimezone(COMPANY_TZ).isoformat(),
                    p.device_time or "",
                    p.device_id,
                ]
            )
    header = [
        "business_day", "receipt_no", "engineer", "visit_id", "method", "amount_fen",
        "amount_yuan", "currency", "payer", "voided", "void_reason", "counted_fen",
        "handed_over_fen", "handover_ids", "server_received_at", "device_time", "device_id",
    ]  # fmt: skip
    return _csv(header, rows)


def transfers_csv(start: date, end: date, engineer_id: int | None = None) -> str:
    """Money that did not pass through an engineer, by its visit's business day.

    One row per promise (what of it has not arrived) and per live transfer, so `promised_fen`
    and `transferred_fen` of a period add up to the reconciliation's. Voided transfers count
    for nothing and are not listed (the audit log keeps them).
    """
    names = _names()
    rows = []
    for fig in compute_days(start, end, engineer_id).values():
        engineer = names.get(fig.engineer_id, fig.engineer_id)
        for promise, left in fig.promises:
            rows.append(
                [
                    fig.day.isoformat(), engineer, promise.visit_id, "promise", promise.id,
                    promise.method, promise.amount_fen, 0, left, promise.due_on, "",
                    promise.payer, promise.note,
                ]
            )  # fmt: skip
        for t in fig.transfers:
            rows.append(
                [
                    fig.day.isoformat(), engineer, t.visit_id, "transfer", t.id, t.method,
                    t.amount_fen, t.amount_fen, 0, t.received_on.isoformat(), t.reference,
                    t.promise_id or "", t.note,
                ]
            )  # fmt: skip
    header = [
        "business_day", "engineer", "visit_id", "kind", "id", "method", "amount_fen",
        "transferred_fen", "promised_fen", "date", "reference", "payer_or_promise", "note",
    ]  # fmt: skip
    return _csv(header, rows)


def handovers_csv(start: date, end: date, engineer_id: int | None = None) -> str:
    """Money handed over, by the business day of the receipts it paid in (as reconciliation).

    One row per handover, method and business day: a handover covering receipts of two days
    gives two rows, so the `handed_fen` of a period adds up to the reconciliation's handed over.
    Voided handovers hand over nothing and are not listed (the audit log keeps them).
    """
    names = _names()
    per_row: dict[tuple[int, str, date], int] = defaultdict(int)
    for fig in compute_days(start, end, engineer_id).values():
        for a in fig.allocations:
            per_row[(a.handover_id, a.method, a.day)] += a.fen
    handovers = {
        h.id: h
        for h in db.session.scalars(
            select(Handover)
            .options(
                selectinload(Handover.lines),
                selectinload(Handover.receipts).selectinload(HandoverReceipt.payment),
            )
            .where(Handover.id.in_({k[0] for k in per_row}))
        )
    }
    rows = []
    for (hid, method, day), fen in sorted(per_row.items(), key=lambda kv: (kv[0][2], kv[0][0])):
        h = handovers[hid]
        check = check_handover(h)
        receipts = " ".join(sorted(r.payment.receipt_no for r in h.receipts))
        rows.append(
            [
                h.id,
                day.isoformat(),
                h.received_at.astimezone(COMPANY_TZ).isoformat(),
                names.get(h.engineer_id, h.engineer_id),
                names.get(h.received_by_id, h.received_by_id),
                method,
                fen,
                check.handed.get(method, 0),
                check.expected.get(method, 0),
                check.difference(method),
                receipts,
                h.note,
            ]
        )
    header = [
        "handover_id", "business_day", "received_at", "engineer", "received_by", "method",
        "handed_fen", "handover_method_fen", "receipts_fen", "difference_fen", "receipts", "note",
    ]  # fmt: skip
    return _csv(header, rows)


def reconciliation_csv(start: date, end: date, engineer_id: int | None = None) -> str:
    """One row per engineer and day: the figures shown, the differences, the adjustments."""
    names = _names()
    rows = []
    for fig in compute_days(start, end, engineer_id).values():
        shown, adj = fig.shown, fig.adjustment_totals
        rows.append(
            [
                fig.day.isoformat(),
                names.get(fig.engineer_id, fig.engineer_id),
                fig.status,
                shown["owed_fen"],
                shown["collected_fen"],
                shown["handed_fen"],
                shown["transferred_fen"],
                shown["promised_fen"],
                fig.collected_minus_owed,
                fig.handed_minus_collected,
                adj["owed_fen"],
                adj["collected_fen"],
                adj["handed_fen"],
                adj["transferred_fen"],
                adj["promised_fen"],
                fig.flag_count,
                fig.record.note if fig.record else "",
            ]
        )
    header = [
        "business_day", "engineer", "status", "owed_fen", "collected_fen", "handed_over_fen",
        "transferred_fen", "promised_fen", "collected_minus_owed_fen",
        "handed_minus_collected_fen", "adjustment_owed_fen", "adjustment_collected_fen",
        "adjustment_handed_fen", "adjustment_transferred_fen", "adjustment_promised_fen",
        "price_flags", "note",
    ]  # fmt: skip
    return _csv(header, rows)
