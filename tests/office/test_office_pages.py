"""The office pages through the Flask client: roles, forms, errors beside fields, CSRF, escaping."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from server.aftercare.complaints import receive_complaint
from server.aftercare.follow_ups import plan_follow_up
from server.aftercare.models import Complaint, FollowUp, ReturnedPartHandling
from server.customers.models import Customer
from server.extensions import db
from server.feed.models import SyncOperation
from server.register.models import ServiceRequest
from server.visits.field_models import Conflict
from server.visits.models import Visit
from sync.limits import BLOB_TYPES
from tests.office.fieldkit import FieldKit, complete_visit, signature_png

ALL_ROLES = ["engineer", "office", "supervisor", "finance", "admin"]
OFFICE = {"office", "supervisor", "admin"}
RAW_KEY = re.compile(r"\b(office|form)\.[a-z_]+\.[a-z_\-]+")


def pull(phone, cursor: str | None = None) -> tuple[list[dict], str]:
    """Pull everything after the cursor through the sync endpoint, as the phone would."""
    changes: list[dict] = []
    while True:
        query = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        body = phone.get("/api/sync/pull", query_string=query).get_json()
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["has_more"]:
            return changes, cursor


def error_beside(page: str, field_id: str) -> str | None:
    """Return the error message shown right after the field with this id, if any."""
    match = re.search(
        rf'id="{field_id}"[^>]*aria-invalid="true"[^>]*aria-describedby="{field_id}-error"'
        rf'.*?<span class="field-error" id="{field_id}-error">([^<]*)</span>',
        page,
        re.S,
    )
    return match.group(1) if match else None


@pytest.fixture
def world(make):
    """A finished visit with everything on it, plus the ids the pages take."""
    visit, kit = complete_visit(make, stale=True, with_conflict=True)
    op = kit.refused()
    returned = kit.part("returned", 1, 0)
    clerk = make.user("office")
    complaint = receive_complaint(
        {"customer_id": visit.request.customer_id, "channel": "hotline", "summary": "来得太晚"},
        clerk,
    )
    follow_up = plan_follow_up(
        {
            "customer_id": visit.request.customer_id,
            "kind": "return_visit",
            "due_on": datetime.now(UTC).date(),
            "reason": "季度巡检",
        },
        clerk,
    )
    db.session.commit()
    conflict = db.session.scalars(db.select(Conflict)).one()
    return {
        "visit": visit,
        "kit": kit,
        "op": op,
        "part": returned,
        "complaint": complaint,
        "follow_up": follow_up,
        "conflict": conflict,
    }


def pages(w) -> list[str]:
    v = w["visit"]
    sha = w["kit"].blob()
    return [
        "/office/",
        "/office/board",
        "/office/board/rows",
        "/office/requests/new",
        "/office/requests/new?q=客户",
        f"/office/requests/new?customer_id={v.request.customer_id}",
        "/office/requests",
        f"/office/requests/{v.request_id}",
        "/office/visits",
        f"/office/visits/{v.id}",
        "/office/escalations",
        "/office/parts",
        "/office/complaints",
        f"/office/complaints/{w['complaint'].id}",
        "/office/follow-ups",
        "/office/reports",
        "/office/reports/register.csv",
        "/office/assets/office.css",
        f"/office/blobs/{sha}",
    ]


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_page_is_for_office_roles_only(make, login, world, role):
    session = login(make.user(role))
    for url in pages(world):
        response = session.get(url)
        expected = 200 if role in OFFICE else 403
        assert response.status_code == expected, (role, url)
        if expected == 200 and response.mimetype == "text/html":
            for lang in ("en", "zh-Hant"):
                sep = "&" if "?" in url else "?"
                text = session.get(f"{url}{sep}lang={lang}").get_data(as_text=True)
                assert not RAW_KEY.search(text), (url, lang, RAW_KEY.search(text).group(0))


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    for url in pages(world):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


@pytest.mark.parametrize("role", ["engineer", "finance"])
def test_engineers_and_finance_cannot_post_either(make, login, world, role):
    session = login(make.user(role))
    v = world["visit"]
    for url, data in [
        ("/office/requests/new", {"problem": "x", "channel": "hotline", "new_customer_name": "x"}),
        (f"/office/requests/{v.request_id}/steps/phone-response", {}),
        (f"/office/conflicts/{world['conflict'].id}/resolve", {"note": "x"}),
        ("/office/complaints", {"customer_id": v.request.customer_id, "summary": "x"}),
    ]:
        assert session.post(url, data=data).status_code == 403, url
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 1


def test_a_form_posted_without_its_csrf_token_is_refused_and_saves_nothing(make, login):
    session = login(make.user("office"))
    response = session.client.post(
        "/office/requests/new",
        data={"new_customer_name": "新客户", "problem": "断网", "channel": "hotline"},
    )
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count(ServiceRequest.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 0


# --- register ---


def test_register_a_request_for_a_new_customer(make, login):
    session = login(make.user("office"))
    response = session.post(
        "/office/requests/new",
        data={
            "new_customer_name": "陕西秦川物流",
            "new_customer_contact": "马经理",
            "new_customer_phone": "029-86541122",
            "new_customer_address": "西安市未央区凤城八路 166 号",
            "problem": "服务器无法开机",
            "symptoms": "电源灯不亮",
            "channel": "hotline",
            "severity": "high",
            "urgency": "critical",
            "needs_visit": "on",
        },
    )
    assert response.status_code == 302
    request = db.session.scalars(db.select(ServiceRequest)).one()
    assert response.headers["Location"].endswith(f"/office/requests/{request.id}")
    assert request.customer.name == "陕西秦川物流"
    assert (request.contact_name, request.contact_phone) == ("马经理", "029-86541122")
    assert (request.severity, request.urgency, request.needs_visit) == ("high", "critical", True)
    page = session.get(response.headers["Location"]).get_data(as_text=True)
    assert request.number in page and "服务器无法开机" in page


def test_register_errors_appear_beside_the_fields_and_nothing_is_saved(make, login):
    session = login(make.user("office"))
    response = session.post(
        "/office/requests/new?lang=en",
        data={
            "new_customer_name": "半途客户",
            "channel": "pigeon",
            "received_at": "not a time",
            "severity": "high",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert error_beside(page, "reg-problem") == "Required."
    assert error_beside(page, "reg-channel") == "Choose one of the options."
    assert error_beside(page, "reg-received-at") == "Not a valid date and time."
    assert 'value="半途客户"' in page  # what was typed is kept
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 0


def test_a_new_customer_is_not_half_saved_when_the_request_is_refused(make, login):
    session = login(make.user("office"))
    response = session.post(
        "/office/requests/new?lang=zh-Hans",
        data={"new_customer_name": "没有电话的客户", "problem": "断网", "channel": "hotline"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert error_beside(page, "reg-contact-phone") == "必填:客户档案中也没有。"
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 0


def test_a_future_receipt_time_is_refused_beside_the_field(make, login):
    customer = make.customer()
    session = login(make.user("office"))
    later = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = session.post(
        "/office/requests/new?lang=en",
        data={
            "customer_id": customer.id,
            "problem": "断网",
            "channel": "hotline",
            "received_at": later,
        },
    )
    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "reg-received-at") == (
        "Must not be in the future."
    )


def test_an_open_request_for_the_same_equipment_is_warned_about(make, login):
    equipment = make.equipment()
    existing = make.request(equipment.customer, equipment_id=equipment.id, problem="第一次")
    session = login(make.user("office"))
    form = {
        "customer_id": equipment.customer_id,
        "equipment_id": equipment.id,
        "problem": "又坏了",
        "channel": "hotline",
    }
    page = session.get(f"/office/requests/new?customer_id={equipment.customer_id}&lang=en")
    assert "1 open request(s)" in page.get_data(as_text=True)
    response = session.post("/office/requests/new?lang=en", data=form)
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert error_beside(text, "reg-equipment-id") == "This equipment already has an open request."
    assert existing.number in text and 'id="duplicate-warning"' in text
    assert db.session.scalar(db.select(db.func.count(ServiceRequest.id))) == 1
    response = session.post("/office/requests/new", data={**form, "confirm_duplicate": "on"})
    assert response.status_code == 302
    assert db.session.scalar(db.select(db.func.count(ServiceRequest.id))) == 2


def test_customer_search_finds_by_phone(make, login):
    make.customer(name="西安高新一中", phone="029-88331234")
    make.customer(name="别的客户", phone="029-11111111")
    page = login(make.user("office")).get("/office/requests/new?q=8833").get_data(as_text=True)
    assert "西安高新一中" in page and "别的客户" not in page


# --- markup shown as text ---


def test_customer_text_with_markup_is_shown_as_text(make, login):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    shown = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    customer = make.customer(name=evil, contact_person=evil)
    request = make.request(customer, problem=evil, symptoms=evil)
    # What the phone sends is typed in the field: the outcome, feedback and a part's description.
    visit, kit = complete_visit(make, with_conflict=True, outcome=evil)
    kit.feedback(comments=evil)
    kit.part("returned", 1, 0, description=evil)
    session = login(make.user("office"))
    for url in [
        "/office/board",
        "/office/board/rows",
        f"/office/requests/{request.id}",
        "/office/requests",
        f"/office/requests/new?q=script&customer_id={customer.id}&lang=en",
        f"/office/visits/{visit.id}",
    ]:
        page = session.get(url).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page, url
        assert shown in page, url
    review = session.get(f"/office/visits/{visit.id}").get_data(as_text=True)
    assert review.count(shown) == 3  # outcome, feedback, part
    # The conflict's losing side holds markup too (<b>), shown as JSON text.
    assert "<b>未修复</b>" not in review and "&lt;b&gt;未修复&lt;/b&gt;" in review


# --- steps, dispatch, result, callback ---


def test_record_the_phone_response_then_refuse_a_second(make, login):
    request = make.request(received_at=datetime.now(UTC) - timedelta(minutes=20))
    session = login(make.user("office"))
    url = f"/office/requests/{request.id}/steps/phone-response"
    assert session.post(url, data={}).status_code == 302
    db.session.expire_all()
    assert request.phone_response_at is not None and request.status == "responded"
    response = session.post(url + "?lang=en", data={})
    assert response.status_code == 409
    assert "already recorded" in response.get_data(as_text=True)


def test_remote_login_needs_consent_and_times_are_checked(make, login):
    request = make.request(received_at=datetime.now(UTC) - timedelta(minutes=20))
    session = login(make.user("office"))
    base = f"/office/requests/{request.id}/steps"
    response = session.post(f"{base}/remote-login?lang=en", data={})
    assert response.status_code == 409 and "consent" in response.get_data(as_text=True)
    early = (datetime.now(UTC) - timedelta(hours=5)).astimezone().strftime("%Y-%m-%dT%H:%M%z")
    response = session.post(f"{base}/remote-consent?lang=en", data={"at": early})
    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "remote-consent-at") == (
        "Must not be before the request was received."
    )
    assert session.post(f"{base}/remote-consent", data={}).status_code == 302
    assert session.post(f"{base}/remote-login", data={}).status_code == 302
    db.session.expire_all()
    assert request.remote_login_at >= request.remote_consent_at
    response = session.post(f"{base}/delay-notice", data={"note": "工程师在另一现场"})
    assert response.status_code == 302
    db.session.expire_all()
    assert request.sla_note == "工程师在另一现场" and request.delay_notified_at is not None


def test_dispatch_schedules_a_visit_and_the_engineers_phone_pulls_it(make, login, signed_device):
    engineer = make.user("engineer")
    phone = signed_device(engineer)
    request = make.request()
    session = login(make.user("office"))
    response = session.post(
        f"/office/requests/{request.id}/visits",
        data={
            "engineer_id": engineer.id,
            "window_start": "2030-01-05T09:00",
            "window_end": "2030-01-05T11:00",
            "onsite_fee": "120.50",
            "purpose": "repair",
        },
    )
    assert response.status_code == 302
    visit = db.session.scalars(db.select(Visit)).one()
    assert visit.engineer_id == engineer.id and visit.onsite_fee_fen == 12050
    # The window was typed in Shanghai time.
    assert visit.window_start == datetime(2030, 1, 5, 1, 0, tzinfo=UTC)
    pulled, _ = pull(phone)
    assert ("visit", str(visit.id)) in {(c["entity"], c["id"]) for c in pulled}
    db.session.expire_all()
    assert request.status == "scheduled"


def test_dispatch_errors_are_shown_beside_the_fields(make, login):
    request = make.request()
    office = make.user("office")
    session = login(office)
    response = session.post(
        f"/office/requests/{request.id}/visits?lang=en",
        data={
            "engineer_id": office.id,  # not an engineer
            "window_start": "2030-01-05T11:00",
            "window_end": "2030-01-05T09:00",
            "onsite_fee": "12.345",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert error_beside(page, "schedule-window-end") == "The window must end after it starts."
    assert error_beside(page, "schedule-onsite-fee").startswith("Not a valid amount")
    response = session.post(
        f"/office/requests/{request.id}/visits?lang=en", data={"engineer_id": office.id}
    )
    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "schedule-engineer-id") == (
        "No such active engineer."
    )
    assert db.session.scalar(db.select(db.func.count(Visit.id))) == 0


def test_reassign_a_visit_revokes_it_from_the_first_engineer(make, login, signed_device):
    first, second = make.user("engineer"), make.user("engineer")
    visit = make.visit(engineer=first)
    first_phone, second_phone = signed_device(first), signed_device(second)
    _changes, cursor = pull(first_phone)
    session = login(make.user("office"))
    response = session.post(
        f"/office/visits/{visit.id}/update",
        data={"engineer_id": second.id, "window_start": "2030-01-05T09:00"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert visit.engineer_id == second.id and visit.window_end is None
    to_first, _ = pull(first_phone, cursor)
    assert [(c["entity"], c["op"]) for c in to_first] == [("visit", "revoke")]
    to_second, _ = pull(second_phone)
    assert ("visit", str(visit.id)) in {(c["entity"], c["id"]) for c in to_second}


def test_result_and_callback_are_written_into_the_register(make, login):
    request = make.request()
    session = login(make.user("office"))
    response = session.post(
        f"/office/requests/{request.id}/result?lang=en", data={"status": "resolved"}
    )
    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "result-result") == "Required."
    response = session.post(
        f"/office/requests/{request.id}/result",
        data={"result": "更换电源后恢复", "status": "resolved"},
    )
    assert response.status_code == 302
    response = session.post(
        f"/office/requests/{request.id}/callbacks",
        data={"reached": "yes", "satisfied": "yes", "notes": "客户满意"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (request.status, request.result) == ("resolved", "更换电源后恢复")
    assert [(c.reached, c.satisfied, c.notes) for c in request.callbacks] == [
        (True, True, "客户满意")
    ]


# --- visit review ---


def test_review_shows_the_stale_sign_off_conflict_refused_op_and_history(make, login, world):
    visit = world["visit"]
    page = (
        login(make.user("office")).get(f"/office/visits/{visit.id}?lang=en").get_data(as_text=True)
    )
    assert 'data-stale="yes"' in page and "The visit changed after the customer signed" in page
    gaps = re.findall(r'data-gap="([a-z_]+)"', page)
    assert gaps == ["signature_stale", "conflicts", "operations"]
    # The charges the phone's records add up to, beside what was collected: they match.
    assert re.search(r'id="owed">[^<]*130\.00<', page)
    assert re.search(r'id="collected">[^<]*130\.00<', page)
    # The conflict: the phone's "done" kept, the tablet's earlier "open" beside it.
    conflict = world["conflict"]
    card = page[page.index(f'data-conflict="{conflict.id}"') :]
    card = card[: card.index("</form>")]
    kept, other = card.split("</pre>")[:2]
    assert "&#34;state&#34;: &#34;done&#34;" in kept and "&#34;state&#34;: &#34;open&#34;" in other
    assert world["kit"].device.id in kept and conflict.other["device_id"] in other
    assert conflict.other["device_id"] != world["kit"].device.id
    # The refused payment, with the server's reason and what the phone sent.
    assert f'data-operation="{world["op"].id}"' in page and "must be from 1" in page
    # Every op the two devices sent is in the history, each with its device and clocks.
    ops = db.session.scalars(
        db.select(SyncOperation).where(SyncOperation.visit_id == visit.id)
    ).all()
    assert sorted(re.findall(r'data-op="([^"]+)"', page)) == sorted(o.op_id for o in ops)
    assert {o.status for o in ops} == {"applied", "rejected"}
    assert "张伟的手机" in page  # the device each thing came from
    assert visit.arrived_device_time in page  # the phone's clock, beside the server's
    assert f"/office/blobs/{world['kit'].blob()}" in page


def test_resolve_a_conflict_and_review_a_refused_operation(make, login, world):
    session = login(make.user("office"))
    conflict, op = world["conflict"], world["op"]
    response = session.post(f"/office/conflicts/{conflict.id}/resolve?lang=en", data={"note": ""})
    assert response.status_code == 422
    assert (
        error_beside(response.get_data(as_text=True), f"conflict{conflict.id}-note") == "Required."
    )
    assert (
        session.post(
            f"/office/conflicts/{conflict.id}/resolve", data={"note": "保留已修复"}
        ).status_code
        == 302
    )
    assert (
        session.post(
            f"/office/operations/{op.id}/reviewed", data={"note": "已电话确认金额"}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert conflict.resolution == "保留已修复" and conflict.resolved_at is not None
    assert op.review_note == "已电话确认金额" and op.reviewed_at is not None
    again = session.post(f"/office/conflicts/{conflict.id}/resolve?lang=en", data={"note": "x"})
    assert again.status_code == 409 and "already resolved" in again.get_data(as_text=True)


def test_blobs_are_served_with_their_type_and_never_as_a_page(make, login, world):
    session = login(make.user("office"))
    sha = world["kit"].blob()
    response = session.get(f"/office/blobs/{sha}")
    assert response.mimetype == "image/png" and response.data == signature_png()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    # A phone cannot store a page: sync takes images only...
    phone = world["kit"].phone.dev
    markup = b"<script>alert(1)</script>"
    digest = hashlib.sha256(markup).hexdigest()
    refused = phone.put(
        f"/api/sync/blobs/{digest}", data=markup, headers={"Content-Type": "text/html"}
    )
    assert refused.status_code == 415
    # ...and markup sent as an image is served as an image the browser may not sniff or run.
    html = world["kit"].blob(markup, "image/png")
    response = session.get(f"/office/blobs/{html}")
    assert response.mimetype == "image/png" and response.data == markup
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert session.get("/office/blobs/" + "0" * 64).status_code == 404
    assert session.get("/office/blobs/not-a-hash").status_code == 404


# --- escalations, parts, complaints, follow-ups ---


def test_escalations_are_taken_and_resolved_by_the_supervisor_only(make, login):
    engineer = make.user("engineer")
    visit = make.visit(engineer=engineer)
    kit = FieldKit(visit, engineer)
    kit.arrive()
    kit.finish("not_fixed", explanation="主板损坏,需返厂维修", escalate=True)
    office, supervisor = login(make.user("office")), login(make.user("supervisor"))
    page = office.get("/office/escalations?lang=en").get_data(as_text=True)
    # One line for the visit, with the engineer's explanation; not a second for its request.
    assert re.findall(r'data-escalation="([^"]+)" data-state="([^"]+)"', page) == [
        (f"visit:{visit.id}", "waiting")
    ]
    assert "主板损坏,需返厂维修" in page
    assert office.post(f"/office/escalations/visit/{visit.id}/take").status_code == 403
    assert supervisor.post(f"/office/escalations/visit/{visit.id}/take").status_code == 302
    page = supervisor.get("/office/escalations").get_data(as_text=True)
    assert f'data-escalation="visit:{visit.id}" data-state="taken"' in page
    response = supervisor.post(f"/office/escalations/visit/{visit.id}/resolve?lang=en", data={})
    assert response.status_code == 422
    response = supervisor.post(
        f"/office/escalations/visit/{visit.id}/resolve", data={"note": "派高级工程师二次上门"}
    )
    assert response.status_code == 302
    page = supervisor.get("/office/escalations").get_data(as_text=True)
    assert 'data-state="resolved"' in page and "派高级工程师二次上门" in page
    assert supervisor.post("/office/escalations/nope/1/take").status_code == 404


def test_an_escalated_request_without_a_flagged_visit_is_queued(make, login):
    request = make.request()
    request.status = "escalated"
    db.session.commit()
    page = login(make.user("supervisor")).get("/office/escalations").get_data(as_text=True)
    assert f'data-escalation="request:{request.id}"' in page


def test_returned_parts_are_registered_and_dealt_with(make, login, world):
    kit: FieldKit = world["kit"]
    cancelled = kit.part("returned", 1, 0, code="CANCELLED")
    kit.part("returned", 1, 0, reverses=cancelled, code="CANCELLED")
    kit.commit()
    session = login(make.user("office"))
    page = session.get("/office/parts?state=pending").get_data(as_text=True)
    assert f'data-part="{world["part"].id}"' in page and "CANCELLED" not in page
    url = f"/office/parts/{world['part'].id}/handle"
    response = session.post(url + "?lang=en", data={"disposition": "melted"})
    assert response.status_code == 422
    assert (
        session.post(url, data={"disposition": "to_manufacturer", "note": "寄回华为"}).status_code
        == 302
    )
    handling = db.session.get(ReturnedPartHandling, world["part"].id)
    assert handling.disposition == "to_manufacturer"
    assert world["part"].id not in session.get("/office/parts?state=pending").get_data(as_text=True)
    assert session.post(url, data={"disposition": "scrapped"}).status_code == 409
    assert (
        session.post(
            f"/office/parts/{cancelled.id}/handle", data={"disposition": "scrapped"}
        ).status_code
        == 404
    )


def test_complaints_from_receipt_to_resolution(make, login):
    request = make.request()
    office, supervisor = login(make.user("office")), login(make.user("supervisor"))
    response = office.post("/office/complaints?lang=en", data={"customer_id": request.customer_id})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert error_beside(page, "complaint-summary") == "Required."
    assert error_beside(page, "complaint-channel") == "Required."
    other = make.request()
    response = office.post(
        "/office/complaints?lang=en",
        data={
            "customer_id": request.customer_id,
            "request_id": other.id,
            "channel": "hotline",
            "summary": "x",
        },
    )
    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "complaint-request-id") == (
        "No such request for this customer."
    )
    response = office.post(
        "/office/complaints",
        data={
            "customer_id": request.customer_id,
            "request_id": request.id,
            "channel": "hotline",
            "summary": "工程师迟到两小时",
        },
    )
    assert response.status_code == 302
    complaint = db.session.scalars(db.select(Complaint)).one()
    url = f"/office/complaints/{complaint.id}"
    assert office.post(url + "/note", data={"note": "已致电客户致歉"}).status_code == 302
    assert office.post(url + "/resolve", data={"note": "x"}).status_code == 403
    assert office.post(url + "/take").status_code == 403
    assert supervisor.post(url + "/take").status_code == 302
    assert supervisor.post(url + "/resolve", data={"note": "减免上门费并培训"}).status_code == 302
    db.session.expire_all()
    assert complaint.status == "resolved" and complaint.resolution == "减免上门费并培训"
    assert [u.status for u in complaint.updates] == [
        "received",
        "received",
        "in_progress",
        "resolved",
    ]
    assert supervisor.post(url + "/note", data={"note": "late"}).status_code == 409


def test_follow_ups_are_planned_booked_and_repeat(make, login):
    engineer = make.user("engineer")
    equipment = make.equipment()
    session = login(make.user("office"))
    response = session.post(
        "/office/follow-ups?lang=en",
        data={
            "customer_id": equipment.customer_id,
            "kind": "follow_up",
            "due_on": "2030-02-30",
            "reason": "x",
            "interval_months": "3",
        },
    )
    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "followup-due-on").startswith(
        "Not a valid date"
    )
    response = session.post(
        "/office/follow-ups?lang=en",
        data={
            "customer_id": equipment.customer_id,
            "kind": "follow_up",
            "due_on": "2030-02-28",
            "reason": "x",
            "interval_months": "3",
        },
    )
    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "followup-interval-months") == (
        "Only periodic return visits repeat."
    )
    response = session.post(
        "/office/follow-ups",
        data={
            "customer_id": equipment.customer_id,
            "equipment_id": equipment.id,
            "kind": "return_visit",
            "due_on": "2030-01-31",
            "interval_months": "1",
            "reason": "月度巡检",
        },
    )
    assert response.status_code == 302
    follow_up = db.session.scalars(db.select(FollowUp)).one()
    response = session.post(
        f"/office/follow-ups/{follow_up.id}/book",
        data={
            "engineer_id": engineer.id,
            "window_start": "2030-01-31T09:00",
            "window_end": "2030-01-31T10:00",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    booked = follow_up.booked_request
    assert follow_up.status == "booked" and booked.channel == "return_visit"
    assert booked.needs_visit is False and booked.phone_response_at == booked.received_at
    assert [(v.purpose, v.engineer_id) for v in booked.visits] == [("return_visit", engineer.id)]
    assert (
        session.post(
            f"/office/follow-ups/{follow_up.id}/done", data={"note": "运行正常"}
        ).status_code
        == 302
    )
    db.session.expire_all()
    following = db.session.scalars(
        db.select(FollowUp).where(FollowUp.previous_id == follow_up.id)
    ).one()
    assert str(following.due_on) == "2030-02-28" and following.status == "planned"
    assert (
        session.post(f"/office/follow-ups/{follow_up.id}/cancel", data={"note": "x"}).status_code
        == 409
    )


def test_reports_page_and_csv(make, login):
    make.request(problem="=cmd|' /C calc'!A0")
    session = login(make.user("office"))
    page = session.get("/office/reports?weeks=4").get_data(as_text=True)
    assert page.count("<tr data-week=") == 8  # four weeks in each of the two tables
    response = session.get("/office/reports?count=99&lang=en")
    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "report-count") == "Out of range."
    response = session.get("/office/reports/register.csv")
    assert (
        response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    )
    assert "'=cmd" in response.get_data(as_text=True)
    response = session.get("/office/reports/register.csv?from=2026-03-09&to=2026-03-01&lang=en")
    assert response.status_code == 422
    assert (
        error_beside(response.get_data(as_text=True), "csv-to")
        == "Must not be before the start day."
    )


def test_board_filter_errors_show_beside_the_filter(make, login):
    response = login(make.user("office")).get("/office/board?status=bogus&lang=en")
    assert response.status_code == 422
    assert (
        error_beside(response.get_data(as_text=True), "board-status")
        == "Choose one of the options."
    )


def test_board_reads_the_server_clock_and_no_parameter_moves_it(make, login):
    make.request(received_at=datetime.now(UTC) - timedelta(minutes=5))
    session = login(make.user("office"))
    later = datetime.now(UTC) + timedelta(hours=3)
    rows = session.get("/office/board/rows", query_string={"now": later.isoformat()})
    assert 'data-alarm="missed"' not in rows.get_data(as_text=True)  # no test hook in the app
    with freeze_time(later):
        session = login(make.user("office"))  # the first session has idled out by then
        rows = session.get("/office/board/rows").get_data(as_text=True)
    assert 'data-alarm="missed"' in rows


@pytest.mark.parametrize("content_type", BLOB_TYPES)
def test_every_type_a_phone_may_upload_is_shown_in_the_page(make, login, world, content_type):
    """One list (sync.limits.BLOB_TYPES) says what the upload takes and what the office shows."""
    session = login(make.user("office"))
    body = f"a picture as {content_type}".encode()
    sha = world["kit"].blob(body, content_type)
    response = session.get(f"/office/blobs/{sha}")
    assert response.status_code == 200 and response.data == body
    assert response.mimetype == content_type
    assert "Content-Disposition" not in response.headers
