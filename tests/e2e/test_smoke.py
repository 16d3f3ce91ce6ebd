"""The pages answer in a real browser: sign-in, landing by role."""

import re

from playwright.sync_api import expect


def test_office_signs_in_and_lands_on_the_office_page(live_server, make, page, screenshot):
    make.user("office", username="clerk")
    page.goto(f"{live_server.url}/login?lang=en")
    page.fill("#username", "clerk")
    page.fill("#password", "pw")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/office/$"))
    expect(page.locator("h1")).to_have_text("Office")
    screenshot(page, "login-office-en")


def test_wrong_password_shows_the_error(live_server, make, page):
    make.user("office", username="clerk")
    page.goto(f"{live_server.url}/login?lang=zh-Hant")
    page.fill("#username", "clerk")
    page.fill("#password", "wrong")
    page.click("button[type=submit]")
    expect(page.locator("[role=alert]")).to_have_text("用戶名或密碼錯誤。")
