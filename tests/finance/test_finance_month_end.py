"""Closing a month: filters that work, moved receipts, reopening a locked day, phones not sent."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server.db_types import utcnow
from server.domain.timezone import COMPANY_TZ, business_day
from server.extensions import db
from server.finance.models import DayReconciliation, FinanceAudit
from tests.finance.sync_phone import Phone


def _today():
    return business_day(utcnow())


def _noon(day) -> str:
    return datetime(day.year, day.month, day.day, 12, tzinfo=COMPANY_TZ).astimezone(UTC).isoformat()


def _worked_visit(make, phone: Phone, engineer, amount: int = 30000, *, day=None):
    equipment = make.equipment(acceptance_date=datetime(2020, 1, 1).date(), warranty_months=12)
    request = make.request(equipment.customer, equipment_id=equipment.id)
    visit = make.visit(request, engineer=engineer, onsite_fee_fen=amount)
    if day is None:
        phone.arrive(visit.id)
    else:
        # Scheduled on `day` and paid without an arrival stamp: the window decides its day.
        start = datetime.fromisoformat(_noon(day))
        visit.window_start, visit.window_end = start, start + timedelta(hours=1)
        db.session.commit()
    paid = phone.pay(visit.id, amount)
    return visit, paid


def test_the_reconciliation_page_filters_by_engineer(make, login, signed_device):
    """Fault 6: `?engineer_id=N` answered 500 (the template shadowed its translator)."""
    finance = login(make.user("finance"))
    zhang, li = make.user("engineer"), make.user("engineer")
    for eng in (zhang, li):
        phone = Phone(signed_device(eng))
        _worked_visit(make, phone, eng)
        phone.push()
    response = finance.get(f"/finance/reconciliation?engineer_id={zhang.id}&lang=en")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.findall(r'<tr data-engineer="(\d+)"', page) == [str(zhang.id)]
    assert f"engineer_id={zhang.id}" in page  # the export links keep the filter


def test_a_receipt_moved_off_a_locked_day_shows_as_moved_with_where_it_went(
    make, login, signed_device
):
    """Fault 5: moving a visit's window showed its payment as "voided after lock"."""
    finance, office = login(make.user("finance")), login(make.user("office"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    yesterday = _today() - timedelta(days=1)
    visit, paid = _worked_visit(make, phone, engineer, 18000, day=yesterday)
    phone.push()
    url = f"/api/finance/reconciliation/{engineer.id}/{yesterday}"
    locked = finance.post(url + "/status", json={"status": "reconciled", "note": "counted"})
    assert locked.status_code == 200, locked.get_json()
    start = datetime.fromisoformat(_noon(_today()))
    moved = office.patch(
        f"/api/visits/{visit.id}",
        json={
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=1)).isoformat(),
        },
    )
    assert moved.status_code == 200, moved.get_json()
    adjustments = finance.get(url).get_json()["adjustments"]
    assert [a["kind"] for a in adjustments] == ["moved_out", "owed_changed"]
    adjustment = adjustments[0]
    assert adjustment["kind"] == "moved_out"
    assert adjustment["ref"] == paid["payload"]["receipt_no"]
    assert adjustment["collected_fen"] == -18000
    assert adjustment["moved_to_day"] == _today().isoformat()
    assert adjustment["moved_to_engineer_id"] == engineer.id
    page = finance.get(f"/finance/reconciliation/{engineer.id}/{yesterday}?lang=en")
    text = page.get_data(as_text=True)
    assert "Receipt moved to another day" in text and "Receipt voided after lock" not in text
    assert f'href="/finance/reconciliation/{engineer.id}/{_today()}"' in text


