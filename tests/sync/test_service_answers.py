"""S16, S17, S22: a transition the service commitment asks an answer for is refused without it."""

import pytest
from sync_helpers import DEV_A, HOUR, NOW, VISIT, Phone, make_store, push, statuses, transition


def _one(store, payload, now=NOW):
    res = push(store, DEV_A, [Phone(DEV_A).op("visit.transition", payload)], now)
    return res.results[0]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (transition("in_progress", permission_granted=None), "payload.permission_granted"),
        (transition("in_progress", permission_granted=False), "payload.permission_granted"),
        (transition("completed", permission_granted=None), "payload.permission_granted"),
        (transition("not_fixed", explanation=None), "payload.explanation"),
        (transition("not_fixed", explanation="   "), "payload.explanation"),
    ],
)
def test_a_missing_answer_is_rejected_with_its_field(payload, field):
    store = make_store(status="arrived")
    result = _one(store, payload)
    assert result.status == "rejected"
    assert result.reason.startswith(field)
    assert store.records["visit"][VISIT]["status"] == "arrived"


def test_permission_given_on_arrival_carries_to_the_outcome():
    store = make_store(status="arrived", permission_granted=True)
    assert _one(store, transition("completed", permission_granted=None)).status == "applied"


def test_a_late_arrival_needs_a_reason_and_an_early_one_does_not():
    late, phone = make_store(arrival_due_ms=NOW - HOUR), Phone(DEV_A)
    first = push(late, DEV_A, [phone.op("visit.transition", transition("arrived"))])
    assert first.results[0].reason.startswith("payload.late_reason")
    again = push(
        late, DEV_A, [phone.op("visit.transition", transition("arrived", late_reason="堵车"))]
    )
    assert statuses(first) + statuses(again) == ["rejected", "applied"]
    on_time = make_store(arrival_due_ms=NOW + HOUR)
    assert _one(on_time, transition("arrived")).status == "applied"
