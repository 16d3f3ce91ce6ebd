"""R15-R25: the merge rule of each kind, driven through apply_push on the in-memory store."""

import pytest
from sync_helpers import (
    BLOB,
    DEV_A,
    DEV_B,
    HOUR,
    NOW,
    VISIT,
    Phone,
    checklist,
    make_store,
    new_id,
    part,
    payment,
    push,
    signoff,
    statuses,
    transition,
    void,
)

from sync import hlc
from sync.digest import digest_visit
from sync.engine import visit_view

MIN = 60_000


@pytest.fixture
def store():
    return make_store()


def conflicts_of(store, entity):
    return [c for c in store.conflicts if c.entity == entity]


# --- R15-R17: stamps and checklist last-writer-wins ---


@pytest.mark.parametrize("skew", [-26 * HOUR, -3 * HOUR, -HOUR, 0, HOUR, 3 * HOUR, 26 * HOUR])
def test_r17_checklist_lww_with_skewed_clocks(store, skew):
    """A later edit wins whatever A's clock says; the losing values stay visible as conflicts."""
    a, b = Phone(DEV_A, skew_ms=skew, now_ms=NOW - 1000), Phone(DEV_B, now_ms=NOW + 5 * MIN - 1000)
    res = push(store, DEV_A, [a.op("checklist.set", checklist("kit", "open", "A first"))], NOW)
    a.learn(res)
    push(store, DEV_B, [b.op("checklist.set", checklist("kit", "done", "B later"))], NOW + 5 * MIN)
    assert store.records["checklist_item"]["12:kit"]["note"] == "B later"

    a.now_ms = NOW + 10 * MIN - 1000
    res = push(
        store, DEV_A, [a.op("checklist.set", checklist("kit", "na", "A last"))], NOW + 10 * MIN
    )
    assert statuses(res) == ["applied"]
    item = store.records["checklist_item"]["12:kit"]
    assert (item["state"], item["note"], item["device_id"]) == ("na", "A last", DEV_A)
    lost = sorted(c.other["note"] for c in conflicts_of(store, "checklist_item"))
    assert lost == ["A first", "B later"]


def test_r15_fast_clock_without_correction_cannot_win_for_hours(store):
    """Even a phone that never corrects its clock wins only until the server's clock catches up."""
    a, b = Phone(DEV_A, skew_ms=5 * HOUR), Phone(DEV_B, now_ms=NOW + 2 * MIN)
    push(store, DEV_A, [a.op("checklist.set", checklist("kit", "open"))], NOW)
    stored = store.records["checklist_item"]["12:kit"]
    assert hlc.parse(stored["hlc"]).wall_ms == NOW  # clamped from NOW + 5 h
    assert hlc.parse(stored["device_hlc"]).wall_ms > NOW + 4 * HOUR  # what the phone sent, kept
    res = push(store, DEV_B, [b.op("checklist.set", checklist("kit", "done"))], NOW + 2 * MIN)
    assert statuses(res) == ["applied"]
    assert store.records["checklist_item"]["12:kit"]["device_id"] == DEV_B


def test_r15_without_clamp_the_fast_clock_would_have_won():
    """The control for the test above: the clamp, not luck, makes B win."""
    store = make_store()
    a, b = Phone(DEV_A, skew_ms=5 * HOUR), Phone(DEV_B, now_ms=NOW + 2 * MIN)
    push(store, DEV_A, [a.op("checklist.set", checklist("kit", "open"))], NOW + 6 * HOUR)
    res = push(store, DEV_B, [b.op("checklist.set", checklist("kit", "done"))], NOW + 6 * HOUR)
    assert statuses(res) == ["conflict"]
    assert res.results[0].server_state["device_id"] == DEV_A


def test_r16_device_later_edit_wins_even_when_clamped(store):
    a = Phone(DEV_A)
    first = a.op("checklist.set", checklist("kit", "open"))
    second = a.op("checklist.set", checklist("kit", "done"))
    # Clamped to the same wall, the second op's counter is lower than the first's.
    first["hlc"] = hlc.format(NOW + 3 * HOUR, 5, DEV_A)
    second["hlc"] = hlc.format(NOW + 3 * HOUR + 1000, 0, DEV_A)
    res = push(store, DEV_A, [first, second], NOW)
    assert statuses(res) == ["applied", "applied"]
    item = store.records["checklist_item"]["12:kit"]
    assert item["state"] == "done"
    assert item["hlc"] == hlc.format(NOW, 6, DEV_A)
    assert not store.conflicts  # one device overwriting itself is not a conflict


