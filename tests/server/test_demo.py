"""Demo data: a realistic company, loaded once however often it is asked for."""

import uuid

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from server.accounts.models import User
from server.customers.models import Customer, Equipment
from server.demo import load_demo
from server.extensions import db
from server.feed.models import SyncOperation
from server.register.models import ServiceRequest
from server.visits.field_models import Payment
from server.visits.models import Visit


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
    from server.customers.warranty_view import with_warranty

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


def _pull_everything(client, username: str) -> list[dict]:
    login = client.post(
        "/api/auth/device",
        json={"username": username, "password": "demo", "device_id": str(uuid.uuid4())},
    )
    headers = {"Authorization": f"Bearer {login.get_json()['token']}"}
    changes, cursor = [], None
    while True:
        query = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/sync/pull", query_string=query, headers=headers).get_json()
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["has_more"]:
            return changes


def test_demo_phone_office_and_finance_tell_one_story(app, client):
    """Issue 9: demo field data goes through the sync engine, so the phone sees what is stored."""
    load_demo()
    for username in ("eng1", "eng2", "eng3"):
        user = db.session.scalar(select(User).where(User.username == username))
        feed = _pull_everything(client, username)
        visits = {}
        for change in feed:
            if change["entity"] == "visit" and change["op"] == "upsert":
                visits[int(change["id"])] = change["data"]
        mine = db.session.scalars(select(Visit).where(Visit.engineer_id == user.id)).all()
        assert mine
        for v in mine:
            assert visits[v.id]["status"] == v.status, (username, v.id)
        stored = set(
            db.session.scalars(
                select(Payment.id)
                .join(Visit, Payment.visit_id == Visit.id)
                .where(Visit.engineer_id == user.id)
            )
        )
        assert {c["id"] for c in feed if c["entity"] == "payment"} == stored
    # The demo's completed visits were completed by their phones (an op each), not beside the feed.
    completed = db.session.scalars(select(Visit).where(Visit.status == "completed")).all()
    assert completed
    for v in completed:
        ops = db.session.scalars(
            select(SyncOperation).where(
                SyncOperation.visit_id == v.id, SyncOperation.kind == "visit.transition"
            )
        ).all()
        assert any(o.raw["payload"]["to"] == "completed" for o in ops)


# Shanghai 00:05 and 23:50, and midday: the demo's windows are set from now, and its "today" is
# the company's day, whatever the server's clock zone (UTC here) calls it.
@pytest.mark.parametrize(
    "at", ["2026-12-01T16:05:00+00:00", "2026-12-01T15:50:00+00:00", "2026-12-02T04:00:00+00:00"]
)
def test_each_demo_engineer_has_an_in_and_an_out_of_warranty_visit_today(app, at):
    from server.db_types import utcnow
    from server.domain.timezone import business_day, day_bounds_utc
    from server.syncing.store import visit_terms

    with freeze_time(at):
        load_demo()
        today = business_day(utcnow())
    first, end = day_bounds_utc(today)
    for username in ("eng1", "eng2", "eng3"):
        user = db.session.scalar(select(User).where(User.username == username))
        todays = [
            v
            for v in db.session.scalars(select(Visit).where(Visit.engineer_id == user.id))
            if v.window_start is not None and business_day(v.window_start) == today
        ]
        assert {visit_terms(v)["in_warranty"] for v in todays} == {True, False}, username
        assert all(first <= v.window_start and v.window_end <= end for v in todays), username
