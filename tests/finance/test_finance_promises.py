"""Money not taken on site: a promise recorded on the phone, the transfer recorded by finance."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from server.db_types import utcnow
from server.domain.timezone import business_day
from server.extensions import db
from server.finance.models import FinanceAudit
from server.visits.field_models import PaymentPromise
from tests.finance.sync_phone import Phone


def _today():
    return business_day(utcnow())


def _promise(phone: Phone, visit_id: int, amount: int, due, **kw):
    payload = {
        "method": "bank_transfer",
        "amount_fen": amount,
        "payer": "上海某某有限公司 财务部",
        "due_on": due.isoformat(),
        "note": "发票抬头同上",
        **kw,
    }
    return phone.op("payment.promise", visit_id, payload)


def test_a_promise_synced_from_the_phone_is_outstanding_until_the_transfer_is_recorded(
    make, login, signed_device
):
    finance = login(make.user("finance"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    soon, late = make.visit(engineer=engineer), make.visit(engineer=engineer)
    phone.arrive(soon.id)
    p1 = _promise(phone, soon.id, 39100, _today() + timedelta(days=7))
    p2 = _promise(phone, late.id, 20000, _today() - timedelta(days=1))
    phone.push()
    assert db.session.get(PaymentPromise, p1["record_id"]).payer == "上海某某有限公司 财务部"

    outstanding = finance.get("/api/finance/promises?state=outstanding").get_json()
    assert [(p["id"], p["state"], p["outstanding_fen"]) for p in outstanding] == [
        (p2["record_id"], "overdue", 20000),
        (p1["record_id"], "outstanding", 39100),
    ]
    overdue = finance.get("/api/finance/promises?state=overdue").get_json()
    assert [p["id"] for p in overdue] == [p2["record_id"]]

    # Part of the money arrives, then the rest.
    body = {
        "promise_id": p1["record_id"],
        "amount_fen": 30000,
        "received_on": _today().isoformat(),
        "reference": "CMB 20261130 0001",
    }
    assert finance.post("/api/finance/transfers", json=body).status_code == 201
    [line] = [
        p for p in finance.get("/api/finance/promises").get_json() if p["id"] == p1["record_id"]
    ]
    assert (line["received_fen"], line["outstanding_fen"], line["state"]) == (
        30000,
        9100,
        "outstanding",
    )
    body["amount_fen"] = 9100
    assert finance.post("/api/finance/transfers", json=body).status_code == 201
    settled = finance.get("/api/finance/promises?state=settled").get_json()
    assert [p["id"] for p in settled] == [p1["record_id"]]
    assert [t["visit_id"] for t in settled[0]["transfers"]] == [soon.id, soon.id]
    actions = db.session.scalars(
        select(FinanceAudit.action).where(FinanceAudit.subject == f"visit:{soon.id}")
    ).all()
    assert actions == ["transfer.record", "transfer.record"]

    page = finance.get("/finance/promises?lang=en").get_data(as_text=True)
    assert re.findall(r'data-promise="([^"]+)" data-state="(\w+)"', page) == [
        (p2["record_id"], "overdue")
    ]
    # The engineer's day says why the visit's money is not in the engineer's hands.
    day = finance.get(f"/finance/reconciliation/{engineer.id}/{_today()}?lang=en")
    text = day.get_data(as_text=True)
    assert f'data-promise="{p1["record_id"]}" data-state="settled"' in text
    assert "Promised to pay later: 上海某某有限公司 财务部, Bank transfer, ¥391.00" in text


def test_a_promise_with_a_bad_day_is_refused_naming_the_field(make, signed_device):
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    visit = make.visit(engineer=engineer)
    _promise(phone, visit.id, 100, _today(), due_on="next week")
    body = super(Phone, phone).push()
    [result] = body["results"]
    assert result["status"] == "rejected" and "payload.due_on" in result["reason"]
    assert db.session.scalar(select(PaymentPromise)) is None


def test_a_transfer_is_refused_with_the_field_at_fault(make, login, signed_device):
    finance = login(make.user("finance"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    visit = make.visit(engineer=engineer)
    promise = _promise(phone, visit.id, 5000, _today())
    phone.push()
    future = (_today() + timedelta(days=2)).isoformat()
    response = finance.post(
        "/api/finance/transfers",
        json={"promise_id": promise["record_id"], "amount_fen": 5000, "received_on": future},
    )
    assert response.status_code == 422 and "received_on" in response.get_json()["fields"]
    other = make.visit(engineer=engineer)
    response = finance.post(
        "/api/finance/transfers",
        json={
            "promise_id": promise["record_id"],
            "visit_id": other.id,
            "amount_fen": 5000,
            "received_on": _today().isoformat(),
        },
    )
    assert response.status_code == 422 and "visit_id" in response.get_json()["fields"]
    response = finance.post("/api/finance/transfers", json={"amount_fen": 1.5})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) >= {"amount_fen", "received_on"}
