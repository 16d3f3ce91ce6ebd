"""Finance in a real browser: a day synced from a phone is handed over, reconciled and locked.

The money comes in through the sync endpoint (`POST /api/sync/push`), as from an engineer's phone.
"""

from __future__ import annotations

import re
from datetime import date

from finance.sync_phone import Phone
from playwright.sync_api import expect

from server.db_types import utcnow
from server.domain.timezone import business_day
from server.extensions import db
from server.finance.models import DayReconciliation, FeeRate, Handover, PartPrice


def _sign_in(page, live_server, username: str, lang: str) -> None:
    page.goto(f"{live_server.url}/login?lang={lang}")
    page.fill("#username", username)
    page.fill("#password", "pw")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/finance/$"))


def _synced_day(make, signed_device):
    """An out-of-warranty visit worked on a phone and pushed: parts, split payment, void, gap."""
    engineer = make.user("engineer", username="zhangwei")
    engineer.display_name = "张伟"
    db.session.add(FeeRate(effective_from=date(2026, 1, 1), onsite_fee_fen=30000))
    db.session.add(PartPrice(part_code="FAN", effective_from=date(2026, 1, 1), unit_cost_fen=4550))
    db.session.commit()
    equipment = make.equipment(acceptance_date=date(2020, 1, 1), warranty_months=12)
    visit = make.visit(
        make.request(equipment.customer, equipment_id=equipment.id),
        engineer=engineer,
        onsite_fee_fen=30000,
    )
    phone = Phone(signed_device(engineer))
    phone.arrive(visit.id)
    phone.part(visit.id, "FAN", 2, 4800)  # the phone's price is not the list's
    phone.complete(visit.id)
    phone.pay(visit.id, 20000, "cash", payer="<script>alert(1)</script>")
    phone.pay(visit.id, 19600, "wechat")
    wrong = phone.pay(visit.id, 96000, "cash")
    phone.void(visit.id, wrong, "金额录错")
    phone.skip_receipt()  # receipt 4 was written but never synced
    phone.push()
    return engineer, visit, phone


def test_finance_hands_over_reconciles_and_sees_a_late_sync_as_an_adjustment(
    live_server, make, signed_device, page, screenshot, fresh
):
    make.user("finance", username="liufang")
    engineer, visit, phone = _synced_day(make, signed_device)
    today = business_day(utcnow()).isoformat()
    _sign_in(page, live_server, "liufang", "zh-Hans")

    # The period view: owed by the list (2 x 45.50 + 300), collected from the synced receipts.
    page.goto(f"{live_server.url}/finance/reconciliation?lang=zh-Hans")
    row = page.locator(f'#recon-table tr[data-engineer="{engineer.id}"][data-day="{today}"]')
    expect(row).to_contain_text("¥391.00")
    expect(row).to_contain_text("¥396.00")
    expect(row).to_contain_text("待对账")
    expect(page.locator("#chart svg rect.collected")).to_have_count(7)
    screenshot(page, "finance-reconciliation-zh-Hans")

    # The drill-down: the price flag, the voided receipt, the customer's markup shown as text.
    row.locator("a").first.click()
    expect(page.locator('[data-figure="owed"]')).to_have_text("¥391.00")
    expect(page.locator('[data-figure="collected-minus-owed"]')).to_have_text("¥5.00")
    expect(page.locator('[data-flag="part_price_differs"]')).to_contain_text("FAN")
    expect(page.locator(f'tr[data-receipt="R-{phone.prefix}-000003"]')).to_contain_text("已作废")
    expect(page.locator("#receipts")).to_contain_text("<script>alert(1)</script>")

    # The handover: tick the receipts, type what was handed, see the difference while typing.
    page.goto(f"{live_server.url}/finance/handovers/new?engineer_id={engineer.id}&lang=zh-Hans")
    expect(page.locator("#uncovered input[type=checkbox]")).to_have_count(2)
    page.fill("#amount_cash", "199.50")
    page.fill("#amount_wechat", "196")
    expect(page.locator('[data-diff="cash"]')).to_have_text("-¥0.50")
    expect(page.locator('[data-diff="wechat"]')).to_have_text("¥0.00")
    screenshot(page, "finance-handover-new-zh-Hans")
    page.click("#handover-form button[type=submit]")
    expect(page.locator("#handover-difference")).to_have_text("-¥0.50")
    screenshot(page, "finance-handover-zh-Hans")
    page.goto(page.url.split("?")[0] + "?lang=en")
    expect(page.locator("#handover-difference")).to_have_text("-¥0.50")
    screenshot(page, "finance-handover-en")
    fresh()
    assert db.session.scalar(db.select(Handover)).total_fen == 39550
    for lang in ("zh-Hans", "en"):
        page.goto(f"{live_server.url}/finance/handovers?lang={lang}")
        expect(page.locator("#handovers tbody tr")).to_have_count(1)
        expect(page.locator("#handovers")).to_contain_text("-¥0.50")
        screenshot(page, f"finance-handovers-{lang}")

    # Reconcile: the figures differ, so the note is asked for beside its field, then it locks.
    page.goto(f"{live_server.url}/finance/reconciliation/{engineer.id}/{today}?lang=en")
    page.check('input[name=status][value="reconciled"]')
    page.click("#status-form button[type=submit]")
    expect(page.locator("#err-note")).to_be_visible()
    page.fill("#note", "Customer paid the phone's price; 0.50 short in cash.")
    page.click("#status-form button[type=submit]")
    expect(page.locator("#locked-note")).to_be_visible()
    fresh()
    record = db.session.scalar(db.select(DayReconciliation))
    assert record.status == "reconciled" and record.figures["collected_fen"] == 39600

    # The phone was offline for one more payment; it syncs after the lock.
    phone.pay(visit.id, 50, "cash", payer="补交")
    phone.push()
    page.reload()
    expect(page.locator('[data-figure="collected"]')).to_have_text("¥396.00")
    expect(page.locator("#adjustments")).to_contain_text(f"R-{phone.prefix}-000005")
    expect(page.locator("#adjustments")).to_contain_text("+¥0.50")
    screenshot(page, "finance-day-locked-adjustment-en")

    page.goto(f"{live_server.url}/finance/reconciliation?lang=en")
    expect(page.locator(f'tr[data-adjustment-for="{engineer.id}-{today}"]')).to_contain_text(
        "+¥0.50"
    )
    screenshot(page, "finance-reconciliation-en")
    page.goto(f"{live_server.url}/finance/receipts?lang=en")
    expect(page.locator(f"#device-{phone.prefix}")).to_contain_text(
        f"Missing receipts: R-{phone.prefix}-000004"
    )
