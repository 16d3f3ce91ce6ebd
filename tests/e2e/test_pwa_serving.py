"""How the server hands out the app, and what its service worker may and may not serve."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.pwa_helpers import PHONE, sign_in


def test_shell_sw_and_manifest_are_served_right(client):
    shell = client.get("/app/")
    assert shell.status_code == 200 and b'<script type="module" src="js/app.js">' in shell.data
    sw = client.get("/app/sw.js")
    assert sw.mimetype == "text/javascript" and "no-cache" in sw.headers["Cache-Control"]
    manifest = client.get("/app/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.get_json()["scope"] == "/app/"
    assert client.get("/app/icons/icon-192.png").mimetype == "image/png"
    assert client.get("/app/.hidden").status_code == 404
    assert client.get("/app/../server/config.py").status_code == 404


def test_office_and_finance_are_never_served_from_the_engineers_cache(live_server, make, browser):
    make.user("engineer", username="wang")
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    scope = page.evaluate("navigator.serviceWorker.controller.scriptURL")
    assert scope.endswith("/app/sw.js")
    context.set_offline(True)
    page.reload()  # the app itself opens offline
    page.wait_for_selector("#nav a")
    for path in ("/office/", "/finance/", "/login"):
        with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
            page.goto(f"{live_server.url}{path}")
