"""A second phone shows a signature it never held: fetched lazily from the server (issue 9)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.api.sync_http import HttpPhone
from tests.e2e.pwa_helpers import PHONE, make_visit, sign_in, wait_synced


def test_a_second_phone_fetches_the_signature_of_its_engineers_receipt(
    live_server, make, browser, signed_device
):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer)
    first = HttpPhone(signed_device(engineer))
    sha = first.upload()
    receipt = first.op(
        "equipment_receipt.issue",
        visit.id,
        {
            "receipt_no": f"E-{first.dev.receipt_prefix}-000001",
            "description": "交换机主机",
            "brand": "华为",
            "model": "S5735",
            "serial": "",
            "accessories": "",
            "condition": "",
            "customer_name": "周老師",
            "signature_blob": sha,
        },
    )
    assert first.push()["results"][0]["status"] == "applied"

    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")  # a reinstalled app: nothing held, not the signature
    wait_synced(page)
    page.goto(
        f"{live_server.url}/app/#/visit/{visit.id}/receipt/equipment_receipt/{receipt['record_id']}"
    )
    image = page.locator(f"#receipt img[data-sha='{sha}']")
    expect(image).to_have_count(1)
    page.wait_for_function(f"document.querySelector(\"img[data-sha='{sha}']\")?.naturalWidth > 0")
    context.close()
