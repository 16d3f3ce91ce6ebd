"""Each main screen of the engineers' app at 360x640, in Chinese and in English (issue 4, test 5).

Besides the photographs, each screen is checked for what a phone in the sun needs: no text wider
than the screen, and touch targets at least 44 px high.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pwa_helpers import PHONE, draw_signature, make_visit, sign_in, wait_synced

LOCALES = {"zh-Hans": "zh-CN", "en": "en-US", "zh-Hant": "zh-TW"}
SMALL_TARGETS = """() => [...document.querySelectorAll(
    'main button, main a, main summary, nav a, #bar button')]
  .filter((el) => el.offsetParent !== null && !el.closest('.list, p'))
  .map((el) => [el.textContent.trim().slice(0, 30), el.getBoundingClientRect().height])
  .filter(([, h]) => h < 44)"""
OVERFLOW = """() => document.documentElement.scrollWidth > window.innerWidth
  || document.getElementById('main').scrollWidth > document.getElementById('main').clientWidth"""


def photograph(screenshot, page, name: str) -> None:
    """Take a full-page picture: from the top, without the passing toast, the screen unrolled.

    The screen scrolls inside <main> between the bars; for a full-page capture the page is laid
    out in one column of its full height, for the picture only.
    """
    page.evaluate(
        "() => { const m = document.getElementById('main'); m.scrollTop = 0;"
        " document.getElementById('toast').style.display = 'none';"
        " document.body.style.height = 'auto'; document.body.style.overflow = 'visible';"
        " m.style.overflow = 'visible'; }"
    )
    screenshot(page, name)
    page.evaluate(
        "() => { for (const el of [document.body, document.getElementById('main'),"
        " document.getElementById('toast')]) el.removeAttribute('style'); }"
    )


def check_phone_fit(page) -> None:
    assert not page.evaluate(OVERFLOW), "the screen scrolls sideways"
    assert page.evaluate(SMALL_TARGETS) == []


@pytest.mark.parametrize("lang", ["zh-Hans", "en", "zh-Hant"])
def test_main_screens_at_phone_size(live_server, make, browser, screenshot, lang):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer, in_warranty=False)
    make_visit(make, engineer, in_warranty=True)
    context = browser.new_context(viewport=PHONE, locale=LOCALES[lang], device_scale_factor=1)
    page = context.new_page()

    page.goto(f"{live_server.url}/app/")
    page.wait_for_selector("#signin-form")
    check_phone_fit(page)
    photograph(screenshot, page, f"pwa-signin-{lang}")

    sign_in(page, live_server.url, "wang")
    expect(page.locator(".visit-card")).to_have_count(2)
    check_phone_fit(page)
    photograph(screenshot, page, f"pwa-today-{lang}")

    page.goto(f"{live_server.url}/app/#/visit/{visit.id}")
    page.wait_for_selector("#arrive-form")
    check_phone_fit(page)
    photograph(screenshot, page, f"pwa-visit-arrive-{lang}")
    page.click("#en-route")
    page.click("#arrive")
    page.click("#permission")
    page.click("[data-item=dress-badge] [data-value=done]")
    page.click("[data-item=kit] [data-value=na]")
    check_phone_fit(page)
    photograph(screenshot, page, f"pwa-visit-before-{lang}")
    page.click("nav.steps [data-step=parts]")
    page.fill("#part-form [name=part_code]", "SFP-10G")
    page.fill("#part-form [name=unit_cost]", "350")
    page.click("#part-save")
    expect(page.locator("#parts [data-part]")).to_have_count(1)
    check_phone_fit(page)
    photograph(screenshot, page, f"pwa-visit-parts-{lang}")
    page.click("#next-step")
    page.fill("#outcome-form [name=outcome_summary]", "更换光模块 / replaced the optical module")
    check_phone_fit(page)
    photograph(screenshot, page, f"pwa-visit-outcome-{lang}")
    page.click("#outcome-fixed")

    page.wait_for_selector("#charges")
    check_phone_fit(page)
    photograph(screenshot, page, f"pwa-charges-{lang}")
    page.click("#payment-save")
    page.wait_for_selector("#receipt")
    check_phone_fit(page)
    photograph(screenshot, page, f"pwa-receipt-{lang}")
    page.click("#receipt-close")

    page.click("#to-signoff")
    page.fill("#signoff-form [name=customer_name]", "周老师")
    draw_signature(page, "#signature")
    check_phone_fit(page)
    photograph(screenshot, page, f"pwa-signoff-{lang}")
    page.click("#signoff-save")
    expect(page.locator("#signoffs li")).to_have_count(1)

    wait_synced(page)
    page.goto(f"{live_server.url}/app/#/sync")
    page.wait_for_selector("#sync-waiting")
    check_phone_fit(page)
    photograph(screenshot, page, f"pwa-sync-{lang}")
    page.goto(f"{live_server.url}/app/#/more")
    page.wait_for_selector("#languages")
    check_phone_fit(page)
    photograph(screenshot, page, f"pwa-more-{lang}")


def test_language_switch_in_the_app(live_server, make, browser):
    make.user("engineer", username="wang")
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    page.goto(f"{live_server.url}/app/#/more")
    page.click("[data-locale=zh-Hant]")
    expect(page.locator("#nav a").first).to_have_text("今天")
    page.reload()  # the choice is kept
    expect(page.locator("#nav a").first).to_have_text("今天")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
