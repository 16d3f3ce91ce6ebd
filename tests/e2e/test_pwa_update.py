"""A new app version arrives while operations wait in the outbox: none is lost (issue 4, test 4)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Response
from playwright.sync_api import expect

from server.extensions import db
from server.feed.models import SyncOperation
from server.visits.field_models import ChecklistEntry
from tests.e2e.pwa_helpers import PHONE, make_visit, outbox_ops, sign_in, wait_synced

SW = Path(__file__).resolve().parents[2] / "static" / "sw.js"
SW_VERSION = (
    "navigator.serviceWorker.controller && new Promise((resolve) => {"
    " const ch = new MessageChannel(); ch.port1.onmessage = (e) => resolve(e.data);"
    " navigator.serviceWorker.controller.postMessage({type: 'version'}, [ch.port2]); })"
)


def serve_new_version(app) -> str:
    """Make the server hand out a new sw.js, as after a deployment; return its version."""
    text = SW.read_text(encoding="utf-8")
    new = re.sub(r'const VERSION = "([^"]+)";', 'const VERSION = "\\1-next";', text, count=1)
    version = re.search(r'const VERSION = "([^"]+)";', new).group(1)
    app.view_functions["pwa.service_worker"] = lambda: Response(
        new, mimetype="text/javascript", headers={"Cache-Control": "no-cache"}
    )
    return version


def test_update_waits_then_carries_the_outbox_over(live_server, make, browser, fresh):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    old_version = page.evaluate(SW_VERSION)
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}/before")
    page.wait_for_selector("#checklist")

    # The server cannot be reached for pushes: work piles up in the outbox.
    page.route("**/api/sync/push", lambda route: route.abort("connectionrefused"))
    for item in ("dress-badge", "appointment", "kit"):
        page.click(f"[data-item={item}] [data-value=done]")
        expect(page.locator(f"[data-item={item}]")).to_have_attribute("data-state", "done")
    waiting = outbox_ops(page)
    assert [op["seq"] for op in waiting] == [1, 2, 3]

    new_version = serve_new_version(live_server.app)
    page.evaluate("window.onsiteCheckUpdate()")
    expect(page.locator("#apply-update")).to_be_visible()
    # The new version waits: the old one still serves, and the outbox is untouched.
    assert page.evaluate(SW_VERSION) == old_version
    assert outbox_ops(page) == waiting

    with page.expect_navigation():  # the new version takes over and the app reloads
        page.click("#apply-update")
    page.wait_for_function(
        f"(async () => (await ({SW_VERSION})) === {new_version!r})()", polling=100, timeout=20_000
    )
    page.wait_for_selector("#checklist")
    assert outbox_ops(page) == waiting  # carried over exactly: same op_ids, same seqs
    # Once the new version has activated, the stale cache is gone.
    page.wait_for_function(
        "(async () => JSON.stringify(await caches.keys()) ==="
        f" JSON.stringify(['onsite-app-shell-{new_version}']))()",
        polling=100,
    )
    expect(page.locator("[data-item=kit]")).to_have_attribute("data-state", "done")

    page.unroute("**/api/sync/push")
    page.click("#sync-now")
    wait_synced(page)
    fresh()
    assert sorted(op.op_id for op in db.session.query(SyncOperation)) == sorted(
        op["op_id"] for op in waiting
    )
    assert db.session.query(ChecklistEntry).filter_by(visit_id=visit.id).count() == 3