def test_a_supervisor_reopens_a_locked_day_with_a_reason_and_it_is_locked_again(
    make, login, signed_device
):
    clerk, boss = login(make.user("finance")), login(make.user("admin"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    yesterday = _today() - timedelta(days=1)
    _worked_visit(make, phone, engineer, 30000, day=yesterday)
    phone.push()
    url = f"/api/finance/reconciliation/{engineer.id}/{yesterday}"
    assert (
        clerk.post(url + "/status", json={"status": "reconciled", "note": "ok"}).status_code == 200
    )
    # A late phone: a second payment for the locked day arrives after the lock.
    _worked_visit(make, phone, engineer, 12000, day=yesterday)
    phone.push()
    day = clerk.get(url).get_json()
    assert day["shown"]["collected_fen"] == 30000
    assert [a["kind"] for a in day["adjustments"]] == ["late_payment", "owed_changed"]
    # A locked day cannot be set open by the status form, nor reopened by a clerk.
    refused = clerk.post(url + "/status", json={"status": "open"})
    assert refused.status_code == 409 and "supervisor" in refused.get_json()["message"]
    assert clerk.post(url + "/reopen", json={"reason": "late phone"}).status_code == 403
    no_reason = boss.post(url + "/reopen", json={"reason": "  "})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["fields"]
    reopened = boss.post(url + "/reopen", json={"reason": "late phone synced 12.00"})
    assert reopened.status_code == 200, reopened.get_json()
    body = reopened.get_json()
    assert body["status"] == "open" and body["shown"]["collected_fen"] == 42000
    assert body["adjustments"] == []
    assert boss.post(url + "/reopen", json={"reason": "again"}).status_code == 409
    relocked = clerk.post(
        url + "/status", json={"status": "reconciled", "note": "with the late one"}
    )
    assert relocked.status_code == 200
    assert relocked.get_json()["shown"]["collected_fen"] == 42000
    assert relocked.get_json()["adjustments"] == []
    db.session.expire_all()
    trail = db.session.scalars(
        select(FinanceAudit)
        .where(FinanceAudit.subject == f"day:{engineer.id}:{yesterday}")
        .order_by(FinanceAudit.id)
    ).all()
    assert [e.action for e in trail] == ["day.reconciled", "day.reopen", "day.reconciled"]
    assert trail[1].details["locked"]["collected_fen"] == 30000
    assert trail[1].details["reason"] == "late phone synced 12.00"
    assert [a["kind"] for a in trail[1].details["adjustments"]] == ["late_payment", "owed_changed"]
    page = boss.get(f"/finance/reconciliation/{engineer.id}/{yesterday}?lang=en")
    assert 'id="reopen-form"' in page.get_data(as_text=True)
    page = clerk.get(f"/finance/reconciliation/{engineer.id}/{yesterday}?lang=en")
    assert 'id="reopen-form"' not in page.get_data(as_text=True)


def test_saving_the_day_form_as_it_comes_never_locks_the_day(make, login):
    finance = login(make.user("finance"))
    engineer = make.user("engineer")
    yesterday = _today() - timedelta(days=1)
    page = finance.get(f"/finance/reconciliation/{engineer.id}/{yesterday}?lang=en")
    checked = re.findall(r'name="status" value="(\w+)" checked', page.get_data(as_text=True))
    assert checked == ["open"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    saved = finance.client.post(
        f"/finance/reconciliation/{engineer.id}/{yesterday}",
        data={"csrf_token": token, "note": ""},
    )
    assert saved.status_code == 422
    db.session.expire_all()
    assert db.session.scalar(select(DayReconciliation.status)) in (None, "open")


def test_a_day_a_phone_has_not_sent_is_shown_and_needs_a_reason_to_lock(make, login, signed_device):
    finance = login(make.user("finance"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    yesterday = _today() - timedelta(days=1)
    _worked_visit(make, phone, engineer, 30000, day=yesterday)
    _worked_visit(make, phone, engineer, 5000, day=yesterday)
    # Poor signal: the phone sends its first payment and reports that it still holds one.
    phone.push(ops=[phone.outbox[0]], report=True)
    page = finance.get(f"/finance/reconciliation/{engineer.id}/{yesterday}?lang=en")
    text = page.get_data(as_text=True)
    assert 'id="not-sent-warning"' in text
    row = re.search(r'<tr data-device="[^"]+" class="not-sent">.*?</tr>', text, re.S).group(0)
    assert re.search(r'<td class="num">1</td>', row)  # one unsent payment
    url = f"/api/finance/reconciliation/{engineer.id}/{yesterday}/status"
    refused = finance.post(url, json={"status": "reconciled"})
    assert refused.status_code == 422 and "phone" in refused.get_json()["fields"]["note"][0]
    phone.push(report=True)
    text = finance.get(f"/finance/reconciliation/{engineer.id}/{yesterday}?lang=en").get_data(
        as_text=True
    )
    assert 'id="not-sent-warning"' not in text
    # Everything sent: what is left to explain is the cash not yet handed over.
    still = finance.post(url, json={"status": "reconciled"}).get_json()
    assert still["fields"]["note"] == ["Required when the figures differ."]
    assert (
        finance.post(url, json={"status": "reconciled", "note": "cash tomorrow"}).status_code == 200
    )


def _windowed_visit(make, phone: Phone, engineer, local: datetime, amount: int):
    """A visit scheduled at a Shanghai wall-clock time and paid on the phone."""
    equipment = make.equipment(acceptance_date=datetime(2020, 1, 1).date(), warranty_months=12)
    request = make.request(equipment.customer, equipment_id=equipment.id)
    start = local.replace(tzinfo=COMPANY_TZ).astimezone(UTC)
    visit = make.visit(
        request,
        engineer=engineer,
        onsite_fee_fen=amount,
        window_start=start,
        window_end=start + timedelta(minutes=20),
    )
    return visit, phone.pay(visit.id, amount)


def _windowed_visit_unpaid(make, engineer, local: datetime, amount: int):
    """A visit scheduled at a Shanghai wall-clock time, not paid on site."""
    equipment = make.equipment(acceptance_date=datetime(2020, 1, 1).date(), warranty_months=12)
    request = make.request(equipment.customer, equipment_id=equipment.id)
    start = local.replace(tzinfo=COMPANY_TZ).astimezone(UTC)
    return make.visit(
        request,
        engineer=engineer,
        onsite_fee_fen=amount,
        window_start=start,
        window_end=start + timedelta(minutes=20),
    )


def _promise(phone: Phone, visit_id: int, amount: int) -> dict:
    payload = {"method": "bank_transfer", "amount_fen": amount, "payer": "某公司",
               "due_on": "2026-12-31", "note": ""}  # fmt: skip
    return phone.op("payment.promise", visit_id, payload)


def test_the_november_totals_of_every_export_agree(make, login, signed_device):
    finance = login(make.user("finance"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    paid = [
        _windowed_visit(make, phone, engineer, datetime(2026, 10, 31, 23, 30), 10000)[1],
        _windowed_visit(make, phone, engineer, datetime(2026, 11, 1, 0, 30), 20000)[1],
        _windowed_visit(make, phone, engineer, datetime(2026, 11, 30, 23, 30), 40000)[1],
        _windowed_visit(make, phone, engineer, datetime(2026, 12, 1, 0, 10), 80000)[1],
    ]
    # Money paid later: promised on a November visit (part transferred since, one mistaken
    # transfer voided) and on a December one.
    promised_nov = _windowed_visit_unpaid(make, engineer, datetime(2026, 11, 15, 10, 0), 9000)
    promised_dec = _windowed_visit_unpaid(make, engineer, datetime(2026, 12, 1, 0, 10), 7000)
    promise_nov = _promise(phone, promised_nov.id, 9000)
    _promise(phone, promised_dec.id, 7000)
    phone.push()
    for amount in (2000, 500):
        transfer = finance.post(
            "/api/finance/transfers",
            json={
                "promise_id": promise_nov["record_id"],
                "amount_fen": amount,
                "received_on": "2026-11-20",
            },
        )
        assert transfer.status_code == 201
    mistaken = transfer.get_json()["id"]
    voided = finance.post(f"/api/finance/transfers/{mistaken}/void", json={"reason": "dup"})
    assert voided.status_code == 200
    # One handover, made today, pays in receipts of October, November and December.
    handover = finance.post(
        "/api/finance/handovers",
        json={
            "engineer_id": engineer.id,
            "amounts": {"cash": 150000},
            "payment_ids": [p["record_id"] for p in paid],
        },
    )
    assert handover.status_code == 201
    import csv
    import io

    def rows(kind: str) -> list[dict[str, str]]:
        text = finance.get(f"/finance/export/{kind}.csv?from=2026-11-01&to=2026-11-30")
        return list(csv.DictReader(io.StringIO(text.get_data(as_text=True)[1:])))

    def total(table, *columns) -> int:
        return sum(int(r[c]) for r in table for c in columns)

    payments, handovers, recon = rows("payments"), rows("handovers"), rows("reconciliation")
    transfers = rows("transfers")
    assert total(transfers, "transferred_fen") == 2000
    assert total(recon, "transferred_fen", "adjustment_transferred_fen") == 2000
    assert total(transfers, "promised_fen") == 7000
    assert total(recon, "promised_fen", "adjustment_promised_fen") == 7000
    assert {r["business_day"] for r in transfers} == {"2026-11-15"}
    owed = total(recon, "owed_fen", "adjustment_owed_fen")
    assert total(recon, "collected_minus_owed_fen") == 60000 + 2000 + 7000 - owed
    assert total(payments, "counted_fen") == 60000
    assert total(recon, "collected_fen", "adjustment_collected_fen") == 60000
    assert total(handovers, "handed_fen") == 60000
    assert total(recon, "handed_over_fen", "adjustment_handed_fen") == 60000
    assert total(payments, "handed_over_fen") == 60000
    assert {r["business_day"] for r in handovers} == {"2026-11-01", "2026-11-30"}


def test_the_overview_lists_every_open_or_adjusted_day_of_any_month_oldest_first(
    make, login, signed_device
):
    finance = login(make.user("finance"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    today = _today()
    old, older, clean = (today - timedelta(days=n) for n in (35, 40, 3))
    for day in (older, old, clean):
        _windowed_visit(make, phone, engineer, datetime(day.year, day.month, day.day, 10), 30000)
    phone.push()
    base = f"/api/finance/reconciliation/{engineer.id}"
    for day in (older, clean):
        locked = finance.post(f"{base}/{day}/status", json={"status": "reconciled", "note": "ok"})
        assert locked.status_code == 200
    # A late payment lands on the locked day 40 days ago: it is back in the backlog.
    _windowed_visit(make, phone, engineer, datetime(older.year, older.month, older.day, 15), 5000)
    phone.push()
    page = finance.get("/finance/?lang=en").get_data(as_text=True)
    table = page[
        page.index('id="attention"') : page.index("</table>", page.index('id="attention"'))
    ]
    listed = re.findall(r'<tr data-day="([\d-]+)" data-engineer="(\d+)"', table)
    assert listed[:2] == [
        (older.isoformat(), str(engineer.id)),
        (old.isoformat(), str(engineer.id)),
    ]
    assert clean.isoformat() not in [d for d, _ in listed]
    assert "1 change(s) arrived after the day was locked" in table or "2 change(s)" in table


def test_handovers_and_the_audit_log_page_and_filter(make, login, signed_device):
    finance = login(make.user("finance"))
    zhang, li = make.user("engineer"), make.user("engineer")
    for eng, method in ((zhang, "cash"), (zhang, "wechat"), (li, "cash")):
        phone = Phone(signed_device(eng))
        visit = make.visit(engineer=eng, onsite_fee_fen=100)
        paid = phone.pay(visit.id, 100, method)
        phone.push()
        body = {"engineer_id": eng.id, "amounts": {method: 100}, "payment_ids": [paid["record_id"]]}
        assert finance.post("/api/finance/handovers", json=body).status_code == 201
    first = finance.get("/api/finance/handovers?per_page=2").get_json()
    assert first["meta"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    second = finance.get("/api/finance/handovers?per_page=2&page=2").get_json()
    ids = [h["id"] for h in first["items"] + second["items"]]
    assert len(set(ids)) == 3 and ids == sorted(ids, reverse=True)
    by_zhang = finance.get(f"/api/finance/handovers?engineer_id={zhang.id}").get_json()
    assert {h["engineer_id"] for h in by_zhang["items"]} == {zhang.id}
    assert by_zhang["meta"]["total"] == 2
    wechat = finance.get("/api/finance/handovers?method=wechat").get_json()["items"]
    assert [h["amounts"] for h in wechat] == [{"wechat": 100}]
    today = _today().isoformat()
    assert finance.get(f"/api/finance/handovers?from={today}").get_json()["meta"]["total"] == 3
    future = (_today() + timedelta(days=1)).isoformat()
    assert finance.get(f"/api/finance/handovers?from={future}").get_json()["meta"]["total"] == 0
    bad = finance.get("/api/finance/handovers?method=gold")
    assert bad.status_code == 422 and "method" in bad.get_json()["fields"]
    audit = finance.get("/api/finance/audit?action=handover.record&per_page=1").get_json()
    assert audit["meta"]["total"] == 3 and len(audit["items"]) == 1
    page = finance.get("/finance/handovers?per_page=2&lang=en").get_data(as_text=True)
    assert 'rel="next"' in page and "Page 1 of 2 (3 in all)" in page
    page = finance.get(f"/finance/handovers?engineer_id={li.id}&lang=en").get_data(as_text=True)
    assert len(re.findall(r'href="/finance/handovers/\d+"', page)) == 1
    page = finance.get("/finance/audit?action=handover.record&per_page=2&lang=en")
    assert "Page 1 of 2 (3 in all)" in page.get_data(as_text=True)


def test_the_overview_shows_the_oldest_backlog_days_and_counts_the_rest(
    make, login, signed_device, monkeypatch
):
    from server.finance import reconcile as finance_reconcile

    monkeypatch.setattr(finance_reconcile, "BACKLOG_SHOWN", 2)
    finance = login(make.user("finance"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    today = _today()
    days = [today - timedelta(days=n) for n in (9, 6, 3)]
    for day in days:
        _windowed_visit(make, phone, engineer, datetime(day.year, day.month, day.day, 10), 100)
    phone.push()
    page = finance.get("/finance/?lang=en").get_data(as_text=True)
    table = page[
        page.index('id="attention"') : page.index("</table>", page.index('id="attention"'))
    ]
    listed = re.findall(r'<tr data-day="([\d-]+)"', table)
    assert listed == [days[0].isoformat(), days[1].isoformat()]
    more = page[page.index('id="backlog-more"') :]
    assert "1 more day(s) need attention" in more and f"from={days[2].isoformat()}" in more
