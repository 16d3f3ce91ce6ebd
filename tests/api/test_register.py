"""The service register through the JSON API: register, triage, respond, dispatch (S10-S14)."""

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from sqlalchemy import func, select

from server.extensions import db
from server.feed.models import SyncChange
from server.register.models import ServiceRequest
from server.visits.models import Visit, VisitAssignment


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_office_registers_a_request_with_customer_defaults(make, login):
    office = login(make.user("office"))
    customer = make.customer(name="西安高新区第一中学", contact_person="周老师", phone="029-1")
    item = make.equipment(customer)
    response = office.post(
        "/api/requests",
        json={
            "customer_id": customer.id,
            "equipment_id": item.id,
            "problem": "网络中断",
            "symptoms": "交换机指示灯全红",
            "channel": "hotline",
            "severity": "high",
            "urgency": "high",
        },
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["contact_name"] == "周老师"
    assert body["contact_phone"] == "029-1"
    assert body["address"] == customer.address
    assert body["status"] == "registered"
    assert body["number"] == f"SR{body['id']:06d}"
    assert body["sla"]["phone"]["state"] == "running"
    assert body["sla"]["remote"]["state"] == "not_applicable"


@freeze_time("2026-11-28 15:30:00")  # 23:30 in Shanghai
def test_request_at_half_past_eleven_has_phone_response_due_at_half_past_midnight(make, login):
    office = login(make.user("office"))
    customer = make.customer()
    body = office.post(
        "/api/requests",
        json={"customer_id": customer.id, "problem": "服务器宕机", "channel": "hotline"},
    ).get_json()
    due = datetime.fromisoformat(body["sla"]["phone"]["due"])
    assert due == datetime(2026, 11, 28, 16, 30, tzinfo=UTC)
    assert due.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).hour == 0


def test_response_steps_and_dispatch(make, login):
    office = login(make.user("office"))
    engineer = make.user("engineer")
    request = make.request(received_at=datetime.now(UTC) - timedelta(minutes=30))
    rid = request.id
    r = office.post(f"/api/requests/{rid}/phone-response", json={})
    assert r.status_code == 200 and r.get_json()["status"] == "responded"
    assert r.get_json()["sla"]["phone"]["state"] == "met"
    assert office.post(f"/api/requests/{rid}/phone-response", json={}).status_code == 409
    assert office.post(f"/api/requests/{rid}/remote-login", json={}).status_code == 409
    assert office.post(f"/api/requests/{rid}/remote-consent", json={}).status_code == 200
    r = office.post(f"/api/requests/{rid}/remote-login", json={})
    assert r.status_code == 200 and r.get_json()["sla"]["remote"]["state"] == "met"
    start = datetime.now(UTC) + timedelta(hours=1)
    r = office.post(
        f"/api/requests/{rid}/visits",
        json={
            "engineer_id": engineer.id,
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=1)).isoformat(),
        },
    )
    assert r.status_code == 201, r.get_json()
    visit = r.get_json()
    assert visit["visit_no"] == 1 and visit["engineer_id"] == engineer.id
    assignments = db.session.scalars(select(VisitAssignment)).all()
    assert [(a.visit_id, a.engineer_id, a.unassigned_at) for a in assignments] == [
        (visit["id"], engineer.id, None)
    ]
    fed = {(c.entity, c.entity_id) for c in db.session.scalars(select(SyncChange))}
    assert ("visit", str(visit["id"])) in fed
    assert ("customer", str(request.customer_id)) in fed


def test_reassignment_revokes_from_the_first_engineer_and_grants_the_second(make, login):
    office = login(make.user("office"))
    first, second = make.user("engineer"), make.user("engineer")
    visit = make.visit(engineer=first)
    r = office.patch(f"/api/visits/{visit.id}", json={"engineer_id": second.id})
    assert r.status_code == 200
    revokes = db.session.scalars(select(SyncChange).where(SyncChange.op == "revoke")).all()
    assert [(c.entity, c.entity_id, c.audience_user_id) for c in revokes] == [
        ("visit", str(visit.id), first.id)
    ]
    history = db.session.scalars(select(VisitAssignment).order_by(VisitAssignment.id)).all()
    assert [(a.engineer_id, a.unassigned_at is None) for a in history] == [
        (first.id, False),
        (second.id, True),
    ]


def test_a_second_visit_to_the_same_request_is_numbered_and_kept(make, login):
    office = login(make.user("office"))
    request = make.request()
    make.visit(request)
    r = office.post(f"/api/requests/{request.id}/visits", json={})
    assert r.get_json()["visit_no"] == 2
    assert _count(Visit) == 2


def test_callback_and_result_are_recorded(make, login):
    office = login(make.user("office"))
    request = make.request()
    r = office.post(
        f"/api/requests/{request.id}/callbacks",
        json={"reached": True, "satisfied": True, "notes": "客户满意"},
    )
    assert r.status_code == 201
    r = office.post(
        f"/api/requests/{request.id}/result", json={"result": "已更换电源模块", "status": "closed"}
    )
    assert r.status_code == 200
    body = office.get(f"/api/requests/{request.id}").get_json()
    assert body["status"] == "closed" and body["closed_at"]
    assert body["callbacks"][0]["notes"] == "客户满意"


def test_lists_are_paginated(make, login):
    office = login(make.user("office"))
    customer = make.customer()
    for _ in range(3):
        make.request(customer)
    body = office.get("/api/requests?per_page=2&page=2").get_json()
    assert body["meta"] == {"page": 2, "per_page": 2, "total": 3, "pages": 2}
    assert len(body["items"]) == 1


def test_customer_search(make, login):
    office = login(make.user("office"))
    make.customer(name="西安市雁塔区人民医院")
    make.customer(name="陕西秦川物流有限公司")
    body = office.get("/api/customers", query_string={"q": "医院"}).get_json()
    assert [c["name"] for c in body["items"]] == ["西安市雁塔区人民医院"]


def test_equipment_reports_its_warranty(make, login):
    office = login(make.user("office"))
    customer = make.customer()
    today = datetime.now(UTC).date()
    r = office.post(
        "/api/equipment",
        json={
            "customer_id": customer.id,
            "brand": "戴尔",
            "model": "R750",
            "acceptance_date": (today - timedelta(days=800)).isoformat(),
            "warranty_months": 24,
        },
    )
    assert r.status_code == 201
    assert r.get_json()["warranty"]["in_warranty"] is False
    assert _count(ServiceRequest) == 0
