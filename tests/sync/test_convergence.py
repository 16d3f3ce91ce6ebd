"""R30: however pushes are delivered, the server ends where in-order delivery would leave it.

Devices' ops reach the server in random interleavings: batches shuffled, re-sent, cut short by
gaps, and responses lost so the phone re-sends what already arrived. The final state must equal
that of delivering each device's ops once, in order; no payment may be lost or doubled; part
totals must equal the sum of the unique, uncancelled events.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_helpers import HOUR, NOW, VISIT, Phone, checklist, make_store, new_id, part, payment
from sync_helpers import transition as transition_payload
from sync_helpers import void as void_payload

from sync.engine import apply_push, visit_view
from sync.merge import VISIT_PROGRESS

DEVICES = [f"a1b2c3d4-0000-4000-8000-{i:012d}" for i in range(1, 6)]
SKEWS = [-3 * HOUR, -60_000, 0, 30_000, 2 * HOUR, 26 * HOUR]

intent = st.one_of(
    st.tuples(
        st.just("check"),
        st.sampled_from(["kit", "permission", "appointment"]),
        st.sampled_from(["done", "na", "open"]),
        st.sampled_from(["", "好", "note"]),
    ),
    st.tuples(
        st.just("part"),
        st.integers(1, 3),
        st.integers(0, 5000),
        st.sampled_from(["used", "returned"]),
    ),
    st.tuples(st.just("reverse"), st.integers(0, 10)),
    st.tuples(st.just("pay"), st.integers(1, 100_000)),
    st.tuples(st.just("replay_pay"), st.integers(0, 10)),
    st.tuples(st.just("void"), st.integers(0, 10)),
    st.tuples(st.just("move"), st.sampled_from(["en_route", "arrived", "in_progress"])),
    st.tuples(st.just("poison")),
)
device_plan = st.tuples(st.sampled_from(SKEWS), st.lists(intent, max_size=8))


def build(plans):
    """Turn intents into each device's ops, and note what the server must end up holding."""
    expect = {"payments": {}, "parts_fen": 0, "status_rank": 0}
    all_ops = {}
    for d, (skew, intents) in enumerate(plans):
        phone = Phone(DEVICES[d], skew_ms=skew, now_ms=NOW - 10 * 60_000 + d * 7_000)
        ops, my_parts, my_pays, voided = [], [], [], set()
        for it in intents:
            kind = it[0]
            if kind == "check":
                ops.append(phone.op("checklist.set", checklist(it[1], it[2], it[3])))
            elif kind == "part":
                p = part(it[1], it[2], kind=it[3])
                ops.append(phone.op("part.add", p))
                my_parts.append([ops[-1]["record_id"], p, False])
            elif kind == "reverse":
                live = [e for e in my_parts if not e[2] and e[1]["reverses"] is None]
                if live:
                    target = live[it[1] % len(live)]
                    target[2] = True
                    ops.append(phone.op("part.add", part(reverses=target[0])))
                    my_parts.append([ops[-1]["record_id"], ops[-1]["payload"], False])
            elif kind == "pay":
                rid = new_id()
                ops.append(phone.op("payment.record", payment(it[1]), record_id=rid))
                my_pays.append((rid, it[1]))
                expect["payments"][rid] = it[1]
            elif kind == "replay_pay" and my_pays:
                rid, amount = my_pays[it[1] % len(my_pays)]
                ops.append(phone.op("payment.record", payment(amount), record_id=rid))
            elif kind == "void":
                open_pays = [p for p in my_pays if p[0] not in voided]
                if open_pays:
                    rid = open_pays[it[1] % len(open_pays)][0]
                    voided.add(rid)
                    ops.append(phone.op("payment.void", void_payload(rid)))
            elif kind == "move":
                ops.append(phone.op("visit.transition", transition_payload(it[1])))
                rank = VISIT_PROGRESS.index(it[1])
                expect["status_rank"] = max(expect["status_rank"], rank)
            elif kind == "poison":
                ops.append(phone.op("payment.record", {**payment(), "amount_fen": 1.5}))
        for _rid, p, reversed_ in my_parts:
            if p["reverses"] is None and not reversed_ and p["kind"] == "used":
                expect["parts_fen"] += p["qty"] * p["unit_cost_fen"]
        all_ops[DEVICES[d]] = ops
    return all_ops, expect


def final_state(store):
    """Return what must converge: records, derived charges, and how far each device got."""
    records = {
        entity: {
            key: {k: v for k, v in rec.items() if k not in ("received_ms",)}
            for key, rec in table.items()
            if entity != "visit"
        }
        for entity, table in store.records.items()
    }
    return {
        "status": store.records["visit"][VISIT]["status"],
        "records": records,
        "charges": visit_view(store, VISIT)["charges"],
        "last_seq": {d: s.last_seq for d, s in store.devices.items() if s.last_seq},
        "processed": sorted(store.ops_by_seq),
    }


def deliver_in_order(all_ops):
    store = make_store()
    for device, ops in all_ops.items():
        if ops:
            apply_push(store, device, ops, NOW)
    return store


def deliver_chaotically(all_ops, rnd):
    store = make_store()
    acked = dict.fromkeys(all_ops, 0)
    for _ in range(2000):
        pending = [d for d, ops in all_ops.items() if acked[d] < len(ops)]
        if not pending:
            return store
        device = rnd.choice(pending)
        ops = all_ops[device]
        start = acked[device]
        if rnd.random() < 0.2:
            start = rnd.randrange(0, start + 1)  # re-send what may already have arrived
        if rnd.random() < 0.15 and start + 1 < len(ops):
            start += 1  # the first op is missing from this batch: a gap
        batch = ops[start : start + rnd.randint(1, 4)]
        if rnd.random() < 0.2:
            batch = [*batch, rnd.choice(batch)]  # the same op twice in one batch
        rnd.shuffle(batch)
        res = apply_push(store, device, batch, NOW)
        assert all(r.status != "retry" or r.seq > res.expected_seq - 1 for r in res.results)
        if rnd.random() < 0.3:
            continue  # the response was lost: the phone learns nothing
        acked[device] = max(acked[device], res.expected_seq - 1)
    raise AssertionError("delivery did not finish")


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(device_plan, min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_r30_random_delivery_converges(plans, rnd):
    all_ops, expect = build(plans)
    reference = deliver_in_order(all_ops)
    chaotic = deliver_chaotically(all_ops, random.Random(rnd.random()))
    assert final_state(chaotic) == final_state(reference)

    # Independent of the engine's own bookkeeping: nothing lost, nothing doubled.
    stored = {rid: p["amount_fen"] for rid, p in chaotic.records.get("payment", {}).items()}
    assert stored == expect["payments"]
    assert visit_view(chaotic, VISIT)["charges"]["parts_fen"] == expect["parts_fen"]
    assert VISIT_PROGRESS.index(chaotic.records["visit"][VISIT]["status"]) == expect["status_rank"]
    for device, ops in all_ops.items():
        assert chaotic.devices.get(device, None) is None or chaotic.devices[device].last_seq == len(
            ops
        )
        assert len([k for k in chaotic.ops_by_seq if k[0] == device]) == len(ops)
