"""R1-R13, R31: sequencing, exactly-once, rejections, savepoints, versions and blobs."""

import pytest
from sync_helpers import (
    BLOB,
    DEV_A,
    DEV_B,
    NOW,
    Phone,
    checklist,
    make_store,
    new_id,
    part,
    payment,
    push,
    signoff,
    statuses,
)

from sync import versions
from sync.engine import BatchTooLarge, Rejection
from sync.memory import MemoryStore
from sync.ops import MAX_BATCH


@pytest.fixture
def store():
    return make_store()


@pytest.fixture
def phone():
    return Phone(DEV_A)


def payments(store):
    return store.records.get("payment", {})


def test_r01_ops_apply_in_seq_order_even_if_sent_unordered(store, phone):
    ops = [phone.op("checklist.set", checklist("kit", "open")) for _ in range(3)]
    ops[2]["payload"]["state"] = "done"  # the last op, by seq, must be the value that stays
    res = push(store, DEV_A, [ops[2], ops[0], ops[1]])
    assert [r.seq for r in res.results] == [1, 2, 3]
    assert statuses(res) == ["applied"] * 3
    assert store.records["checklist_item"]["12:kit"]["state"] == "done"
    assert res.expected_seq == 4


def test_r02_replayed_batch_applies_nothing_twice(store, phone):
    ops = [phone.op("payment.record", payment(500 * (i + 1))) for i in range(3)]
    first = push(store, DEV_A, ops)
    again = push(store, DEV_A, ops)  # the response to the first push was lost
    assert statuses(first) == ["applied"] * 3
    assert statuses(again) == ["duplicate"] * 3
    assert sorted(p["amount_fen"] for p in payments(store).values()) == [500, 1000, 1500]
    assert store.devices[DEV_A].last_seq == 3
    assert len(store.ops_by_seq) == 3


def test_r03_duplicate_returns_recorded_result(store, phone):
    good = phone.op("payment.record", payment())
    bad = phone.op("payment.record", payment(amount_fen=-5))
    first = push(store, DEV_A, [good, bad])
    again = push(store, DEV_A, [bad, good])
    assert [r.status for r in again.results] == ["duplicate", "duplicate"]
    assert [r.original for r in again.results] == [r.to_wire() for r in first.results]
    assert again.results[1].original["status"] == "rejected"


def test_r04_reused_seq_is_rejected(store, phone):
    op = phone.op("payment.record", payment())
    push(store, DEV_A, [op])
    impostor = {**op, "op_id": new_id(), "payload": payment(9999)}
    res = push(store, DEV_A, [impostor])
    assert statuses(res) == ["rejected"]
    assert "sequence number reused" in res.results[0].reason
    assert [p["amount_fen"] for p in payments(store).values()] == [8000]
    assert store.op_by_seq(DEV_A, 1).op_id == op["op_id"]  # the first op's record is untouched


def test_r05_reused_op_id_is_rejected_and_counted(store, phone):
    op = phone.op("payment.record", payment())
    push(store, DEV_A, [op])
    other = Phone(DEV_B).op("payment.record", payment(1))
    other["op_id"] = op["op_id"]
    res = push(store, DEV_B, [other])
    assert statuses(res) == ["rejected"]
    assert "op_id" in res.results[0].reason
    assert res.expected_seq == 2  # counted, so the device is not stuck
    kept = store.op_by_seq(DEV_B, 1)
    assert kept.op_id is None and kept.op["op_id"] == op["op_id"]
    assert statuses(push(store, DEV_B, [other])) == ["duplicate"]


def test_r06_gap_returns_retry_and_applies_nothing_after(store, phone):
    ops = [phone.op("payment.record", payment(100 + i)) for i in range(4)]
    res = push(store, DEV_A, [ops[0], ops[2], ops[3]])  # seq 2 never arrived
    assert statuses(res) == ["applied", "retry", "retry"]
    assert "expected seq 2" in res.results[1].reason
    assert res.expected_seq == 2
    assert [p["amount_fen"] for p in payments(store).values()] == [100]
    res = push(store, DEV_A, ops[1:])
    assert statuses(res) == ["applied"] * 3


