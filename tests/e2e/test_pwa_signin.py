"""Sign-in once online; a revoked sign-in asks to sign in again and keeps the outbox; a photo
the server lost is uploaded again before its op is re-sent."""

from __future__ import annotations

from playwright.sync_api import expect

from server.accounts.models import Device
from server.accounts.operations import revoke_device
from server.extensions import db
from server.feed.models import SyncOperation
from server.visits.field_models import Blob, ChecklistEntry, SignOff
from tests.e2e.pwa_helpers import (
    PHONE,
    draw_signature,
    idb,
    make_visit,
    open_app,
    outbox_count,
    sign_in,
    sync_now,
    wait_synced,
    wait_until,
)


def test_wrong_password_and_non_engineers_are_told(live_server, make, browser):
    make.user("engineer", username="wang")
    make.user("office", username="clerk")
    page = browser.new_context(viewport=PHONE, locale="en-US").new_page()
    open_app(page, live_server.url)
    page.fill("#signin-form [name=username]", "wang")
    page.fill("#signin-form [name=password]", "nope")
    page.click("#signin-submit")
    expect(page.locator("#signin-error")).to_have_text("Wrong username or password.")
    page.fill("#signin-form [name=username]", "clerk")
    page.fill("#signin-form [name=password]", "pw")
    page.click("#signin-submit")
    # An office account's right password answers as a wrong one: the app tells nothing of
    # which accounts exist or what they may do (issue 11).
    expect(page.locator("#signin-error")).to_have_text("Wrong username or password.")


def test_revoked_sign_in_asks_again_and_keeps_the_outbox(live_server, make, browser, fresh):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}/before")
    page.wait_for_selector("#checklist")
    context.set_offline(True)
    page.click("[data-item=kit] [data-value=done]")
    expect(page.locator("[data-item=kit]")).to_have_attribute("data-state", "done")

    # Signed out (as by a password change), not reported lost: the app keeps its outbox.
    revoke_device(db.session.query(Device).one(), "signed_out")
    db.session.commit()
    context.set_offline(False)
    page.wait_for_selector("#signin-form")
    expect(page.locator("#signin-waiting")).to_contain_text("1 entries")
    assert outbox_count(page) == 1
    fresh()
    assert db.session.query(SyncOperation).count() == 0

    sign_in(page, live_server.url, "wang")
    fresh()
    assert db.session.get(ChecklistEntry, (visit.id, "kit")).state == "done"


def test_a_lost_signature_is_uploaded_again(live_server, make, browser, fresh):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}/signoff")
    # Sign with no signal, then make the phone believe the signature was uploaded although the
    # server never got it (an upload whose answer was a lie, or a server restored since).
    # page.route cannot stage this reliably: requests through a service worker escape it.
    context.set_offline(True)
    page.fill("#signoff-form [name=customer_name]", "周老师")
    draw_signature(page, "#signature")
    page.click("#signoff-save")
    wait_until(page, lambda: outbox_count(page) >= 1, what="the sign-off in the outbox")
    marked = idb(
        page,
        "return tx(['blobs'], 'readwrite', async (t) => { const all = await t.all('blobs');"
        " for (const b of all) await t.put('blobs', { ...b, uploaded: true });"
        " return all.length; });",
    )
    assert marked == 1
    context.set_offline(False)
    sync_now(page)
    wait_synced(page)
    fresh()
    signoff = db.session.query(SignOff).one()
    assert db.session.get(Blob, signoff.signature_blob) is not None
    statuses = [op.status for op in db.session.query(SyncOperation)]
    assert statuses == ["applied"]
