"""Pushes that fail halfway are retried, and nothing arrives twice (issue 4, test 2)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from server.extensions import db
from server.feed.models import SyncOperation
from server.visits.field_models import ChecklistEntry, Payment
from tests.e2e.pwa_helpers import PHONE, make_visit, outbox_count, sign_in, wait_synced, wait_until


def take_payment(page, amount: str) -> str:
    page.click("nav.steps [data-step=charges]")
    page.fill("#payment-form [name=amount]", amount)
    page.click("#payment-save")
    page.wait_for_selector("#receipt")
    number = page.locator("#receipt-no").inner_text()
    page.click("#receipt-close")
    return number


@pytest.mark.parametrize("failure", ["response_lost", "server_error", "connection_cut"])
def test_failed_push_is_retried_without_doubling(live_server, make, browser, fresh, failure):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}/before")
    page.wait_for_selector("#checklist")

    pushes: list[str] = []

    def flaky(route):
        pushes.append(failure)
        if len(pushes) > 1:
            return route.continue_()
        if failure == "response_lost":
            # The server applies and commits the batch; the answer never reaches the phone.
            route.fetch()
            return route.abort("connectionreset")
        if failure == "server_error":
            return route.fulfill(status=500, json={"status": 500, "message": "boom"})
        return route.abort("connectionrefused")

    page.route("**/api/sync/push", flaky)
    context.set_offline(True)
    for item in ("dress-badge", "kit"):
        page.click(f"[data-item={item}] [data-value=done]")
        expect(page.locator(f"[data-item={item}]")).to_have_attribute("data-state", "done")
    receipt_no = take_payment(page, "120.00")
    assert outbox_count(page) == 3
    context.set_offline(False)  # the online event triggers the first push, which fails

    wait_until(page, lambda: len(pushes) >= 1, what="the first push")
    expect(page.locator("#status-waiting")).to_have_attribute("data-count", "3")
    assert outbox_count(page) == 3  # nothing is dropped on a failure

    page.click("#sync-now")
    wait_synced(page)
    fresh()
    assert db.session.query(SyncOperation).count() == 3
    assert db.session.query(ChecklistEntry).filter_by(visit_id=visit.id).count() == 2
    payments = db.session.query(Payment).all()
    assert [(p.receipt_no, p.amount_fen) for p in payments] == [(receipt_no, 12000)]
    # The phone shows nothing refused: duplicates of what arrived are success, not problems.
    expect(page.locator("#status-problems")).to_have_count(0)


def test_two_triggers_at_once_send_each_op_once(live_server, make, browser, fresh):
    """The online event, the button, the timer and another tab never send one op twice."""
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    second_tab = context.new_page()
    second_tab.goto(f"{live_server.url}/app/#/visit/{visit.id}/during")
    second_tab.wait_for_selector("#checklist")
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}/before")
    page.wait_for_selector("#checklist")

    pushed_ops: list[int] = []
    page.route(
        "**/api/sync/push",
        lambda r: (pushed_ops.extend(r.request.post_data_json["ops"]), r.continue_()),
    )
    second_tab.route(
        "**/api/sync/push",
        lambda r: (pushed_ops.extend(r.request.post_data_json["ops"]), r.continue_()),
    )
    context.set_offline(True)
    for item in ("dress-badge", "appointment", "kit"):
        page.click(f"[data-item={item}] [data-value=done]")
        expect(page.locator(f"[data-item={item}]")).to_have_attribute("data-state", "done")
    second_tab.click("[data-item=on-time] [data-value=na]")
    expect(second_tab.locator("[data-item=on-time]")).to_have_attribute("data-state", "na")
    context.set_offline(False)
    # Every trigger at once, in both tabs.
    script = (
        "async () => { const { requestSync } = await import('/app/js/sync.js');"
        " await Promise.all([requestSync(), requestSync(), requestSync()]); }"
    )
    page.evaluate(script)
    second_tab.evaluate(script)
    wait_synced(page)
    fresh()
    seqs = sorted(op.seq for op in db.session.query(SyncOperation))
    assert seqs == [1, 2, 3, 4]  # one device, no gap, none twice (Web Locks across tabs)
    assert sorted(op["seq"] for op in pushed_ops) == [1, 2, 3, 4]
