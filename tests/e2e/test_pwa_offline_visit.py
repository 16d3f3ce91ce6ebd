"""A whole visit done offline in real Chromium, then synced: exactly one of everything arrives.

Issue 4 (1): go offline before arrival, reload in the middle of the visit, finish through payment
and sign-off, go online; the server holds exactly one of each record, the payment with the
receipt number the customer saw, and a sign-off whose digest matches (not stale).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from server.accounts.models import Device
from server.extensions import db
from server.feed.models import SyncOperation
from server.visits.field_models import ChecklistEntry, Feedback, PartEvent, Payment, SignOff
from server.visits.models import Visit
from tests.e2e.pwa_helpers import (
    PHONE,
    draw_signature,
    make_visit,
    open_app,
    outbox_count,
    sign_in,
    wait_synced,
)


def count(model, **where) -> int:
    return db.session.query(model).filter_by(**where).count()


def do_whole_visit_offline(page, context, live_server, visit_id: int, reload_midway=True):
    """Work a visit from arrival to feedback with no network; return the receipt number shown."""
    page.goto(f"{live_server.url}/app/#/visit/{visit_id}")
    page.wait_for_selector("#arrive-form")
    context.set_offline(True)
    expect(page.locator("#status-online")).to_have_text(re.compile("Offline|离线"))

    page.click("#en-route")
    expect(page.locator("#visit-status")).to_have_text("On the way")
    page.click("#arrive")
    expect(page.locator("#visit-status")).to_have_text("Arrived")
    page.click("#permission")
    expect(page.locator("#checklist")).to_have_attribute("data-section", "before")
    page.click("[data-item=dress-badge] [data-value=done]")
    expect(page.locator("[data-item=dress-badge]")).to_have_attribute("data-state", "done")
    page.click("[data-item=kit] [data-value=na]")
    expect(page.locator("[data-item=kit]")).to_have_attribute("data-state", "na")

    if reload_midway:
        # The phone is closed and opened again in the basement: everything must still be there.
        page.reload()
        page.wait_for_selector("#checklist")
        expect(page.locator("[data-item=kit]")).to_have_attribute("data-state", "na")
        expect(page.locator("nav.steps [data-step=arrive]")).to_have_class(re.compile("done"))

    page.click("nav.steps [data-step=parts]")
    page.select_option("#part-form [name=kind]", "used")
    page.fill("#part-form [name=part_code]", "SFP-10G")
    page.fill("#part-form [name=description]", "光模块")
    page.fill("#part-form [name=unit_cost]", "350.00")
    page.click("#part-save")
    expect(page.locator("#parts [data-part]")).to_have_count(1)

    page.click("nav.steps [data-step=outcome]")
    page.fill("#outcome-form [name=outcome_summary]", "更换光模块，端口恢复")
    page.click("#outcome-fixed")

    expect(page.locator("#charge-total td")).to_have_text("¥550.00")
    page.select_option("#payment-form [name=method]", "cash")
    expect(page.locator("#payment-form [name=amount]")).to_have_value("550.00")
    page.click("#payment-save")
    page.wait_for_selector("#receipt")
    receipt_no = page.locator("#receipt-no").inner_text()
    assert re.fullmatch(r"R-[2-9A-HJKMNP-Z]{4}-000001", receipt_no), receipt_no
    expect(page.locator("#receipt-amount")).to_have_text("¥550.00")
    page.click("#receipt-close")

    page.click("#to-signoff")
    expect(page.locator("#signoff-total")).to_have_text("¥550.00")
    page.fill("#signoff-form [name=customer_name]", "周老师")
    draw_signature(page, "#signature")
    page.click("#signoff-save")
    expect(page.locator("#signoffs li")).to_have_count(1)
    page.click("#feedback-form .star:nth-of-type(5)")
    page.fill("#feedback-form [name=comments]", "很快")
    page.click("#feedback-save")
    expect(page.locator("#finished")).to_have_class(re.compile("ok"))
    expect(page.locator("#done-sent")).to_contain_text("10")
    return receipt_no


def test_whole_visit_offline_then_sync_gives_exactly_one_of_each(live_server, make, browser, fresh):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer, in_warranty=False, fee_fen=20000)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")

    receipt_no = do_whole_visit_offline(page, context, live_server, visit.id)
    waiting = outbox_count(page)
    # en_route, arrived, in_progress, 2 checklist, part, completed, payment, sign-off, feedback
    assert waiting == 10
    fresh()
    assert count(SyncOperation) == 0  # nothing left the phone while offline

    context.set_offline(False)
    wait_synced(page)
    fresh()
    assert count(SyncOperation) == waiting
    assert {op.status for op in db.session.query(SyncOperation)} == {"applied"}
    assert db.session.get(Visit, visit.id).status == "completed"
    assert count(ChecklistEntry, visit_id=visit.id) == 2
    assert count(PartEvent, visit_id=visit.id) == 1
    payments = db.session.query(Payment).filter_by(visit_id=visit.id).all()
    paid = [(p.receipt_no, p.amount_fen, p.method) for p in payments]
    assert paid == [(receipt_no, 55000, "cash")]
    device = db.session.query(Device).one()
    assert receipt_no.startswith(f"R-{device.receipt_prefix}-")
    # The app told the server what its outbox held; after this sync nothing is left on the phone.
    assert (device.outbox_high_seq, device.outbox_unsent_ops) == (waiting, 0)
    assert device.outbox_unsent_payments == 0
    signoffs = db.session.query(SignOff).filter_by(visit_id=visit.id).all()
    assert len(signoffs) == 1
    assert signoffs[0].digest == signoffs[0].server_digest
    assert signoffs[0].stale is False
    assert count(Feedback, visit_id=visit.id) == 1

    # A second sync (timer, button) sends nothing again.
    page.click("#sync-now")
    wait_synced(page)
    fresh()
    assert count(SyncOperation) == waiting
    assert count(Payment) == 1


def test_offline_reload_without_the_service_worker_fails(live_server, make, browser):
    """Control: with service workers blocked, the same offline reload cannot open the app."""
    make.user("engineer", username="wang")
    context = browser.new_context(viewport=PHONE, service_workers="block")
    page = context.new_page()
    open_app(page, live_server.url)
    context.set_offline(True)
    with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
        page.reload()
