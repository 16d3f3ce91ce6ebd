"""Unsent work survives: saved to a file and loaded on a wiped phone, kept through sign-out, and
kept when a visit is taken away (issue 4: storage that survives, sign-in, revoke)."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from server.dispatch.operations import update_visit
from server.extensions import db
from server.feed.models import SyncOperation
from server.visits.field_models import ChecklistEntry, Payment
from server.visits.models import Visit
from tests.e2e.pwa_helpers import PHONE, make_visit, outbox_count, sign_in, wait_synced


def work_offline(page, context, url, visit_id) -> str:
    page.goto(f"{url}/app/#/visit/{visit_id}/before")
    page.wait_for_selector("#checklist")
    context.set_offline(True)
    for item in ("dress-badge", "kit"):
        page.click(f"[data-item={item}] [data-value=done]")
        expect(page.locator(f"[data-item={item}]")).to_have_attribute("data-state", "done")
    page.click("nav.steps [data-step=charges]")
    page.fill("#payment-form [name=amount]", "88")
    page.click("#payment-save")
    page.wait_for_selector("#receipt")
    return page.locator("#receipt-no").inner_text()


def test_unsent_work_saved_to_a_file_comes_back_on_a_wiped_phone(
    live_server, make, browser, fresh, tmp_path
):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer)
    context = browser.new_context(viewport=PHONE, locale="en-US", accept_downloads=True)
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    receipt_no = work_offline(page, context, live_server.url, visit.id)
    page.goto(f"{live_server.url}/app/#/more")
    with page.expect_download() as download:
        page.click("#export")
    saved = tmp_path / "unsent.json"
    download.value.save_as(saved)
    exported = json.loads(saved.read_text(encoding="utf-8"))
    assert [op["seq"] for op in exported["ops"]] == [1, 2, 3]
    context.close()  # the phone is wiped: its IndexedDB is gone

    new_context = browser.new_context(viewport=PHONE, locale="en-US")
    page = new_context.new_page()
    page.goto(f"{live_server.url}/app/")
    page.set_input_files("#import-file", str(saved))
    expect(page.locator("#signin-import-message")).to_contain_text("3 entries loaded")
    sign_in(page, live_server.url, "wang")  # same device id, restored from the file
    fresh()
    assert db.session.query(SyncOperation).count() == 3
    assert [p.receipt_no for p in db.session.query(Payment)] == [receipt_no]

    # Loading the same file again is harmless: the server answers "duplicate".
    page.goto(f"{live_server.url}/app/#/more")
    page.set_input_files("#import-file", str(saved))
    expect(page.locator("#more-message")).to_contain_text("3 entries loaded")
    page.click("#sync-now")
    wait_synced(page)
    fresh()
    assert db.session.query(SyncOperation).count() == 3
    assert db.session.query(Payment).count() == 1
    expect(page.locator("#status-problems")).to_have_count(0)
    # The next receipt continues the restored counter: never a number used twice.
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}/charges")
    page.fill("#payment-form [name=amount]", "1")
    page.click("#payment-save")
    page.wait_for_selector("#receipt")
    assert page.locator("#receipt-no").inner_text() == receipt_no.replace("000001", "000002")


def test_sign_out_with_unsent_work_warns_and_keeps_it(live_server, make, browser, fresh):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    work_offline(page, context, live_server.url, visit.id)
    page.goto(f"{live_server.url}/app/#/more")
    page.click("#signout")
    expect(page.locator("#signout-box [role=alert]")).to_contain_text("3 entries")
    page.click("#signout-anyway")
    expect(page.locator("#signin-waiting")).to_contain_text("3 entries")
    assert outbox_count(page) == 3
    context.set_offline(False)
    sign_in(page, live_server.url, "wang")
    fresh()
    assert db.session.query(SyncOperation).count() == 3


def test_visit_taken_away_leaves_the_phone_but_its_work_is_sent(live_server, make, browser, fresh):
    engineer = make.user("engineer", username="wang")
    other = make.user("engineer", username="li")
    visit = make_visit(make, engineer)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}/before")
    page.wait_for_selector("#checklist")
    context.set_offline(True)
    page.click("[data-item=kit] [data-value=done]")
    expect(page.locator("[data-item=kit]")).to_have_attribute("data-state", "done")

    update_visit(db.session.get(Visit, visit.id), {"engineer_id": other.id})
    db.session.commit()

    context.set_offline(False)
    wait_synced(page)
    page.goto(f"{live_server.url}/app/#/today")
    expect(page.locator(".visit-card")).to_have_count(0)
    page.goto(f"{live_server.url}/app/#/sync")
    expect(page.locator("#problems [data-kind='visit.revoked']")).to_contain_text(
        "given to someone else"
    )
    fresh()
    entry = db.session.get(ChecklistEntry, (visit.id, "kit"))
    assert entry is not None and entry.state == "done"  # the work done before is not lost
