"""Every foundation endpoint checks the caller's role: who may read and write, who is refused."""

import pytest

ROLES = ["engineer", "office", "supervisor", "finance", "admin"]
WRITERS = {"office", "supervisor", "admin"}
READERS = WRITERS | {"finance"}


@pytest.fixture
def world(make):
    engineer = make.user("engineer", username="assigned")
    customer = make.customer()
    item = make.equipment(customer)
    request = make.request(customer, equipment_id=item.id)
    visit = make.visit(request, engineer=engineer)
    return {
        "customer": customer,
        "item": item,
        "request": request,
        "visit": visit,
        "engineer": engineer,
    }


def _caller(role, make, login, signed_device, world):
    if role == "engineer":
        return signed_device(make.user("engineer"))  # an engineer with nothing assigned
    return login(make.user(role))


READS = [
    "/api/customers",
    "/api/customers/{customer}",
    "/api/equipment",
    "/api/equipment/{item}",
    "/api/requests",
    "/api/requests/{request}",
    "/api/visits",
    "/api/visits/{visit}",
]

WRITES = [
    ("post", "/api/customers", {"name": "新客户"}),
    ("patch", "/api/customers/{customer}", {"notes": "x"}),
    ("post", "/api/equipment", {"customer_id": "{customer}", "brand": "b", "model": "m"}),
    ("patch", "/api/equipment/{item}", {"warranty_card_on_file": True}),
    ("post", "/api/requests", {"customer_id": "{customer}", "problem": "p", "channel": "email"}),
    ("post", "/api/requests/{request}/triage", {"severity": "high"}),
    ("post", "/api/requests/{request}/phone-response", {}),
    ("post", "/api/requests/{request}/callbacks", {"reached": True}),
    ("post", "/api/requests/{request}/result", {"result": "ok", "status": "resolved"}),
    ("post", "/api/requests/{request}/visits", {}),
    ("patch", "/api/visits/{visit}", {"notes": "x"}),
    ("post", "/api/visits/{visit}/cancel", {"reason": "客户取消"}),
]


def _fill(template, world):
    ids = {k: v.id for k, v in world.items()}
    if isinstance(template, str):
        return template.format(**ids)
    return {
        k: (int(_fill(v, world)) if isinstance(v, str) and v.startswith("{") else v)
        for k, v in template.items()
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", READS)
def test_reads(role, path, make, login, signed_device, world):
    caller = _caller(role, make, login, signed_device, world)
    response = caller.get(_fill(path, world))
    if role in READERS:
        assert response.status_code == 200
    elif "{" in path:
        assert response.status_code == 404  # an engineer never learns of others' records
    else:
        assert response.status_code == 200
        assert response.get_json()["items"] == []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_writes(role, method, path, body, make, login, signed_device, world):
    caller = _caller(role, make, login, signed_device, world)
    response = getattr(caller, method)(_fill(path, world), json=_fill(body, world))
    if role in WRITERS:
        assert response.status_code in (200, 201), response.get_json()
    else:
        assert response.status_code == 403, (role, response.get_json())


@pytest.mark.parametrize("path", READS)
def test_anonymous_callers_are_asked_to_sign_in(path, client, world):
    assert client.get(_fill(path, world)).status_code == 401


def test_the_assigned_engineer_reads_their_own(world, signed_device):
    phone = signed_device(world["engineer"])
    for path in READS:
        assert phone.get(_fill(path, world)).status_code == 200, path
    assert (
        phone.post(
            _fill("/api/requests/{request}/triage", world), json={"severity": "high"}
        ).status_code
        == 403
    )