def test_r07_poison_op_mid_batch_is_rejected_and_later_ops_apply(store, phone):
    ops = [
        phone.op("payment.record", payment(100)),
        phone.op("payment.record", {**payment(), "amount_fen": 12.5}),
        phone.op("payment.record", payment(300)),
    ]
    res = push(store, DEV_A, ops)
    assert statuses(res) == ["applied", "rejected", "applied"]
    assert "payload.amount_fen" in res.results[1].reason
    assert sorted(p["amount_fen"] for p in payments(store).values()) == [100, 300]
    kept = store.op_by_seq(DEV_A, 2)
    assert kept.status == "rejected" and kept.op == ops[1]  # kept as sent, for the office
    assert res.expected_seq == 4


class FailingStore(MemoryStore):
    """Fails after writing a payment of 666 fen, as a constraint or a bug might."""

    def put(self, entity, key, data):
        super().put(entity, key, data)
        if entity == "payment" and data.get("amount_fen") == 666:
            raise Rejection("the store refused the payment")


def test_r08_failing_op_leaves_no_partial_effects(phone):
    store = FailingStore(now_ms=NOW)
    store.add_visit(12)
    ops = [phone.op("payment.record", payment(a)) for a in (100, 666, 300)]
    res = push(store, DEV_A, ops)
    assert statuses(res) == ["applied", "rejected", "applied"]
    assert "the store refused" in res.results[1].reason
    assert sorted(p["amount_fen"] for p in store.records["payment"].values()) == [100, 300]
    assert all(c.data.get("amount_fen") != 666 for c in store.changes)


def test_r09_op_without_seq_is_rejected_uncounted(store, phone):
    op = phone.op("payment.record", payment())
    broken = {**op, "seq": "7"}
    res = push(store, DEV_A, [broken])
    assert statuses(res) == ["rejected"]
    assert res.results[0].seq is None
    assert res.expected_seq == 1
    assert not store.ops_by_seq


def test_r10_batch_over_limit_is_refused_whole(store, phone):
    ops = [phone.op("checklist.set", checklist("kit")) for _ in range(MAX_BATCH + 1)]
    with pytest.raises(BatchTooLarge):
        push(store, DEV_A, ops)
    assert not store.ops_by_seq and DEV_A not in store.devices
    assert statuses(push(store, DEV_A, ops[:MAX_BATCH])) == ["applied"] * MAX_BATCH


def test_r12_old_version_is_upgraded(store, phone, monkeypatch):
    def v0_to_v1(op):
        # Version 0 sent money as yuan strings in "amount"; version 1 sends integer fen.
        payload = dict(op["payload"])
        payload["amount_fen"] = int(payload.pop("amount").replace(".", ""))
        return {**op, "payload": payload}

    monkeypatch.setitem(versions.UPGRADERS, 0, v0_to_v1)
    old = phone.op("payment.record", {**payment(), "amount": "80.00"}, schema_version=0)
    del old["payload"]["amount_fen"]
    res = push(store, DEV_A, [old])
    assert statuses(res) == ["applied"]
    assert [p["amount_fen"] for p in payments(store).values()] == [8000]
    assert store.op_by_seq(DEV_A, 1).op["schema_version"] == 0  # kept as sent


def test_r12_op_an_upgrader_cannot_read_is_rejected_not_stuck(store, phone, monkeypatch):
    monkeypatch.setitem(versions.UPGRADERS, 0, lambda op: {**op, "payload": op["payload"]["gone"]})
    res = push(store, DEV_A, [phone.op("payment.record", payment(), schema_version=0)])
    assert statuses(res) == ["rejected"]
    assert "could not upgrade op from version 0" in res.results[0].reason
    assert res.expected_seq == 2


def test_r12_version_older_than_chain_is_rejected(store, phone):
    old = phone.op("payment.record", payment(), schema_version=0)
    later = phone.op("payment.record", payment(200))
    res = push(store, DEV_A, [old, later])
    assert statuses(res) == ["rejected", "applied"]
    assert "oldest supported version 1" in res.results[0].reason
    assert store.op_by_seq(DEV_A, 1).op == old


