"""Helpers for the engineers' app in a real browser: data on the server, sign-in, waiting.

Following /work/shared/TESTING.md: wait for the service worker to control the page, cut the
network with context.set_offline(True), never sleep a fixed time, poll with page.wait_for_timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page

PHONE = {"width": 360, "height": 640}
TIMEOUT_S = 20.0


def wait_until(page: Page, check: Callable[[], Any], timeout_s: float = TIMEOUT_S, what: str = ""):
    """Poll a Python condition (server state, say) while the browser keeps running."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        page.wait_for_timeout(50)


def make_visit(make, engineer, *, in_warranty: bool = False, fee_fen: int = 20000, late=False):
    """Register a request for a customer with equipment and send the engineer on a visit."""
    customer = make.customer(name="西安宏达科技", contact_person="周老师", mobile="13800138000")
    accepted = datetime.now(UTC).date() - timedelta(days=100 if in_warranty else 800)
    item = make.equipment(customer, brand="华为", model="S5735", acceptance_date=accepted)
    received = datetime.now(UTC) - timedelta(hours=3 if late else 1)
    request = make.request(
        customer=customer,
        equipment_id=item.id,
        problem="机房交换机端口不通",
        received_at=received,
    )
    start = datetime.now(UTC) + timedelta(minutes=30)
    return make.visit(
        request,
        engineer,
        window_start=start,
        window_end=start + timedelta(hours=2),
        onsite_fee_fen=fee_fen,
    )


def open_app(page: Page, url: str) -> None:
    """Open the app and wait until it has drawn its first screen."""
    page.goto(f"{url}/app/")
    page.wait_for_function("document.documentElement.dataset.ready === '1'")


REGISTRATION_STATE = """async () => {
  const r = await navigator.serviceWorker.getRegistration();
  const s = (w) => w && w.state;
  return r && {active: s(r.active), waiting: s(r.waiting), installing: s(r.installing)};
}"""


def wait_controlled(page: Page) -> None:
    """Wait until the service worker controls the page (not merely registered)."""
    try:
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20_000)
    except Exception as exc:
        state = page.evaluate(REGISTRATION_STATE)
        raise AssertionError(f"the service worker never took control: {state}") from exc


def sign_in(page: Page, url: str, username: str, password: str = "pw") -> None:
    """Sign in on the app's own screen, then wait for the first pull and for offline readiness."""
    open_app(page, url)
    page.fill("#signin-form [name=username]", username)
    page.fill("#signin-form [name=password]", password)
    page.click("#signin-submit")
    page.wait_for_selector("body[data-screen=today]")
    wait_controlled(page)
    wait_synced(page)


def idb(page: Page, script: str) -> Any:
    """Run `script` (an async function body with `tx` in scope) inside the page."""
    return page.evaluate(
        "async (body) => { const { tx } = await import('/app/js/db.js');"
        " return await (new Function('tx', `return (async () => { ${body} })()`))(tx); }",
        script,
    )


def outbox_count(page: Page) -> int:
    return idb(page, "return tx(['outbox'], 'readonly', (t) => t.count('outbox'));")


def outbox_ops(page: Page) -> list[dict]:
    return idb(page, "return tx(['outbox'], 'readonly', (t) => t.all('outbox'));")


def wait_synced(page: Page, timeout_s: float = TIMEOUT_S) -> None:
    """Wait until the outbox is empty and a sync has finished since."""
    wait_until(
        page,
        lambda: idb(
            page,
            "return tx(['outbox','meta'], 'readonly', async (t) => {"
            " const n = await t.count('outbox'); const s = (await t.get('meta','sync')) || {};"
            " return n === 0 && !s.running && !!s.last_success; });",
        ),
        timeout_s,
        "the outbox to empty and a sync to finish",
    )


def sync_now(page: Page) -> None:
    """Press the always-visible sync button and wait for the cycle to finish."""
    page.evaluate(
        "async () => { const { requestSync } = await import('/app/js/sync.js');"
        " await requestSync(); }"
    )


def draw_signature(page: Page, selector: str) -> None:
    """Draw a short zigzag on a signature canvas with the mouse (pointer events)."""
    canvas = page.locator(selector)
    canvas.scroll_into_view_if_needed()  # mouse coordinates are the viewport's
    box = canvas.bounding_box()
    x, y = box["x"] + 20, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(x + i * 20, y + (15 if i % 2 else -15), steps=2)
    page.mouse.up()
