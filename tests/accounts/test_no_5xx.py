"""Each input the fuzzing found answering 500 now gets a 4xx in the one error shape."""

from __future__ import annotations

import pytest

BIG = 9223372036854775808  # 2**63: beyond SQLite's integers
PG_BIG = 2147483648  # 2**31: beyond PostgreSQL's INTEGER


def _shape(response, status: int | tuple[int, ...]):
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert body["status"] == response.status_code and body["error"] and body["message"]
    return body


@pytest.fixture
def office(make, login):
    return login(make.user("office"))


@pytest.fixture
def finance(make, login):
    return login(make.user("finance"))


@pytest.mark.parametrize("number", [BIG, PG_BIG, 2**64])
def test_ids_beyond_a_column_are_not_found(office, number):
    _shape(office.get(f"/api/visits/{number}"), 404)
    _shape(office.get(f"/api/customers/{number}"), 404)


@pytest.mark.parametrize("number", [BIG, PG_BIG])
def test_page_numbers_beyond_a_column_are_refused(office, number):
    body = _shape(office.get(f"/api/customers?page={number}"), 422)
    assert "page" in body["fields"]


def test_a_year_one_time_is_refused_with_its_field(office, make):
    customer = make.customer()
    body = _shape(
        office.post(
            "/api/requests",
            json={
                "customer_id": customer.id,
                "problem": "网络中断",
                "channel": "hotline",
                "received_at": "0001-01-01T00:00:00+08:00",
            },
        ),
        422,
    )
    assert "received_at" in body["fields"]


def test_the_last_day_of_9999_is_not_a_day_of_the_books(finance, make):
    engineer = make.user("engineer")
    _shape(finance.get(f"/api/finance/reconciliation/{engineer.id}/9999-12-31"), 404)
    _shape(finance.get(f"/api/finance/reconciliation/{engineer.id}/0001-01-01"), 404)


def test_an_office_csv_from_year_one_is_refused(office):
    response = office.get("/office/reports/register.csv?from=0001-01-01")
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"])
def test_nul_and_lone_surrogates_are_refused_in_text(office, bad):
    body = _shape(office.post("/api/customers", json={"name": bad}), 422)
    assert "name" in body["fields"]


def test_nul_is_refused_in_office_forms(office, make):
    customer = make.customer()
    response = office.client.post(
        "/office/requests/new",
        data={
            "customer_id": str(customer.id),
            "problem": "a\x00b",
            "channel": "hotline",
            "csrf_token": office.csrf,
        },
    )
    assert 400 <= response.status_code < 500


def test_a_handover_for_engineer_two_to_the_64_is_refused(finance):
    body = _shape(
        finance.post("/api/finance/handovers", json={"engineer_id": 2**64, "amounts": {}}), 422
    )
    assert "engineer_id" in body["fields"]


def test_method_not_allowed_says_what_is_allowed(office):
    response = office.client.delete("/api/customers", headers={"X-CSRFToken": office.csrf})
    _shape(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


@pytest.mark.parametrize("what", ["customers", "equipment"])
def test_an_empty_patch_is_refused(office, make, what):
    equipment = make.equipment()
    target = equipment.customer_id if what == "customers" else equipment.id
    _shape(office.patch(f"/api/{what}/{target}", json={}), 422)
    _shape(office.client.patch(f"/api/{what}/{target}", headers={"X-CSRFToken": office.csrf}), 422)


def test_the_csrf_token_answer_is_described(client):
    spec = client.get("/api/openapi.json").get_json()
    answer = spec["paths"]["/api/csrf-token"]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]
    assert (
        "csrf_token"
        in spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]["properties"]
    )
    assert "csrf_token" in client.get("/api/csrf-token").get_json()


def test_finance_forms_refuse_nul_and_ids_beyond_a_column(finance, make):
    engineer = make.user("engineer")
    form = finance.client.post(
        "/finance/handovers",
        data={"engineer_id": str(2**64), "amount_cash": "1", "csrf_token": finance.csrf},
    )
    assert form.status_code == 422
    note = finance.client.post(
        "/finance/handovers",
        data={"engineer_id": str(engineer.id), "note": "a\x00b", "csrf_token": finance.csrf},
    )
    assert note.status_code == 422
    query = finance.get(f"/finance/handovers/new?engineer_id={2**64}")
    assert query.status_code == 422


def test_query_strings_refuse_nul(office):
    body = _shape(office.get("/api/customers?q=a%00b"), 422)
    assert "q" in body["fields"]
