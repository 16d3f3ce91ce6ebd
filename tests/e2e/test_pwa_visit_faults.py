"""Issue 12: each fault seen on screen, checked in a real browser at 360x640.

The toast never lies over a control; a new screen opens at its top; a part is cancelled only after
"sure?"; "escalate" is never preset; S16 and S22 are asked before anything is saved; offline is
said in words and the sync list names the customer; the sign-in screen has no sync controls.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from server.extensions import db
from server.visits.models import Visit
from tests.e2e.pwa_helpers import PHONE, make_visit, outbox_count, sign_in, wait_synced

# Any control of the screen or the bars under the toast's box while it is shown.
UNDER_TOAST = """() => {
  const t = document.getElementById('toast');
  if (t.hidden) return null;
  const a = t.getBoundingClientRect();
  const m = document.getElementById('main').getBoundingClientRect();
  const shown = (el) => { // the part of a control on show: <main> clips what scrolled away
    const b = el.getBoundingClientRect();
    if (!el.closest('main')) return b;
    const top = Math.max(b.top, m.top);
    return { left: b.left, right: b.right, top, bottom: Math.min(b.bottom, m.bottom) };
  };
  return [...document.querySelectorAll('button, a, input, select, textarea, summary')]
    .filter((el) => el.offsetParent !== null)
    .filter((el) => { const b = shown(el);
      return b.left < a.right && b.right > a.left && b.top < a.bottom && b.bottom > a.top; })
    .map((el) => el.id || el.textContent.trim().slice(0, 20));
}"""


def _phone(browser, live_server, locale="zh-CN"):
    context = browser.new_context(viewport=PHONE, locale=locale)
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    return context, page


def test_sign_in_screen_shows_no_sync_controls(live_server, make, browser):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/app/")
    page.wait_for_selector("#signin-form")
    expect(page.locator("#sync-now")).to_have_count(0)
    expect(page.locator("#status-waiting")).to_have_count(0)
    expect(page.locator("label[for=import-file]")).to_be_hidden()  # behind "lost work?"
    expect(page.locator("#signin-insecure")).to_have_count(0)  # 127.0.0.1 is a secure context


def test_late_arrival_and_not_fixed_are_asked_before_saving(live_server, make, browser, fresh):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer, in_warranty=True, late=True)
    context, page = _phone(browser, live_server, "en-US")
    context.set_offline(True)  # what is saved stays in the outbox, to be counted
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}")
    expect(page.locator("#late-notice")).to_be_visible()
    expect(page.locator("[data-sla=missed]")).to_contain_text("tell the customer")
    before = outbox_count(page)
    page.click("#arrive")
    expect(page.locator("#arrive-form .field-error")).to_be_visible()
    assert outbox_count(page) == before  # nothing saved without the reason (S16)
    page.fill("#late-reason", "Traffic on the ring road")
    page.check("#arrive-form [name=customer_informed]")
    page.click("#arrive")
    page.click("#permission")
    page.click("nav.steps [data-step=outcome]")
    # "Fixed" and "not fixed" are apart; escalation is the engineer's choice, never preset.
    page.click("#not-fixed summary")
    fixed = page.locator("#outcome-fixed").bounding_box()
    not_fixed = page.locator("#not-fixed summary").bounding_box()
    assert not_fixed["y"] - (fixed["y"] + fixed["height"]) >= 32
    expect(page.locator("#not-fixed-form [name=escalate]")).not_to_be_checked()
    waiting = outbox_count(page)
    page.click("#outcome-not-fixed")
    expect(page.locator("#not-fixed-form .field-error")).to_be_visible()
    assert outbox_count(page) == waiting  # nothing saved without the explanation (S22)
    page.fill("#not-fixed-form [name=explanation]", "Module out of stock; apologised, back Friday")
    page.click("#outcome-not-fixed")
    page.wait_for_selector("#charges")
    context.set_offline(False)
    wait_synced(page)
    fresh()
    v = db.session.get(Visit, visit.id)
    assert (v.status, v.late_reason, v.customer_informed) == (
        "not_fixed",
        "Traffic on the ring road",
        True,
    )
    assert v.explanation.startswith("Module out of stock") and v.escalate is False


def test_toast_screens_and_part_correction(live_server, make, browser):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer, in_warranty=False)
    _context, page = _phone(browser, live_server)
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}")
    page.click("#arrive")
    page.click("#permission")
    page.click("[data-item=kit] [data-value=na]")
    # The toast is up right after a save; nothing to tap lies under it, the sync button included.
    page.wait_for_selector("#toast:not([hidden])")
    assert page.evaluate(UNDER_TOAST) == []
    page.click("[data-item=appointment] [data-value=open]")  # a tap right after a save lands
    expect(page.locator("[data-item=appointment]")).to_have_attribute("data-state", "open")

    page.click("nav.steps [data-step=during]")
    # Scroll only once the step is drawn: before that the screen may be too short to scroll.
    expect(page.locator("#checklist")).to_have_attribute("data-section", "during")
    page.evaluate("() => { document.getElementById('main').scrollTop = 900; }")
    assert page.evaluate("() => document.getElementById('main').scrollTop") > 0
    page.click("nav.steps [data-step=parts]")
    page.wait_for_selector("#part-form")
    assert page.evaluate("() => document.getElementById('main').scrollTop") == 0

    page.fill("#part-form [name=part_code]", "SFP-10G")
    page.fill("#part-form [name=unit_cost]", "350")
    page.click("#part-save")
    expect(page.locator("#parts [data-part]")).to_have_count(1)
    page.click("[data-correct]")
    expect(page.locator("#parts .confirm-q")).to_be_visible()
    expect(page.locator("#parts [data-part]")).to_have_count(1)  # one tap only asks
    page.click("#parts [data-confirm=yes]")
    expect(page.locator("#parts [data-part]")).to_have_count(2)
    expect(page.locator("#parts li.cancelled")).to_have_count(1)


def test_offline_is_plain_and_the_sync_list_names_the_visit(live_server, make, browser):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer, in_warranty=True)
    context, page = _phone(browser, live_server)
    context.set_offline(True)
    expect(page.locator("#bar")).to_have_class(re.compile("offline"))
    expect(page.locator("#status")).to_contain_text("离线")
    expect(page.locator("#status-offline-note")).to_contain_text("有信号后自动发送")
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}")
    page.click("#arrive")
    page.click("#permission")
    page.click("#confirm-section")
    expect(page.locator("#checklist")).to_have_attribute("data-section", "during")
    page.goto(f"{live_server.url}/app/#/sync")
    rows = page.locator("#outbox li")
    expect(rows).to_have_count(5)  # arrived, in progress, the 3 items of "before"
    for i in range(5):
        expect(rows.nth(i)).to_contain_text("西安宏达科技")
        expect(rows.nth(i)).to_contain_text(visit.request.number)
    expect(page.locator("#sync-online")).to_contain_text("离线")


def test_plain_http_from_another_device_is_named_as_the_problem(
    live_server, make, browser_type, browser_type_launch_args
):
    """Over plain HTTP at a network name (not localhost) the app says HTTPS is needed."""
    make.user("engineer", username="wang")
    port = live_server.url.rsplit(":", 1)[1]
    args = [*browser_type_launch_args["args"], "--host-resolver-rules=MAP onsite.test 127.0.0.1"]
    other = browser_type.launch(**{**browser_type_launch_args, "args": args})
    try:
        page = other.new_page(viewport=PHONE, locale="zh-CN")
        page.goto(f"http://onsite.test:{port}/app/")
        page.wait_for_selector("#signin-form")
        assert page.evaluate("() => window.isSecureContext") is False
        expect(page.locator("#signin-insecure")).to_contain_text("HTTPS")
        page.fill("#signin-form [name=username]", "wang")
        page.fill("#signin-form [name=password]", "pw")
        page.click("#signin-submit")
        expect(page.locator("#signin-error")).to_contain_text("HTTPS")
    finally:
        other.close()
