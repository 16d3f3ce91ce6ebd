"""The office pages in real Chromium: register, board, dispatch, and review of a synced visit.

The finished visit is pushed through the real sync endpoint (/api/sync/push) by a signed-in
engineer's device, then reviewed in the browser. Clocks are made deterministic by registering
requests with `received_at` in the past rather than by freezing time in the server thread.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from server.extensions import db
from server.i18n import catalogue
from server.register.models import ServiceRequest
from server.visits.field_models import Conflict, SignOff
from server.visits.models import Visit
from tests.api.sync_http import HttpPhone, part, payment, server_digest, transition
from tests.office.fieldkit import FieldKit, complete_visit, signature_png


def sign_in(page: Page, base: str, username: str, lang: str) -> None:
    page.goto(f"{base}/login?lang={lang}")
    page.fill("#username", username)
    page.fill("#password", "pw")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/office/$"))
    # Signing in starts a fresh session; choose the language again.
    page.goto(f"{base}/office/?lang={lang}")
    page.set_default_timeout(10_000)


def test_register_a_request_and_see_it_on_the_board(live_server, make, page, screenshot, fresh):
    make.user("office", username="clerk")
    customer = make.customer(name="西安高新区第一中学", phone="029-88331234")
    switch = make.equipment(customer, brand="华为", model="S5735-L24T4S")
    late = make.request(
        make.customer(name="陕西秦川物流"),
        problem="服务器宕机",
        received_at=datetime.now(UTC) - timedelta(minutes=75),
    )
    sign_in(page, live_server.url, "clerk", "zh-Hans")

    page.click("text=登记报修")
    page.fill("#customer-search", "8833")
    page.click("button:has-text('搜索')")
    page.click("a:has-text('选择')")
    expect(page.locator("#chosen-customer")).to_contain_text("西安高新区第一中学")
    page.select_option("#reg-equipment-id", str(switch.id))
    page.click("button:has-text('登记')")  # nothing typed: the errors appear beside the fields
    expect(page.locator("#reg-problem-error")).to_have_text("必填。")
    page.fill("#reg-problem", "交换机端口全部不通")
    page.fill("#reg-symptoms", "<b>所有指示灯熄灭</b>")
    page.select_option("#reg-severity", "high")
    page.select_option("#reg-urgency", "critical")
    page.check("#reg-needs-visit")
    screenshot(page, "office-register-zh-Hans")
    page.click("button:has-text('登记')")
    expect(page.locator("h1")).to_contain_text("西安高新区第一中学")
    expect(page.locator("#request-symptoms")).to_have_text("<b>所有指示灯熄灭</b>")
    fresh()
    new = db.session.scalars(
        db.select(ServiceRequest).where(ServiceRequest.problem == "交换机端口全部不通")
    ).one()
    assert (new.severity, new.urgency, new.equipment.model) == ("high", "critical", "S5735-L24T4S")

    page.click("text=时限看板")
    rows = page.locator("#board-rows tr")
    expect(rows).to_have_count(2)
    # The overdue request comes first and stands out; the new one's clocks are running.
    expect(rows.nth(0)).to_have_attribute("data-request", late.number)
    expect(rows.nth(0)).to_have_attribute("data-alarm", "missed")
    expect(rows.nth(0).locator(".clock-phone .clock")).to_have_attribute("data-state", "missed")
    expect(rows.nth(0).locator(".clock-phone")).to_contain_text(re.compile(r"超 1[5-9] 分钟"))
    expect(rows.nth(1)).to_have_attribute("data-request", new.number)
    expect(rows.nth(1).locator(".clock-phone .clock")).to_have_attribute("data-state", "running")
    expect(rows.nth(1).locator(".clock-onsite")).to_contain_text(re.compile(r"剩 1[01]\d 分钟"))
    expect(rows.nth(1).locator(".clock-remote .clock")).to_have_attribute(
        "data-state", "not_applicable"
    )
    screenshot(page, "office-board-zh-Hans")
    page.goto(f"{live_server.url}/office/board?lang=en")
    expect(page.locator("#board-rows tr").nth(0).locator(".clock-phone")).to_contain_text(
        "min over"
    )
    screenshot(page, "office-board-en")
    # The board refreshes itself: a request registered meanwhile appears without a reload.
    make.request(
        customer, problem="打印机卡纸", received_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    page.locator("#board-rows").dispatch_event("board:refresh")
    expect(page.locator("#board-rows tr")).to_have_count(3)
    # Filters narrow the board.
    page.fill("#board-customer", "秦川")
    page.click("button:has-text('Filter')")
    expect(page.locator("#board-rows tr")).to_have_count(1)


def test_dispatch_a_request_and_record_the_phone_response(
    live_server, make, page, screenshot, fresh
):
    make.user("office", username="clerk")
    engineer = make.user("engineer", username="zhangwei")
    engineer.display_name = "张伟"
    request = make.request(
        problem="录像机无信号", received_at=datetime.now(UTC) - timedelta(minutes=30)
    )
    sign_in(page, live_server.url, "clerk", "en")
    page.goto(f"{live_server.url}/office/requests/{request.id}")
    page.locator("form:has(#phone-response-at) button").click()
    expect(page.locator(".flash")).to_have_text("Saved.")
    expect(page.locator("#clock-phone .clock")).to_have_attribute("data-state", "met")

    page.select_option("#schedule-engineer-id", label="张伟")
    page.fill("#schedule-window-start", "2030-01-05T11:00")
    page.fill("#schedule-window-end", "2030-01-05T09:00")
    page.click("button:has-text('Schedule visit')")
    expect(page.locator("#schedule-window-end-error")).to_have_text(
        "The window must end after it starts."
    )
    page.fill("#schedule-window-end", "2030-01-05T13:00")
    page.fill("#schedule-onsite-fee", "150")
    page.click("button:has-text('Schedule visit')")
    expect(page.locator(".flash")).to_contain_text("Visit scheduled")
    expect(page.locator("#visits")).to_be_visible()
    screenshot(page, "office-request-en")
    fresh()
    visit = db.session.scalars(db.select(Visit).where(Visit.request_id == request.id)).one()
    assert visit.engineer_id == engineer.id and visit.onsite_fee_fen == 15000
    assert visit.window_start == datetime(2030, 1, 5, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    page.goto(f"{live_server.url}/office/requests/{request.id}?lang=zh-Hans")
    screenshot(page, "office-request-zh-Hans")


def test_review_a_visit_pushed_by_the_engineers_phone(
    live_server, make, page, screenshot, fresh, signed_device
):
    make.user("office", username="clerk")
    engineer = make.user("engineer", username="zhangwei")
    customer = make.customer(name="西安市雁塔区人民医院")
    equipment = make.equipment(customer, brand="戴尔", model="PowerEdge R750", warranty_months=0)
    request = make.request(customer, equipment_id=equipment.id, problem="服务器无法开机")
    visit = make.visit(request, engineer=engineer, onsite_fee_fen=30000)

    phone = HttpPhone(signed_device(engineer))
    phone.op("visit.transition", visit.id, transition("arrived", permission_granted=True))
    phone.op("checklist.set", visit.id, {"item_id": "permission", "state": "done", "note": ""})
    phone.op("checklist.set", visit.id, {"item_id": "fix-once", "state": "done", "note": "换电源"})
    phone.op("part.add", visit.id, part(qty=1, unit_cost_fen=45000))
    receipt = phone.receipt_no()
    pay = phone.op("payment.record", visit.id, payment(75000, receipt))
    phone.op("feedback.submit", visit.id, {"satisfaction": 4, "comments": "<i>响应很快</i>"})
    phone.op("visit.transition", visit.id, transition("completed", outcome_summary="更换电源"))
    assert {r["status"] for r in phone.push()["results"]} == {"applied"}
    blob = phone.upload(signature_png())
    phone.op(
        "signoff.sign",
        visit.id,
        {
            "customer_name": "孙工",
            "signature_blob": blob,
            "digest": server_digest(visit.id),
            "signed_hlc": phone.clock,
        },
    )
    assert phone.push()["results"][0]["status"] == "applied"
    # After the customer signed: another part (the sign-off goes stale) and the payment replayed
    # with another amount under the same id (a conflict the office must settle).
    phone.op("part.add", visit.id, part(qty=1, unit_cost_fen=2000, part_code="FAN-80"))
    phone.op("payment.record", visit.id, payment(99900, receipt), record_id=pay["record_id"])
    results = phone.push()["results"]
    assert [r["status"] for r in results] == ["applied", "conflict"]
    fresh()
    assert db.session.scalars(db.select(SignOff)).one().stale is True

    sign_in(page, live_server.url, "clerk", "zh-Hans")
    page.click("text=上门记录审核")
    page.click(f"a:has-text('{request.number}/1')")
    expect(page.locator("[data-stale=yes]")).to_contain_text("客户签字后上门记录有改动")
    expect(page.locator("#gaps [data-gap=signature_stale]")).to_be_visible()
    expect(page.locator("#gaps [data-gap=conflicts]")).to_be_visible()
    expect(page.locator("#gaps [data-gap=payment]")).to_contain_text("¥770.00")
    expect(page.locator("#owed")).to_have_text("¥770.00")  # 450 + 20 parts + 300 fee
    expect(page.locator("#collected")).to_have_text("¥750.00")
    expect(page.locator(".feedback-comments")).to_have_text("<i>响应很快</i>")
    signature = page.locator("img.signature").first
    expect(signature).to_be_visible()
    # Visible is laid out, not yet loaded: wait for the image itself (it loads via /office/blobs/).
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=signature.element_handle()
    )
    expect(page.locator("#history ~ table tbody tr")).to_have_count(10)
    screenshot(page, "office-review-zh-Hans")

    conflict = page.locator("[data-conflict]")
    conflict.locator("button").click()  # no note: refused beside the field
    expect(conflict.locator(".field-error")).to_have_text("必填。")
    page.locator("[data-conflict] input[name=note]").fill("以收据金额 750 元为准")
    page.locator("[data-conflict] button").click()
    expect(page.locator(".flash")).to_have_text("已保存。")
    expect(page.locator("#gaps [data-gap=conflicts]")).to_have_count(0)
    # The payment op that caused the conflict is settled by the same decision.
    expect(page.locator("#gaps [data-gap=operations]")).to_have_count(0)
    fresh()
    resolved = db.session.scalars(db.select(Conflict)).one()
    assert resolved.resolution == "以收据金额 750 元为准" and resolved.resolved_at is not None
    page.goto(f"{live_server.url}/office/visits/{visit.id}?lang=en")
    expect(page.locator("[data-stale=yes]")).to_contain_text("The visit changed after")
    screenshot(page, "office-review-en")


def test_main_office_pages_in_chinese_and_english(live_server, make, page, screenshot):
    make.user("supervisor", username="boss")
    engineer = make.user("engineer")
    # Field data as phones send it: two visits finished and signed, one not fixed and escalated.
    done = [complete_visit(make, engineer)[0] for _ in range(2)]
    stuck = make.visit(engineer=engineer)
    kit = FieldKit(stuck, engineer)
    kit.arrive()
    kit.finish("not_fixed", explanation="主板损坏,需返厂维修", escalate=True)
    sign_in(page, live_server.url, "boss", "zh-Hans")
    for lang in ("zh-Hans", "en"):
        words = catalogue(lang)
        home, escalations, review = (
            words[k] for k in ("office.title", "office.nav.escalations", "office.nav.review")
        )
        page.goto(f"{live_server.url}/office/?lang={lang}")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("h1")).to_contain_text(home)
        # The home page counts what needs attention: here, the one escalation.
        expect(page.locator("a[href$='/office/escalations'] strong")).to_have_text("1")
        screenshot(page, f"office-home-{lang}")
        page.goto(f"{live_server.url}/office/escalations?lang={lang}")
        expect(page.locator("h1")).to_contain_text(escalations)
        expect(page.locator("[data-escalation]")).to_have_count(1)
        expect(page.locator(f"[data-escalation='visit:{stuck.id}']")).to_contain_text("主板损坏")
        screenshot(page, f"office-escalations-{lang}")
        page.goto(f"{live_server.url}/office/visits?lang={lang}")
        expect(page.locator("h1")).to_contain_text(review)
        listed = page.locator("#review-queue tr[data-visit]")
        expect(listed).to_have_count(3)  # every finished visit, fixed or not, waits for review
        # The longest waiting first: in the order the phones finished them.
        order = [listed.nth(i).get_attribute("data-visit") for i in range(3)]
        assert order == [str(v.id) for v in (*done, stuck)]
        screenshot(page, f"office-review-queue-{lang}")
        page.goto(f"{live_server.url}/office/reports?lang={lang}")
        screenshot(page, f"office-reports-{lang}")
    page.goto(f"{live_server.url}/office/reports?lang=en")
    expect(page.locator("#sla-table tbody tr")).to_have_count(8)
    expect(page.locator("#sla-table .bar").first).to_be_visible()
