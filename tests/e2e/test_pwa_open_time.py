"""How long the app takes to open with no network, served by its service worker.

Prints the figures and writes them to test-output/pwa-open-offline.txt. The bound asserted is
loose (a slow CI machine must pass); the figures are what to read.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from tests.e2e.pwa_helpers import PHONE, make_visit, sign_in

RUNS = 7
OUT = Path(__file__).resolve().parents[2] / "test-output" / "pwa-open-offline.txt"


def test_app_opens_offline_quickly(live_server, make, browser):
    engineer = make.user("engineer", username="wang")
    for _ in range(3):
        make_visit(make, engineer)
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    context.set_offline(True)
    timings = []
    for _ in range(RUNS):
        page.reload()
        page.wait_for_selector(".visit-card")
        ready = page.evaluate("performance.getEntriesByName('onsite-ready')[0].startTime")
        timings.append(ready)
        assert page.locator(".visit-card").count() == 3
    report = (
        f"app opened offline (navigation start to Today drawn), {RUNS} runs: "
        + ", ".join(f"{t:.0f}" for t in timings)
        + f" ms; median {statistics.median(timings):.0f} ms, max {max(timings):.0f} ms"
    )
    print(report)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(report + "\n", encoding="utf-8")
    assert statistics.median(timings) < 2000
