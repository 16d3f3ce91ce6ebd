"""S16 over HTTP: the server works out from the request and appointment whether arrival is late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync_http import HttpPhone, transition

from server.extensions import db
from server.visits.models import Visit


def _visit(make, engineer, received_hours_ago: float):
    customer = make.customer()
    request = make.request(
        customer, received_at=datetime.now(UTC) - timedelta(hours=received_hours_ago)
    )
    start = datetime.now(UTC) + timedelta(minutes=30)
    return make.visit(
        request, engineer=engineer, window_start=start, window_end=start + timedelta(hours=2)
    )


def test_an_arrival_after_the_s5b_deadline_needs_a_reason(make, signed_device):
    engineer = make.user("engineer")
    visit = _visit(make, engineer, received_hours_ago=3)  # 2 h from the request (S5b) have passed
    phone = HttpPhone(signed_device(engineer))
    phone.op("visit.transition", visit.id, transition("arrived"))
    body = phone.push()
    assert body["results"][0]["status"] == "rejected"
    assert body["results"][0]["reason"].startswith("payload.late_reason")
    phone.op(
        "visit.transition",
        visit.id,
        transition("arrived", late_reason="堵车", customer_informed=True),
    )
    assert phone.push()["results"][0]["status"] == "applied"
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).late_reason == "堵车"


def test_an_arrival_in_time_needs_no_reason(make, signed_device):
    engineer = make.user("engineer")
    visit = _visit(make, engineer, received_hours_ago=0.5)
    phone = HttpPhone(signed_device(engineer))
    phone.op("visit.transition", visit.id, transition("arrived"))
    assert phone.push()["results"][0]["status"] == "applied"
