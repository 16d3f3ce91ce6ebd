"""A customer who will pay later: the promise is recorded on the phone and reaches finance."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from server.db_types import utcnow
from server.domain.timezone import business_day
from server.extensions import db
from server.visits.field_models import PaymentPromise
from tests.e2e.pwa_helpers import PHONE, make_visit, sign_in, wait_synced


def test_a_promise_to_pay_by_transfer_is_recorded_on_the_phone_and_listed_for_finance(
    live_server, make, browser, login
):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer, fee_fen=39100)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}/charges")
    page.wait_for_selector("#charges")
    page.click("text=Customer will pay later")
    expect(page.locator("#promise-form [name=amount]")).to_have_value("391.00")
    page.fill("#promise-form [name=payer]", "西安宏达科技 财务部")
    # Two weeks on, not a fixed day: past its day a promise is listed as overdue, not outstanding.
    due_on = (business_day(utcnow()) + timedelta(days=14)).isoformat()
    page.fill("#promise-form [name=due_on]", due_on)
    page.click("#promise-save")
    expect(page.locator("#promises li")).to_have_count(1)
    wait_synced(page)
    context.close()
    db.session.expire_all()
    promise = db.session.scalar(db.select(PaymentPromise))
    assert (promise.visit_id, promise.method, promise.amount_fen) == (
        visit.id,
        "bank_transfer",
        39100,
    )
    assert (promise.payer, promise.due_on) == ("西安宏达科技 财务部", due_on)
    finance = login(make.user("finance"))
    [listed] = finance.get("/api/finance/promises?state=outstanding").get_json()
    assert listed["id"] == promise.id and listed["outstanding_fen"] == 39100
