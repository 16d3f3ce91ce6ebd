"""Browser tests: the real app served over real HTTP, driven by Debian's headless Chromium.

Every test in this folder is marked `browser`. Where Chromium is missing they are skipped with
a loud reason, unless ONSITE_STRICT=1 (CI), where a missing browser fails the run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from server.extensions import db

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    browser_missing = os.environ.get("ONSITE_NO_BROWSER") or not os.access(CHROMIUM, os.X_OK)
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if browser_missing:
                if os.environ.get("ONSITE_STRICT"):
                    item.add_marker(
                        pytest.mark.xfail(reason="Chromium missing", run=False, strict=True)
                    )
                    raise pytest.UsageError(f"Chromium not found at {CHROMIUM} (ONSITE_STRICT)")
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"BROWSER TEST SKIPPED: Chromium not found at {CHROMIUM}"
                    )
                )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _playwright_may_evaluate():
    """Let Playwright evaluate its string predicates in pages despite the CSP (no eval there).

    The CSP itself is tested by test_csp.py, in contexts made with bypass_csp=False.
    """
    from playwright.sync_api import Browser

    original = Browser.new_context

    def new_context(self, *args, **kwargs):
        kwargs.setdefault("bypass_csp", True)
        return original(self, *args, **kwargs)

    Browser.new_context = new_context
    try:
        yield
    finally:
        Browser.new_context = original


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "bypass_csp": True}


class LiveServer:
    """The app served on 127.0.0.1 at a free port, in a thread of this process."""

    def __init__(self, app) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    """Serve the test app (fresh database) over real HTTP for the browser."""
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh():
    """Forget what this test's session has cached, to read what the server committed since."""

    def _fresh() -> None:
        db.session.rollback()
        db.session.expire_all()

    return _fresh


@pytest.fixture
def screenshot():
    """Save a PNG of the page into test-output/screenshots/ for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def _shot(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot
