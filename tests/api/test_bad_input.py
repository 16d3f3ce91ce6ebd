"""Bad input gets the right 4xx in the one error shape, and nothing is written."""

import pytest
from sqlalchemy import func, select

from server.customers.models import Customer
from server.extensions import db
from server.register.models import ServiceRequest


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _valid(customer_id: int) -> dict:
    return {"customer_id": customer_id, "problem": "网络中断", "channel": "hotline"}


def _assert_shape(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["status"] == status and body["message"] and body["error"]
    if field:
        assert field in body["fields"], body
    return body


def test_non_json_body_is_refused(make, login):
    office = login(make.user("office"))
    response = office.post(
        "/api/customers",
        data="name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _assert_shape(response, 415)
    assert _count(Customer) == 0


def test_malformed_json_is_refused(make, login):
    office = login(make.user("office"))
    response = office.post(
        "/api/customers", data="{not json", headers={"Content-Type": "application/json"}
    )
    _assert_shape(response, 400)
    assert _count(Customer) == 0


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"customer_id": "seven"}, "customer_id"),
        ({"channel": "pigeon"}, "channel"),
        ({"problem": "x" * 401}, "problem"),
        ({"problem": ""}, "problem"),
        ({"severity": 3}, "severity"),
        ({"surprise": True}, "surprise"),
        ({"received_at": "2026-11-28T10:00:00"}, "received_at"),
        ({"received_at": "2999-01-01T00:00:00+08:00"}, "received_at"),
    ],
)
def test_wrong_fields_are_named(make, login, patch, field):
    office = login(make.user("office"))
    customer = make.customer()
    body = _assert_shape(
        office.post("/api/requests", json={**_valid(customer.id), **patch}), 422, field
    )
    assert body["fields"][field]
    assert _count(ServiceRequest) == 0


def test_request_for_a_customer_that_does_not_exist(make, login):
    office = login(make.user("office"))
    _assert_shape(office.post("/api/requests", json=_valid(99999)), 422, "customer_id")
    assert _count(ServiceRequest) == 0


def test_equipment_of_another_customer_is_refused(make, login):
    office = login(make.user("office"))
    mine, other = make.customer(), make.customer()
    item = make.equipment(other)
    _assert_shape(
        office.post("/api/requests", json={**_valid(mine.id), "equipment_id": item.id}),
        422,
        "equipment_id",
    )


def test_window_ending_before_it_starts(make, login):
    office = login(make.user("office"))
    request = make.request()
    _assert_shape(
        office.post(
            f"/api/requests/{request.id}/visits",
            json={
                "window_start": "2026-11-28T10:00:00+08:00",
                "window_end": "2026-11-28T09:00:00+08:00",
            },
        ),
        422,
        "window_end",
    )


def test_assigning_a_non_engineer_is_refused(make, login):
    office = login(make.user("office"))
    request = make.request()
    clerk = make.user("finance")
    _assert_shape(
        office.post(f"/api/requests/{request.id}/visits", json={"engineer_id": clerk.id}),
        422,
        "engineer_id",
    )


def test_engineer_cannot_see_another_engineers_visit(make, signed_device):
    mine, theirs = make.user("engineer"), make.user("engineer")
    visit = make.visit(engineer=theirs)
    phone = signed_device(mine)
    _assert_shape(phone.get(f"/api/visits/{visit.id}"), 404)
    _assert_shape(phone.get(f"/api/requests/{visit.request_id}"), 404)
    assert phone.get("/api/visits").get_json()["items"] == []
    assert signed_device(theirs).get(f"/api/visits/{visit.id}").status_code == 200


def test_revoked_token_is_refused(make, signed_device):
    engineer = make.user("engineer")
    phone = signed_device(engineer)
    assert phone.get("/api/visits").status_code == 200
    assert phone.post(f"/api/devices/{phone.device_id}/revoke").status_code == 200
    body = _assert_shape(phone.get("/api/visits"), 401)
    assert "sign in again" in body["message"]


def test_unknown_token_is_refused(client):
    _assert_shape(client.get("/api/visits", headers={"Authorization": "Bearer nope"}), 401)


def test_device_sign_in_with_a_bad_device_id(make, client):
    make.user("engineer", username="e1")
    _assert_shape(
        client.post(
            "/api/auth/device", json={"username": "e1", "password": "pw", "device_id": "not-a-uuid"}
        ),
        422,
        "device_id",
    )


def test_device_sign_in_with_a_wrong_password(make, client):
    make.user("engineer", username="e1")
    _assert_shape(
        client.post(
            "/api/auth/device",
            json={
                "username": "e1",
                "password": "no",
                "device_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            },
        ),
        401,
    )


def test_json_write_without_csrf_token_is_refused(make, login):
    office = login(make.user("office"))
    response = office.client.post("/api/customers", json={"name": "x"})
    _assert_shape(response, 400)
    assert _count(Customer) == 0


def test_unknown_route_is_json_404(client):
    _assert_shape(client.get("/api/nothing-here"), 404)
