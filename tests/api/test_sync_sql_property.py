"""R30 on the SQL store, through the real endpoint: with the database refusing some ops, every
applied op reaches the feed exactly once, no push answers 5xx and no phone stays stuck.

Runs on SQLite, and on PostgreSQL with ONSITE_TEST_POSTGRES. Two phones of one engineer work one
visit; their ops arrive in random interleavings, in random chunks, some re-sent (a lost answer),
mixed with ops the database refuses (a receipt number used twice) and ops no column could hold
(oversize, NUL, 2^31 fen).
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sync_http import HttpPhone, part, payment

from server.extensions import db
from server.visits.field_models import PartEvent, Payment
from sync.engine import KIND_RECORD

intent = st.one_of(
    st.tuples(st.just("pay"), st.integers(1, 100_000)),
    st.tuples(st.just("pay_same_number"), st.integers(1, 100_000)),  # refused by the database
    st.tuples(st.just("part"), st.integers(1, 5)),
    st.tuples(st.just("part_too_long")),
    st.tuples(st.just("fen_2_31")),
    st.tuples(st.just("nul")),
    st.tuples(
        st.just("check"), st.sampled_from(["kit", "permission"]), st.sampled_from(["done", "na"])
    ),
)
plan = st.lists(st.lists(intent, min_size=1, max_size=8), min_size=2, max_size=2)


def _queue(phone: HttpPhone, visit_id: int, intents: list) -> None:
    last_number = None
    for it in intents:
        kind = it[0]
        if kind == "pay" or (kind == "pay_same_number" and last_number is None):
            last_number = phone.receipt_no()
            phone.op("payment.record", visit_id, payment(it[1], last_number))
        elif kind == "pay_same_number":
            phone.op("payment.record", visit_id, payment(it[1], last_number))
        elif kind == "part":
            phone.op("part.add", visit_id, part(qty=it[1]))
        elif kind == "part_too_long":
            phone.op("part.add", visit_id, part(description="長" * 2001))
        elif kind == "fen_2_31":
            phone.op("part.add", visit_id, part(unit_cost_fen=2**31))
        elif kind == "nul":
            phone.op("part.add", visit_id, part(part_code="A\x00B"))
        else:
            phone.op("checklist.set", visit_id, {"item_id": it[1], "state": it[2], "note": ""})


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plans=plan, rnd=st.randoms(use_true_random=False))
def test_sql_store_every_applied_op_is_in_the_feed_once_and_no_phone_is_stuck(
    make, signed_device, plans, rnd: random.Random
):
    engineer = make.user("engineer")
    visit = make.visit(engineer=engineer, onsite_fee_fen=30000)
    phones = [HttpPhone(signed_device(engineer)) for _ in plans]
    for phone, intents in zip(phones, plans, strict=True):
        _queue(phone, visit.id, intents)
    sent = {op["op_id"]: op for phone in phones for op in phone.outbox}
    first_status: dict[str, str] = {}
    for _ in range(50):
        waiting = [p for p in phones if p.outbox]
        if not waiting:
            break
        phone = rnd.choice(waiting)
        chunk = phone.outbox[: rnd.randint(1, len(phone.outbox))]
        lost_answer = rnd.random() < 0.3
        body = phone.push(list(chunk))  # asserts 200: no 5xx, whatever the ops hold
        for r in body["results"]:
            if r["status"] in ("applied", "rejected", "conflict"):
                first_status.setdefault(r["op_id"], r["status"])
            elif r["status"] == "duplicate":
                first_status.setdefault(r["op_id"], r["original"]["status"])
        if lost_answer:
            phone.outbox = chunk + [o for o in phone.outbox if o not in chunk]
            phone.push(list(chunk))
    assert all(not p.outbox for p in phones), "a phone is stuck"
    assert set(first_status) == set(sent)
    applied = [op for op_id, op in sent.items() if first_status[op_id] == "applied"]
    for op_id, op in sent.items():
        if op["payload"].get("description", "").startswith("長") or "\x00" in str(op):
            assert first_status[op_id] == "rejected"
    # The feed, as a third phone of the engineer pulls it.
    reader = HttpPhone(signed_device(engineer))
    feed = reader.pull_all(limit=7)
    for op in applied:
        entity = KIND_RECORD[op["kind"]]
        hits = [c for c in feed if c["entity"] == entity and c["data"].get("op_id") == op["op_id"]]
        assert len(hits) == 1, (op["kind"], op["op_id"], len(hits))
    db.session.expire_all()
    paid = [op for op in applied if op["kind"] == "payment.record"]
    assert db.session.scalar(
        select(func.count()).select_from(Payment).where(Payment.visit_id == visit.id)
    ) == len(paid)
    parts = [op for op in applied if op["kind"] == "part.add"]
    assert db.session.scalar(
        select(func.count()).select_from(PartEvent).where(PartEvent.visit_id == visit.id)
    ) == len(parts)
