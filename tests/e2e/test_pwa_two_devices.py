"""Two phones of one engineer on one visit, both offline, both sync (issue 4, test 3).

The merge rules decide: the checklist item goes to the later writer by HLC (R17), both phones'
parts are kept (R20), and each app shows the result and that the phones disagreed.
"""

from __future__ import annotations

from playwright.sync_api import expect

from server.extensions import db
from server.visits.field_models import ChecklistEntry, Conflict, PartEvent
from tests.e2e.pwa_helpers import PHONE, make_visit, sign_in, sync_now, wait_synced


def add_part(page, code: str, cost: str) -> None:
    page.click("nav.steps [data-step=parts]")
    page.wait_for_selector("#part-add")  # the step is drawn: its form may already stand open
    if not page.locator("#part-form").is_visible():
        page.click("#part-add")
    page.fill("#part-form [name=part_code]", code)
    page.fill("#part-form [name=unit_cost]", cost)
    page.click("#part-save")
    expect(page.locator(f"#parts [data-part]:has-text('{code}')")).to_have_count(1)


def test_two_phones_offline_merge_as_the_rules_say(live_server, make, browser, fresh):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer)
    phones = []
    for _ in range(2):
        context = browser.new_context(viewport=PHONE, locale="en-US")
        page = context.new_page()
        sign_in(page, live_server.url, "wang")
        page.goto(f"{live_server.url}/app/#/visit/{visit.id}/before")
        page.wait_for_selector("#checklist")
        context.set_offline(True)
        phones.append((context, page))
    (ctx_a, a), (ctx_b, b) = phones

    # A answers first, B later: by the clock B is the last writer of the item.
    a.click("[data-item=kit] [data-value=done]")  # each phone is on the "before" step
    expect(a.locator("[data-item=kit]")).to_have_attribute("data-state", "done")
    add_part(a, "FAN-A", "80")
    b.click("[data-item=kit] [data-value=na]")
    expect(b.locator("[data-item=kit]")).to_have_attribute("data-state", "na")
    add_part(b, "PSU-B", "260")

    # The later writer reaches the server first; A's older answer arrives afterwards and loses.
    ctx_b.set_offline(False)
    wait_synced(b)
    ctx_a.set_offline(False)
    wait_synced(a)
    sync_now(b)  # B pulls A's part and the conflict record

    fresh()
    entry = db.session.get(ChecklistEntry, (visit.id, "kit"))
    assert entry.state == "na"
    assert sorted(
        p.part_code for p in db.session.query(PartEvent).filter_by(visit_id=visit.id)
    ) == [
        "FAN-A",
        "PSU-B",
    ]
    assert db.session.query(Conflict).filter_by(visit_id=visit.id).count() == 1

    for page in (a, b):
        page.goto(f"{live_server.url}/app/#/visit/{visit.id}/parts")
        expect(page.locator("#parts [data-part]")).to_have_count(2)
        page.click("nav.steps [data-step=before]")
        expect(page.locator("[data-item=kit]")).to_have_attribute("data-state", "na")
        expect(page.locator("[data-item=kit] .badge.warn")).to_have_count(1)
        expect(page.locator("#flagged")).to_contain_text("Checklist kit")
    # The phone whose answer lost is told in plain words.
    expect(a.locator("#flagged")).to_contain_text("changed later on another phone")
    expect(a.locator("#status-problems")).to_be_visible()