def test_r17_older_write_arriving_late_loses_and_is_kept(store):
    a, b = Phone(DEV_A, now_ms=NOW - 60_000), Phone(DEV_B)
    old = a.op("checklist.set", checklist("kit", "na", "old"))
    push(store, DEV_B, [b.op("checklist.set", checklist("kit", "done", "new"))])
    res = push(store, DEV_A, [old])
    assert statuses(res) == ["conflict"]
    assert res.results[0].server_state["note"] == "new"
    assert store.records["checklist_item"]["12:kit"]["note"] == "new"
    [c] = conflicts_of(store, "checklist_item")
    assert (c.kept["note"], c.other["note"]) == ("new", "old")
    assert any(ch.entity == "conflict" for ch in store.changes)  # pulled by both phones


def test_r17_items_merge_independently(store):
    a, b = Phone(DEV_A), Phone(DEV_B)
    push(store, DEV_A, [a.op("checklist.set", checklist("kit", "done"))])
    push(store, DEV_B, [b.op("checklist.set", checklist("permission", "done"))])
    assert set(store.records["checklist_item"]) == {"12:kit", "12:permission"}
    assert not store.conflicts


# --- R18-R19: visit transitions ---


def test_r18_late_older_transition_does_not_roll_back(store):
    a, b = Phone(DEV_A), Phone(DEV_B)
    ops = [a.op("visit.transition", transition(s)) for s in ("en_route", "arrived", "in_progress")]
    assert statuses(push(store, DEV_A, ops)) == ["applied"] * 3
    res = push(store, DEV_B, [b.op("visit.transition", transition("en_route"))])
    assert statuses(res) == ["conflict"]
    assert res.results[0].server_state == {"status": "in_progress"}
    assert store.records["visit"][VISIT]["status"] == "in_progress"
    assert conflicts_of(store, "visit")[0].kept == {"status": "in_progress"}
    res = push(store, DEV_B, [b.op("visit.transition", transition("in_progress"))])
    assert statuses(res) == ["duplicate"]


def test_r18_skipping_forward_is_allowed_terminal_is_final(store):
    a, b = Phone(DEV_A), Phone(DEV_B)
    done = transition("completed", outcome_summary="更換電源後恢復正常")
    res = push(
        store,
        DEV_A,
        [a.op("visit.transition", transition("arrived")), a.op("visit.transition", done)],
    )
    assert statuses(res) == ["applied", "applied"]
    visit = store.records["visit"][VISIT]
    assert (visit["status"], visit["outcome_summary"]) == ("completed", "更換電源後恢復正常")
    res = push(store, DEV_B, [b.op("visit.transition", transition("not_fixed", explanation="x"))])
    assert statuses(res) == ["conflict"]
    assert store.records["visit"][VISIT]["status"] == "completed"


def test_r18_cancelled_visit_refuses_transitions_but_keeps_field_records():
    store = make_store(status="cancelled")
    a = Phone(DEV_A)
    res = push(
        store,
        DEV_A,
        [a.op("visit.transition", transition("arrived")), a.op("payment.record", payment())],
    )
    assert statuses(res) == ["conflict", "applied"]
    assert store.records["visit"][VISIT]["status"] == "cancelled"


def test_r18_office_cannot_be_cancelled_from_a_phone(store):
    res = push(store, DEV_A, [Phone(DEV_A).op("visit.transition", transition("cancelled"))])
    assert statuses(res) == ["rejected"]
    assert "payload.to" in res.results[0].reason


def test_r19_first_arrival_keeps_stamp_and_device_time(store):
    a, b = Phone(DEV_A), Phone(DEV_B)
    first = a.op(
        "visit.transition", transition("arrived", late_reason="堵車", customer_informed=True)
    )
    first["device_time"] = "2026-11-28T09:15:00+08:00"
    res_a = push(store, DEV_A, [first], NOW + 1000)
    second = b.op("visit.transition", transition("arrived"))
    second["device_time"] = "2026-11-28T09:20:00+08:00"
    push(store, DEV_B, [second], NOW + 9000)
    visit = store.records["visit"][VISIT]
    assert visit["arrived_device_time"] == "2026-11-28T09:15:00+08:00"
    assert visit["arrived_hlc"] == first["hlc"]  # not clamped: within a minute of the server
    assert visit["arrived_received_ms"] == NOW + 1000
    assert (visit["late_reason"], visit["customer_informed"]) == ("堵車", True)
    assert statuses(res_a) == ["applied"]


# --- R20: parts ---


