"""The finance API: the same role checks as the pages, the one error shape, data from sync."""

from __future__ import annotations

from datetime import date

import pytest

from server.db_types import utcnow
from server.domain.timezone import business_day
from server.extensions import db
from server.finance.models import DayReconciliation, FeeRate, FinanceAudit, Handover
from server.visits.field_models import Payment
from tests.finance.sync_phone import Phone

ENDPOINTS = [
    ("get", "/api/finance/cash-in-hand", None),
    ("get", "/api/finance/reconciliation", None),
    ("get", "/api/finance/reconciliation/1/2026-11-20", None),
    ("post", "/api/finance/reconciliation/1/2026-11-20/status", {"status": "open"}),
    ("post", "/api/finance/reconciliation/1/2026-11-20/reopen", {"reason": "late phone"}),
    ("get", "/api/finance/handovers", None),
    ("post", "/api/finance/handovers", {"engineer_id": 1, "payment_ids": ["x"]}),
    ("get", "/api/finance/handovers/1", None),
    ("post", "/api/finance/handovers/1/void", {"reason": "x"}),
    ("get", "/api/finance/engineers/1/uncovered", None),
    ("get", "/api/finance/receipts", None),
    ("get", "/api/finance/visits/1/charges", None),
    ("get", "/api/finance/fee-rates", None),
    ("post", "/api/finance/fee-rates", {"effective_from": "2026-01-01", "onsite_fee_fen": 1}),
    ("get", "/api/finance/part-prices", None),
    ("post", "/api/finance/part-prices",
     {"part_code": "A", "effective_from": "2026-01-01", "unit_cost_fen": 1}),
    ("get", "/api/finance/audit", None),
    ("get", "/api/finance/promises", None),
    ("get", "/api/finance/statements", None),
    ("post", "/api/finance/statements", {}),
    ("get", "/api/finance/statements/1", None),
    ("post", "/api/finance/statement-lines/1", {"action": "unmatch"}),
    ("post", "/api/finance/transfers",
     {"visit_id": 1, "amount_fen": 1, "received_on": "2026-11-20"}),
    ("post", "/api/finance/transfers/1/void", {"reason": "x"}),
]  # fmt: skip


def _call(client, method, url, body):
    return client.post(url, json=body) if method == "post" else client.get(url)


