"""A phone revoked as lost erases what it holds at its next contact, sends nothing, and says why."""

from __future__ import annotations

from playwright.sync_api import expect

from server.accounts.models import Device
from server.accounts.operations import revoke_device
from server.extensions import db
from server.feed.models import SyncOperation
from tests.e2e.pwa_helpers import PHONE, make_visit, outbox_count, sign_in

WHAT_IS_LEFT = """async () => {
  const names = (await indexedDB.databases()).map((d) => d.name);
  const registrations = await navigator.serviceWorker.getRegistrations();
  return {
    databases: names,
    caches: await caches.keys(),
    workers: registrations.length,
    notice: JSON.parse(localStorage.getItem("onsite-wiped") || "null"),
    storage: Object.keys(localStorage),
  };
}"""


def test_a_revoked_phone_wipes_itself_and_sends_nothing(live_server, make, browser, fresh):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}/before")
    page.wait_for_selector("#checklist")
    before = page.evaluate(WHAT_IS_LEFT)
    assert "onsite" in before["databases"] and before["caches"] and before["workers"] == 1

    context.set_offline(True)
    page.click("[data-item=kit] [data-value=done]")
    expect(page.locator("[data-item=kit]")).to_have_attribute("data-state", "done")
    assert outbox_count(page) == 1

    revoke_device(db.session.query(Device).one(), "revoked")  # the office: "lost phone"
    db.session.commit()
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")

    expect(page.locator("body[data-screen=wiped]")).to_have_count(1, timeout=15_000)
    expect(page.locator("#wiped [role=alert]")).to_contain_text("revoked this phone")
    left = page.evaluate(WHAT_IS_LEFT)
    assert left["caches"] == [] and left["workers"] == 0
    assert left["storage"] == ["onsite-wiped"] and left["notice"]["reason"] == "device_revoked"
    if "onsite" in left["databases"]:  # a redraw may have opened an empty one again
        assert outbox_count(page) == 0
        assert page.evaluate("async () => (await import('/app/js/db.js')).getMeta('session')") in (
            None,
        )
    fresh()
    assert db.session.query(SyncOperation).count() == 0  # nothing was sent on the way out

    # Opened again, the phone still says why, and offers a fresh sign-in.
    page.reload()
    expect(page.locator("body[data-screen=wiped]")).to_have_count(1)
    page.click("#wiped-continue")
    expect(page.locator("#signin-form")).to_be_visible()
    context.close()


def test_the_app_says_how_long_to_wait_after_too_many_failures(live_server, make, browser):
    from server.accounts import throttle
    from tests.e2e.pwa_helpers import open_app

    make.user("engineer", username="wang")
    page = browser.new_context(viewport=PHONE, locale="en-US").new_page()
    open_app(page, live_server.url)
    for _ in range(throttle.LIMITS["account"]):
        page.fill("#signin-form [name=username]", "wang")
        page.fill("#signin-form [name=password]", "nope")
        page.click("#signin-submit")
        expect(page.locator("#signin-error")).not_to_have_text("")
    page.fill("#signin-form [name=password]", "pw")
    page.click("#signin-submit")
    minutes = int(throttle.LOCK.total_seconds() // 60)
    expect(page.locator("#signin-error")).to_have_text(
        f"Too many failed sign-ins. Try again in {minutes} min, "
        "or ask the office to unlock your account."
    )