def test_r12_newer_version_is_retry(store, phone):
    new = phone.op("payment.record", payment(), schema_version=2)
    later = phone.op("payment.record", payment(200))
    res = push(store, DEV_A, [new, later])
    assert statuses(res) == ["retry", "retry"]
    assert res.results[0].reason.startswith("server older than app")
    assert res.expected_seq == 1 and not store.ops_by_seq


def test_r13_missing_blob_returns_retry_with_hashes(store, phone):
    missing = "cd" * 32
    sign = phone.op("signoff.sign", signoff("00" * 32, phone.clock or "", blob=missing))
    sign["payload"]["signed_hlc"] = sign["hlc"]
    after = phone.op("checklist.set", checklist("kit"))
    res = push(store, DEV_A, [sign, after])
    assert statuses(res) == ["retry", "retry"]
    assert res.results[0].missing_blobs == [missing]
    assert res.to_wire()["results"][0]["missing_blobs"] == [missing]
    store.blobs.add(missing)  # the phone uploads it, then re-sends
    assert statuses(push(store, DEV_A, [sign, after])) == ["applied", "applied"]


def test_r13_known_blob_needs_no_retry(store, phone):
    sign = phone.op("signoff.sign", signoff("00" * 32, "000000000000001-00000-x", blob=BLOB))
    sign["payload"]["signed_hlc"] = sign["hlc"]
    assert statuses(push(store, DEV_A, [sign])) == ["applied"]


def test_r31_device_cannot_write_unassigned_visit(store, phone):
    store.assignments[DEV_A] = {99}
    op = phone.op("payment.record", payment())
    res = push(store, DEV_A, [op])
    assert statuses(res) == ["rejected"]
    assert "not assigned" in res.results[0].reason
    assert not payments(store)


def test_r31_unknown_visit_is_rejected(store, phone):
    res = push(store, DEV_A, [phone.op("checklist.set", checklist("kit"), visit_id=404)])
    assert statuses(res) == ["rejected"]
    assert "visit 404 does not exist" in res.results[0].reason


def test_r32_push_response_wire_shape(store, phone):
    body = push(store, DEV_A, [phone.op("part.add", part())]).to_wire()
    assert set(body) == {"epoch", "expected_seq", "results", "server_time", "hlc"}
    assert body["server_time"] == "2025-11-28T01:15:00.000+00:00"
    assert body["hlc"] == f"{NOW:015d}-00000-server"
    assert body["results"] == [
        {"op_id": body["results"][0]["op_id"], "seq": 1, "status": "applied"}
    ]


def test_r35_after_a_restore_a_device_naming_another_epoch_is_bridged_and_the_gap_recorded():
    from sync_helpers import DEV_A, NOW, Phone, checklist, make_store

    from sync.engine import apply_push

    store = make_store()
    phone = Phone(DEV_A)
    lost = [phone.op("checklist.set", checklist("kit")) for _ in range(3)]
    assert lost[-1]["seq"] == 3
    nxt = phone.op("checklist.set", checklist("on-time"))
    # Same epoch: a gap is waited for.
    same = apply_push(store, DEV_A, [nxt], NOW, client_epoch=store.epoch())
    assert [r.status for r in same.results] == ["retry"] and same.expected_seq == 1
    # The device last heard another epoch: the server was restored; bridge and record the gap.
    unknown = apply_push(store, DEV_A, [nxt], NOW, client_epoch="never-this-servers")
    assert [r.status for r in unknown.results] == ["retry"] and unknown.expected_seq == 1
    store.past_epochs.add("before-restore")  # the epoch this server ran under before the restore
    bridged = apply_push(store, DEV_A, [nxt], NOW, client_epoch="before-restore")
    assert [r.status for r in bridged.results] == ["applied"] and bridged.expected_seq == 5
    (gap,) = store.conflicts
    assert gap.entity == "device" and "ops 1..3" in gap.reason
    # No epoch named (an older app): never bridged.
    store2 = make_store()
    assert apply_push(store2, DEV_A, [nxt], NOW).results[0].status == "retry"