def test_r20_part_reversal_derives_totals(store):
    a = Phone(DEV_A)
    fan, psu, wrong = new_id(1), new_id(2), new_id(3)
    ops = [
        a.op("part.add", part(2, 1550, kind="replaced"), record_id=fan),
        a.op("part.add", part(1, 30000), record_id=psu),
        a.op("part.add", part(1, 30000, reverses=psu), record_id=wrong),
        a.op("part.add", part(1, 9999, kind="returned")),
    ]
    assert statuses(push(store, DEV_A, ops)) == ["applied"] * 4
    charges = visit_view(store, VISIT)["charges"]
    assert charges == {
        "currency": "CNY",
        "parts_fen": 3100,
        "fee_fen": 8000,
        "waived_fen": 0,
        "total_fen": 11100,
    }
    assert len(store.records["part_event"]) == 4  # add-only: the cancelled event is still there


def test_r20_reversal_rules(store):
    a, b = Phone(DEV_A), Phone(DEV_B)
    store.add_visit(13)
    psu, fix = new_id(2), new_id(3)
    push(
        store,
        DEV_A,
        [
            a.op("part.add", part(), record_id=psu),
            a.op("part.add", part(reverses=psu), record_id=fix),
        ],
    )
    res = push(
        store,
        DEV_B,
        [
            b.op("part.add", part(reverses=new_id(99))),
            b.op("part.add", part(reverses=fix)),
            b.op("part.add", part(reverses=psu), visit_id=13),
            b.op("part.add", part(reverses=psu)),
        ],
    )
    assert statuses(res) == ["rejected", "rejected", "rejected", "conflict"]
    assert "does not exist" in res.results[0].reason
    assert "itself a correction" in res.results[1].reason
    assert "another visit" in res.results[2].reason
    assert "already corrected" in res.results[3].reason
    assert visit_view(store, VISIT)["charges"]["parts_fen"] == 0


def test_r20_in_warranty_parts_are_free():
    store = make_store(parts_charged=False, fee_fen=0)
    push(store, DEV_A, [Phone(DEV_A).op("part.add", part(1, 45000))])
    assert visit_view(store, VISIT)["charges"]["total_fen"] == 0


# --- R21-R23: insert-only records ---


def test_r21_payment_replayed_with_different_amount_conflicts(store):
    a, b = Phone(DEV_A), Phone(DEV_B)
    pid = new_id(7)
    push(store, DEV_A, [a.op("payment.record", payment(8000), record_id=pid)])
    same = push(store, DEV_B, [b.op("payment.record", payment(8000), record_id=pid)])
    other = push(store, DEV_B, [b.op("payment.record", payment(9000), record_id=pid)])
    assert statuses(same) == ["duplicate"]
    assert statuses(other) == ["conflict"]
    assert other.results[0].server_state["amount_fen"] == 8000
    assert store.records["payment"][pid]["amount_fen"] == 8000
    [c] = conflicts_of(store, "payment")
    assert (c.kept["amount_fen"], c.other["amount_fen"]) == (8000, 9000)


@pytest.mark.parametrize("reason", ["", "   "])
def test_r22_void_needs_reason(store, reason):
    a = Phone(DEV_A)
    pid = new_id(7)
    res = push(
        store,
        DEV_A,
        [a.op("payment.record", payment(), record_id=pid), a.op("payment.void", void(pid, reason))],
    )
    assert statuses(res) == ["applied", "rejected"]
    assert "payload.reason" in res.results[1].reason
    assert not store.records.get("payment_void")


def test_r22_void_marks_payment_voided_without_editing_it(store):
    a, b = Phone(DEV_A), Phone(DEV_B)
    pid = new_id(7)
    push(store, DEV_A, [a.op("payment.record", payment(), record_id=pid)])
    before = dict(store.records["payment"][pid])
    res = push(
        store, DEV_A, [a.op("payment.void", void(pid)), a.op("payment.void", void(new_id(8)))]
    )
    assert statuses(res) == ["applied", "rejected"]
    assert store.records["payment"][pid] == before
    assert visit_view(store, VISIT)["payments"][0]["voided"] is True
    again = push(store, DEV_B, [b.op("payment.void", void(pid, "重複作廢"))])
    assert statuses(again) == ["conflict"]