def test_the_endpoint_list_covers_every_finance_route(app):
    routes = {
        (method.lower(), rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/finance")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    import re

    listed = {
        (m, re.sub(r"/\d{4}-\d\d-\d\d", "/<day>", re.sub(r"/1(?=/|$)", "/<int>", u)))
        for m, u, _ in ENDPOINTS
    }
    normalised = {(m, re.sub(r"<int:\w+>", "<int>", r)) for m, r in routes}
    assert normalised == listed


@pytest.mark.parametrize(("method", "url", "body"), ENDPOINTS)
def test_office_engineers_and_strangers_are_refused_every_finance_endpoint(
    make, login, signed_device, client, method, url, body
):
    engineer = make.user("engineer")
    refused = {
        "office": login(make.user("office")),
        "supervisor": login(make.user("supervisor")),
        "engineer session": login(engineer),
        "engineer device": signed_device(engineer),
    }
    for who, caller in refused.items():
        response = _call(caller, method, url, body)
        assert response.status_code == 403, (who, response.get_json())
        assert response.get_json()["error"] == "forbidden"
    # A stranger's write fails the CSRF check (400) before it could be authorised at all.
    assert _call(client, method, url, body).status_code == (401 if method == "get" else 400)
    assert db.session.scalar(db.select(db.func.count()).select_from(FinanceAudit)) == 0


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_finance_and_admin_may_read_every_finance_endpoint(make, login, role):
    session = login(make.user(role))
    for method, url, _ in ENDPOINTS:
        if method == "get":
            assert session.get(url).status_code in (200, 404), url


def test_bad_input_gets_the_one_error_shape_naming_the_field(make, login):
    session = login(make.user("finance"))
    response = session.post("/api/finance/fee-rates", json={"effective_from": "someday"})
    assert response.status_code == 422
    body = response.get_json()
    assert set(body["fields"]) == {"effective_from", "onsite_fee_fen"}
    response = session.post(
        "/api/finance/fee-rates", json={"effective_from": "2026-01-01", "onsite_fee_fen": 1.5}
    )
    assert response.status_code == 422 and "onsite_fee_fen" in response.get_json()["fields"]
    response = session.get("/api/finance/reconciliation?from=2026-02-01&to=2026-01-01")
    assert response.status_code == 422 and "to" in response.get_json()["fields"]
    response = session.get("/api/finance/reconciliation/1/not-a-day")
    assert response.status_code == 404
    response = session.post(
        "/api/finance/handovers", json={"engineer_id": 999, "payment_ids": ["nope"]}
    )
    assert response.status_code == 422 and "engineer_id" in response.get_json()["fields"]
    assert db.session.scalar(db.select(db.func.count()).select_from(FeeRate)) == 0


def test_a_price_from_a_day_that_has_one_is_a_conflict(make, login):
    session = login(make.user("finance"))
    body = {"effective_from": "2026-01-01", "onsite_fee_fen": 30000}
    assert session.post("/api/finance/fee-rates", json=body).status_code == 201
    response = session.post("/api/finance/fee-rates", json=body)
    assert response.status_code == 409 and "effective_from" in response.get_json()["fields"]


def test_there_is_no_way_to_edit_or_delete_a_receipt_through_finance(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/finance", "/finance")):
            assert not rule.methods & {"PUT", "PATCH", "DELETE"}, rule.rule


@pytest.fixture
def synced(make, signed_device):
    """A visit worked on a phone and synced: parts, a fee, a split payment, a voided receipt."""
    engineer = make.user("engineer", username="zhang")
    equipment = make.equipment(acceptance_date=date(2020, 1, 1), warranty_months=12)
    request = make.request(equipment.customer, equipment_id=equipment.id)
    visit = make.visit(request, engineer=engineer, onsite_fee_fen=30000)
    phone = Phone(signed_device(engineer))
    phone.arrive(visit.id)
    phone.part(visit.id, "FAN", 2, 4550)
    phone.complete(visit.id)
    phone.pay(visit.id, 20000, "cash")
    phone.pay(visit.id, 19100, "wechat")
    wrong = phone.pay(visit.id, 91000, "cash")
    phone.void(visit.id, wrong, "typed 910 for 191")
    phone.push()
    return {"engineer": engineer, "visit": visit, "phone": phone}


def test_a_synced_day_reconciles_through_the_api_with_the_difference_shown_at_once(
    make, login, synced
):
    session = login(make.user("finance"))
    eng = synced["engineer"]
    assert (
        session.post(
            "/api/finance/fee-rates", json={"effective_from": "2026-01-01", "onsite_fee_fen": 30000}
        ).status_code
        == 201
    )
    assert (
        session.post(
            "/api/finance/part-prices",
            json={"part_code": "FAN", "effective_from": "2026-01-01", "unit_cost_fen": 4550},
        ).status_code
        == 201
    )
    today = business_day(utcnow()).isoformat()
    day = session.get(f"/api/finance/reconciliation/{eng.id}/{today}").get_json()
    assert day["current"] == {
        "owed_fen": 39100,
        "collected_fen": 39100,
        "handed_fen": 0,
        "transferred_fen": 0,
        "promised_fen": 0,
    }
    assert [r["voided"] for r in day["receipts"]] == [False, False, True]
    assert day["receipts"][2]["void_reason"] == "typed 910 for 191"

    [cash] = [
        c for c in session.get("/api/finance/cash-in-hand").get_json() if c["engineer_id"] == eng.id
    ]
    assert cash["by_method"] == {"cash": 20000, "wechat": 19100}
    uncovered = session.get(f"/api/finance/engineers/{eng.id}/uncovered").get_json()
    response = session.post(
        "/api/finance/handovers",
        json={
            "engineer_id": eng.id,
            "amounts": {"cash": 19950, "wechat": 19100},
            "payment_ids": [p["id"] for p in uncovered],
            "note": "50 fen short",
        },
    )
    assert response.status_code == 201
    handover = response.get_json()
    assert (handover["expected_fen"], handover["difference_fen"]) == (39100, -50)
    assert handover["difference_by_method"] == {"cash": -50, "wechat": 0}

    response = session.post(
        f"/api/finance/reconciliation/{eng.id}/{today}/status", json={"status": "reconciled"}
    )
    assert response.status_code == 422 and "note" in response.get_json()["fields"]
    response = session.post(
        f"/api/finance/reconciliation/{eng.id}/{today}/status",
        json={"status": "reconciled", "note": "engineer owes 0.50"},
    )
    assert response.status_code == 200
    assert response.get_json()["locked"] is True
    assert response.get_json()["handed_minus_collected"] == -50

    # A payment for the same visit syncs after the day was locked: an adjustment, not a change.
    phone = synced["phone"]
    phone.pay(synced["visit"].id, 50, "cash", payer="补交")
    phone.push()
    day = session.get(f"/api/finance/reconciliation/{eng.id}/{today}").get_json()
    assert day["shown"]["collected_fen"] == 39100
    assert day["adjustments"] == [
        {"kind": "late_payment", "ref": f"R-{phone.prefix}-000004", "owed_fen": 0,
         "collected_fen": 50, "handed_fen": 0, "transferred_fen": 0, "promised_fen": 0}
    ]  # fmt: skip
    period = session.get(f"/api/finance/reconciliation?from={today}&to={today}").get_json()
    assert period["totals"]["adjusted_collected_fen"] == 50
    assert period["totals"]["collected_fen"] == 39100
    assert period["chart"] == [{"day": today, "collected_fen": 39150, "handed_fen": 39050}]
    actions = [a["action"] for a in session.get("/api/finance/audit").get_json()["items"]]
    assert actions == [
        "day.reconciled", "handover.record", "part_price.add", "fee.add"
    ]  # fmt: skip


def test_a_handover_cannot_cover_a_receipt_twice_or_another_engineers(make, login, synced):
    session = login(make.user("finance"))
    eng = synced["engineer"]
    ids = [p.id for p in db.session.scalars(db.select(Payment).order_by(Payment.receipt_no))]
    ok = session.post(
        "/api/finance/handovers",
        json={"engineer_id": eng.id, "amounts": {"cash": 20000}, "payment_ids": [ids[0]]},
    )
    assert ok.status_code == 201
    again = session.post(
        "/api/finance/handovers",
        json={"engineer_id": eng.id, "amounts": {"cash": 20000}, "payment_ids": [ids[0]]},
    )
    assert again.status_code == 422
    assert "already in a handover" in again.get_json()["fields"]["payment_ids"][0]
    voided = session.post(
        "/api/finance/handovers",
        json={"engineer_id": eng.id, "amounts": {"cash": 1}, "payment_ids": [ids[2]]},
    )
    assert "is voided" in voided.get_json()["fields"]["payment_ids"][0]
    other = make.user("engineer")
    theirs = session.post(
        "/api/finance/handovers",
        json={"engineer_id": other.id, "amounts": {"wechat": 19100}, "payment_ids": [ids[1]]},
    )
    assert "another engineer" in theirs.get_json()["fields"]["payment_ids"][0]
    assert db.session.scalar(db.select(db.func.count()).select_from(Handover)) == 1
    # Voiding the handover puts its receipt back in the engineer's hands.
    hid = ok.get_json()["id"]
    assert session.post(f"/api/finance/handovers/{hid}/void", json={}).status_code == 422
    voided = session.post(f"/api/finance/handovers/{hid}/void", json={"reason": "wrong day"})
    assert voided.status_code == 200 and voided.get_json()["void_reason"] == "wrong day"
    assert (
        session.post(f"/api/finance/handovers/{hid}/void", json={"reason": "x"}).status_code == 409
    )
    [cash] = [
        c for c in session.get("/api/finance/cash-in-hand").get_json() if c["engineer_id"] == eng.id
    ]
    assert cash["by_method"] == {"cash": 20000, "wechat": 19100}


def test_visit_charges_explain_the_price_used_when_the_phone_differs(make, login, synced):
    session = login(make.user("finance"))
    session.post(
        "/api/finance/part-prices",
        json={"part_code": "FAN", "effective_from": "2026-01-01", "unit_cost_fen": 4400},
    )
    body = session.get(f"/api/finance/visits/{synced['visit'].id}/charges").get_json()
    assert body["charges"]["parts_fen"] == 8800
    assert body["phone_total_fen"] == 39100
    assert {f["code"] for f in body["flags"]} == {"part_price_differs", "fee_unscheduled"}
    [part] = body["parts"]
    assert (part["phone_unit_fen"], part["list_unit_fen"], part["price_source"]) == (
        4550,
        4400,
        "list",
    )


def test_disputing_records_who_and_a_dispute_can_be_reopened(make, login, synced):
    boss = make.user("finance")
    session = login(boss)
    eng = synced["engineer"]
    today = business_day(utcnow()).isoformat()
    url = f"/api/finance/reconciliation/{eng.id}/{today}/status"
    assert session.post(url, json={"status": "disputed"}).status_code == 422
    assert (
        session.post(
            url, json={"status": "disputed", "note": "receipt 1 looks altered"}
        ).status_code
        == 200
    )
    record = db.session.scalar(db.select(DayReconciliation))
    assert (record.status, record.decided_by_id, record.figures) == ("disputed", boss.id, None)
    assert session.post(url, json={"status": "open"}).status_code == 200
    assert session.post(url, json={"status": "maybe"}).status_code == 422
