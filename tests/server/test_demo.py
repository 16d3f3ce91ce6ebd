"""Demo data: a realistic company, loaded once however often it is asked for."""

from sqlalchemy import func, select

from server.demo import load_demo
from server.extensions import db
from server.models import Customer, Equipment, ServiceRequest, User, Visit


def _counts() -> dict[str, int]:
    return {
        m.__name__: db.session.scalar(select(func.count()).select_from(m))
        for m in (User, Customer, Equipment, ServiceRequest, Visit)
    }


def test_loading_twice_changes_nothing(app):
    assert load_demo() is True
    first = _counts()
    assert load_demo() is False
    assert _counts() == first


def test_demo_company_has_what_the_brief_promises(app, client):
    load_demo()
    roles = dict(db.session.execute(select(User.username, User.role)).all())
    assert roles == {
        "office": "office",
        "supervisor": "supervisor",
        "finance": "finance",
        "eng1": "engineer",
        "eng2": "engineer",
        "eng3": "engineer",
    }
    from server.services.warranty_view import with_warranty

    statuses = {
        with_warranty(e).warranty["in_warranty"] for e in db.session.scalars(select(Equipment))
    }
    assert statuses == {True, False}
    assert len({r.status for r in db.session.scalars(select(ServiceRequest))}) >= 3
    response = client.post(
        "/api/auth/device",
        json={
            "username": "eng1",
            "password": "demo",
            "device_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        },
    )
    assert response.status_code == 201