@pytest.mark.parametrize(
    ("kind", "entity", "payload", "changed"),
    [
        (
            "charge.waive",
            "charge_waiver",
            {"amount_fen": 2000, "reason": "老客戶"},
            {"amount_fen": 3000},
        ),
        (
            "equipment_receipt.issue",
            "equipment_receipt",
            {
                "receipt_no": "ER-88",
                "description": "筆記本電腦",
                "brand": "Lenovo",
                "model": "T14",
                "serial": "SN123",
                "accessories": "電源適配器",
                "condition": "外殼有刮痕",
                "customer_name": "張三",
                "signature_blob": BLOB,
            },
            {"serial": "SN124"},
        ),
        (
            "damage.record",
            "damage",
            {
                "equipment_id": None,
                "brand": "HP",
                "model": "M404",
                "description": "定影器損壞",
                "warranty_claimed": True,
                "purchase_proof_blob": BLOB,
                "warranty_card_blob": None,
                "photo_blobs": [BLOB],
            },
            {"warranty_claimed": False},
        ),
        (
            "feedback.submit",
            "feedback",
            {"satisfaction": 5, "comments": "很好 👍"},
            {"satisfaction": 4},
        ),
    ],
)
def test_r23_insert_only_records(store, kind, entity, payload, changed):
    a = Phone(DEV_A)
    rid = new_id(5)
    res = push(
        store,
        DEV_A,
        [
            a.op(kind, payload, record_id=rid),
            a.op(kind, payload, record_id=rid),
            a.op(kind, {**payload, **changed}, record_id=rid),
        ],
    )
    assert statuses(res) == ["applied", "duplicate", "conflict"]
    assert {k: store.records[entity][rid][k] for k in payload} == payload
    assert conflicts_of(store, entity)[0].other[next(iter(changed))] == next(iter(changed.values()))


def test_r23_feedback_satisfaction_out_of_range_is_rejected(store):
    res = push(
        store, DEV_A, [Phone(DEV_A).op("feedback.submit", {"satisfaction": 6, "comments": ""})]
    )
    assert statuses(res) == ["rejected"]
    assert "payload.satisfaction" in res.results[0].reason


# --- R24-R25: sign-off ---


def _signed_visit(store):
    """Record work and a sign-off over what the phone saw; return the phone, signoff id, result."""
    a = Phone(DEV_A)
    work = [
        a.op("checklist.set", checklist("kit", "done", "帶齊工具")),
        a.op("part.add", part(1, 30000)),
        a.op("visit.transition", transition("completed", outcome_summary="已修復")),
        a.op("payment.record", payment(38000)),
    ]
    push(store, DEV_A, work)
    seen = digest_visit(visit_view(store, VISIT))  # the phone holds the same records
    sid = new_id(50)
    sign = a.op("signoff.sign", signoff(seen, "x"), record_id=sid)
    sign["payload"]["signed_hlc"] = sign["hlc"]
    res = push(store, DEV_A, [sign])
    return a, sid, res


def test_r24_signoff_digest_match_is_not_stale(store):
    _, sid, res = _signed_visit(store)
    assert statuses(res) == ["applied"]
    assert res.results[0].server_state["stale"] is False
    assert store.records["signoff"][sid]["stale"] is False


def test_r24_signoff_digest_mismatch_is_stored_and_stale(store):
    a, b = Phone(DEV_A), Phone(DEV_B)
    push(store, DEV_A, [a.op("checklist.set", checklist("kit", "done"))])
    seen = digest_visit(visit_view(store, VISIT))
    # B's change reaches the server before A's sign-off, so the customer never saw it.
    push(store, DEV_B, [b.op("part.add", part(1, 500))])
    sid = new_id(51)
    sign = a.op("signoff.sign", signoff(seen, a.clock), record_id=sid)
    res = push(store, DEV_A, [sign])
    assert statuses(res) == ["applied"]
    assert res.results[0].server_state["stale"] is True
    assert "flagged stale" in res.results[0].reason
    stored = store.records["signoff"][sid]
    assert stored["stale"] is True and stored["digest"] == seen
    assert stored["server_digest"] == digest_visit(visit_view(store, VISIT))


def test_r25_change_after_signoff_marks_it_stale(store):
    _, sid, _ = _signed_visit(store)
    b = Phone(DEV_B)
    push(store, DEV_B, [b.op("checklist.set", checklist("kit", "open", "其實沒帶"))])
    stored = store.records["signoff"][sid]
    assert stored["stale"] is True
    assert "changed after sign-off" in stored["stale_reason"]
    assert [c.data["stale"] for c in store.changes if c.entity == "signoff"] == [False, True]


def test_r25_changes_the_customer_did_not_sign_leave_it_good(store):
    _, sid, _ = _signed_visit(store)
    b = Phone(DEV_B, now_ms=NOW - HOUR)
    res = push(
        store,
        DEV_B,
        [
            b.op("feedback.submit", {"satisfaction": 5, "comments": ""}),  # not in the view
            b.op("checklist.set", checklist("kit", "open")),  # older: loses, changes nothing
        ],
    )
    assert statuses(res) == ["applied", "conflict"]
    assert store.records["signoff"][sid]["stale"] is False
