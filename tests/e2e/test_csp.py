"""The strict Content-Security-Policy leaves the sign-in, office, finance and app pages working.

These contexts do not bypass the CSP (the others do, so Playwright may evaluate in pages); the
checks use locators only, and any CSP report in the console fails the test.
"""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect

from server.extensions import db
from server.finance.models import FeeRate
from tests.e2e.pwa_helpers import PHONE
from tests.finance.sync_phone import Phone


def _strict_page(browser, **kw):
    context = browser.new_context(bypass_csp=False, locale="en-US", **kw)
    page = context.new_page()
    reports: list[str] = []
    page.on(
        "console",
        lambda m: reports.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda e: reports.append(str(e)))
    return context, page, reports


def _sign_in(page, base: str, username: str, landing: str) -> None:
    page.goto(f"{base}/login?lang=en")
    page.fill("#username", username)
    page.fill("#password", "pw")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(landing))


def test_office_and_finance_pages_work_under_the_csp(live_server, make, browser, signed_device):
    make.user("office", username="clerk")
    make.user("finance", username="cashier")
    engineer = make.user("engineer", username="zhangwei")
    db.session.add(FeeRate(effective_from=date(2026, 1, 1), onsite_fee_fen=30000))
    db.session.commit()
    visit = make.visit(make.request(), engineer=engineer, onsite_fee_fen=30000)
    phone = Phone(signed_device(engineer))
    phone.arrive(visit.id)
    phone.complete(visit.id)
    phone.pay(visit.id, 30000, "cash")
    phone.push()

    context, page, reports = _strict_page(browser)
    response = page.goto(f"{live_server.url}/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    _sign_in(page, live_server.url, "clerk", r"/office/$")
    page.goto(f"{live_server.url}/office/board")
    expect(page.locator("#board-rows tr")).to_have_count(1)  # drawn, and board.js loaded
    page.goto(f"{live_server.url}/accounts/")
    expect(page.locator("[data-user=zhangwei]")).to_be_visible()
    context.close()

    context, page, more = _strict_page(browser)
    _sign_in(page, live_server.url, "cashier", r"/finance/$")
    page.goto(f"{live_server.url}/finance/handovers/new?engineer_id={engineer.id}")
    page.fill("#amount_cash", "299.50")
    # handover.js (once inline, now a file) computes the difference while typing.
    expect(page.locator('[data-diff="cash"]')).to_have_text("-¥0.50")
    context.close()
    assert reports + more == []


def test_the_app_works_under_the_csp(live_server, make, browser):
    make.user("engineer", username="wang")
    context, page, reports = _strict_page(browser, viewport=PHONE)
    response = page.goto(f"{live_server.url}/app/")
    assert "camera=(self)" in response.headers["permissions-policy"]
    page.fill("#signin-form [name=username]", "wang")
    page.fill("#signin-form [name=password]", "pw")
    page.click("#signin-submit")
    expect(page.locator("body[data-screen=today]")).to_have_count(1)
    context.close()
    assert reports == []
