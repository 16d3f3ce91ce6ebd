"""A second phone shows a signature it never held: fetched lazily from the server (issue 9)."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from server.extensions import db
from server.visits.field_models import BlobLoss, Conflict, SignOff
from tests.api.sync_http import HttpPhone
from tests.e2e.pwa_helpers import (
    PHONE,
    draw_signature,
    idb,
    make_visit,
    outbox_count,
    sign_in,
    sync_now,
    wait_synced,
    wait_until,
)


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


IS_SYNCING = (
    "return tx(['meta'], 'readonly', async (t) => !!((await t.get('meta','sync')) || {}).running);"
)


def _given_up(fresh) -> bool:
    fresh()
    return db.session.scalar(select(BlobLoss.sha256)) is not None


def test_a_signature_lost_on_the_phone_is_given_up_with_a_reason_and_the_work_is_sent(
    live_server, make, browser, fresh
):
    engineer = make.user("engineer", username="wang")
    visit = make_visit(make, engineer)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "wang")
    context.set_offline(True)
    page.goto(f"{live_server.url}/app/#/visit/{visit.id}/signoff")
    page.fill("#signoff-form [name=customer_name]", "周老师")
    draw_signature(page, "#signature")
    page.click("#signoff-save")
    expect(page.locator("#signoffs li")).to_have_count(1)
    # The photo store loses the signature before it was ever uploaded (storage cleared, say).
    idb(
        page,
        "return tx(['blobs'], 'readwrite', async (t) => {"
        " for (const b of await t.all('blobs')) await t.del('blobs', b.sha); });",
    )
    context.set_offline(False)
    page.goto(f"{live_server.url}/app/#/sync")
    sync_now(page)
    assert outbox_count(page) == 1  # held back: the server keeps asking for the signature
    # Leave the screen and come back, each drawn before the next: typing must land in the sync
    # screen's last drawing, not in one a pending redraw is about to replace.
    page.goto(f"{live_server.url}/app/#/more")
    expect(page.locator("body[data-shown=more]")).to_have_count(1)
    page.goto(f"{live_server.url}/app/#/sync")
    expect(page.locator("#lost-blobs input")).to_be_visible()
    # Type only once no sync is running: a finishing sync redraws the screen.
    wait_until(page, lambda: not idb(page, IS_SYNCING), what="the sync to be idle")
    page.fill("#lost-blobs input", "手機清除了資料")
    page.click("#lost-blobs button")
    wait_until(page, lambda: _given_up(fresh), what="the server to record the lost signature")
    wait_synced(page)
    fresh()
    gap = db.session.scalars(select(Conflict).where(Conflict.visit_id == visit.id)).all()
    assert any("手機清除了資料" in (c.reason or "") for c in gap)
    assert db.session.scalar(select(SignOff.id).where(SignOff.visit_id == visit.id)) is not None
    context.close()
