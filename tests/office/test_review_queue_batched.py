"""The review queue checks its page of visits in one batch, and finds what one-by-one finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from server.extensions import db
from server.review.operations import review_visit, visits_to_review
from server.visits.models import Visit
from tests.api.sync_http import HttpPhone, part, payment
from tests.sync.sync_helpers import transition


def test_queue_gaps_equal_each_visits_own_review_with_a_bounded_number_of_queries(
    make, signed_device, login
):
    engineer = make.user("engineer")
    phone = HttpPhone(signed_device(engineer))
    now = datetime.now(UTC)
    visits = []
    for n in range(6):
        window = {}
        late = {}
        if n % 3 == 0:  # arrived after the window: the sync server asks for the reason (S16)
            window = {
                "window_start": now - timedelta(hours=3),
                "window_end": now - timedelta(hours=2),
            }
            late = {"late_reason": "堵车，已电话致歉"}
        visit = make.visit(make.request(), engineer=engineer, **window)
        visits.append(visit.id)
        phone.op(
            "visit.transition", visit.id, transition("arrived", permission_granted=True, **late)
        )
        if n % 2 == 0:
            phone.op(
                "checklist.set",
                visit.id,
                {"item_id": "equipment-receipt", "state": "done", "note": ""},
            )
            phone.op("part.add", visit.id, part(unit_cost_fen=5000))
            phone.op("payment.record", visit.id, payment(35000, phone.receipt_no()))
        if n == 1:
            phone.op("feedback.submit", visit.id, {"satisfaction": 5, "comments": ""})
        status = "not_fixed" if n == 4 else "completed"
        phone.op(
            "visit.transition",
            visit.id,
            transition(status, outcome_summary="换电源", explanation="缺件，已向客户说明"),
        )
    body = phone.push()
    assert {r["status"] for r in body["results"]} == {"applied"}, body
    db.session.expire_all()

    statements = []

    def count(*_args, **_kw):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        total, rows = visits_to_review(1, 25)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert total == 6 and [v.id for v, _gaps in rows] == visits
    # One query per kind of record for the whole page, not a dozen per visit.
    assert len(statements) <= 20, len(statements)

    one_by_one = {v: [g.code for g in review_visit(db.session.get(Visit, v)).gaps] for v in visits}
    assert {v.id: [g.code for g in gaps] for v, gaps in rows} == one_by_one
    # The visits differ, so the comparison compares something.
    assert len({tuple(codes) for codes in one_by_one.values()}) >= 3
    assert "feedback" not in one_by_one[visits[1]] and "feedback" in one_by_one[visits[0]]
