"""The finance audit log is append-only: no update or delete path, in code or through the ORM."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from server.extensions import db
from server.finance.audit import record_action
from server.finance.models import AppendOnlyError, FinanceAudit

ROOT = Path(__file__).resolve().parents[2] / "server"


@pytest.fixture
def entry(make):
    user = make.user("finance")
    row = record_action(user, "fee.add", "fee:1", onsite_fee_fen=30000)
    db.session.commit()
    return row


def test_changing_an_audit_row_through_the_orm_is_refused(entry):
    entry.action = "nothing.happened"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(FinanceAudit, entry.id).action == "fee.add"


def test_deleting_an_audit_row_through_the_orm_is_refused(entry):
    db.session.delete(entry)
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(FinanceAudit, entry.id) is not None


@pytest.mark.parametrize(
    "statement",
    [update(FinanceAudit).values(action="x"), delete(FinanceAudit)],
    ids=["bulk update", "bulk delete"],
)
def test_bulk_statements_on_the_audit_table_are_refused(entry, statement):
    with pytest.raises(AppendOnlyError):
        db.session.execute(statement)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(FinanceAudit)) == 1


def test_no_code_updates_or_deletes_audit_rows():
    pattern = re.compile(
        r"(update|delete)\(\s*FinanceAudit|finance_audit[\"']?\s*\)?\s*\.\s*(update|delete)"
        r"|(UPDATE|DELETE FROM)\s+\"?finance_audit",
    )
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if "migrations" not in path.parts and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_finance_write_leaves_an_audit_row_with_who_and_when(make, login, field):
    from datetime import date

    from tests.finance.conftest import shanghai

    boss = make.user("finance")
    eng = make.user("engineer")
    phone = field.device(eng)
    visit = field.visit(eng, shanghai(2026, 11, 20, 10), fee_fen=100)
    pay = field.pay(visit, 100, device=phone)
    session = login(boss)
    writes = [
        ("/api/finance/fee-rates", {"effective_from": "2026-01-01", "onsite_fee_fen": 100}),
        (
            "/api/finance/part-prices",
            {"part_code": "X", "effective_from": "2026-01-01", "unit_cost_fen": 1},
        ),
        ("/api/finance/handovers", {"engineer_id": eng.id, "amounts": {"cash": 100},
                                    "payment_ids": [pay.id]}),
        ("/api/finance/handovers/1/void", {"reason": "wrong"}),
        (f"/api/finance/reconciliation/{eng.id}/2026-11-20/status",
         {"status": "disputed", "note": "?"}),
        (f"/api/finance/reconciliation/{eng.id}/2026-11-20/status",
         {"status": "reconciled", "note": "ok"}),
    ]  # fmt: skip
    for url, body in writes:
        assert session.post(url, json=body).status_code in (200, 201), url
    rows = db.session.scalars(db.select(FinanceAudit).order_by(FinanceAudit.id)).all()
    assert [r.action for r in rows] == [
        "fee.add",
        "part_price.add",
        "handover.record",
        "handover.void",
        "day.disputed",
        "day.reconciled",
    ]
    assert {r.user_id for r in rows} == {boss.id}
    assert all(r.at is not None for r in rows)
    assert rows[-1].details["previous"] == "disputed"
    assert rows[0].details == {"effective_from": "2026-01-01", "onsite_fee_fen": 100}
    assert date.fromisoformat(rows[0].details["effective_from"]) == date(2026, 1, 1)
