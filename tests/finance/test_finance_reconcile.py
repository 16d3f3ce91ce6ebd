"""Reconciliation arithmetic: owed, collected, handed over per engineer and Shanghai day (S23)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from freezegun import freeze_time

from server.errors import ApiError, said_fields
from server.extensions import db
from server.finance import handover as finance_handover
from server.finance import reconcile as finance_reconcile
from server.finance.reconcile import compute_days, day_figures, set_day_status
from tests.finance.conftest import shanghai

DAY = date(2026, 11, 20)


@pytest.fixture
def eng(make):
    return make.user("engineer", username="zhang")


@pytest.fixture
def boss(make):
    return make.user("finance", username="liu")


@pytest.fixture
def phone(field, eng):
    return field.device(eng)


def test_many_small_parts_a_waiver_a_void_and_a_split_payment_add_up_to_the_fen(
    field, eng, phone, boss
):
    field.fee(date(2026, 1, 1), 30000)
    visit = field.visit(eng, shanghai(2026, 11, 20, 14))
    # 37 screws at 0.07 yuan, 3 cables at 12.33, a returned (faulty) board that is not charged.
    field.price("SCREW-M3", date(2026, 1, 1), 7)
    field.price("CABLE-5E", date(2026, 1, 1), 1233)
    field.part(visit, "SCREW-M3", 37, 7)
    field.part(visit, "CABLE-5E", 3, 1233)
    field.part(visit, "BOARD", 1, 99999, kind="returned")
    field.waive(visit, 1, "round down the last fen")
    # owed = 37*7 + 3*1233 + 30000 - 1 = 259 + 3699 + 30000 - 1 = 33957
    field.pay(visit, 20000, "cash", device=phone)
    field.pay(visit, 13957, "wechat", device=phone)
    wrong = field.pay(visit, 50000, "cash", device=phone)
    field.void(wrong, "typed 500 instead of 50")

    fig = day_figures(eng.id, DAY)
    assert fig.owed_fen == 33957
    assert fig.collected_fen == 33957
    assert fig.collected_minus_owed == 0
    assert fig.handed_fen == 0
    assert fig.handed_minus_collected == -33957
    [(_, vc)] = fig.visits
    assert vc.charges.as_dict() == {
        "currency": "CNY",
        "parts_fen": 3958,
        "fee_fen": 30000,
        "waived_fen": 1,
        "total_fen": 33957,
    }
    assert [r.counted_fen for r in fig.receipts] == [20000, 13957, 0]


def test_a_handover_split_over_two_methods_is_credited_to_its_receipts(field, eng, phone, boss):
    field.fee(date(2026, 1, 1), 0)
    visit = field.visit(eng, shanghai(2026, 11, 20, 9), fee_fen=0)
    field.price("FAN", date(2026, 1, 1), 4550)
    field.part(visit, "FAN", 2, 4550)
    cash = field.pay(visit, 5000, "cash", device=phone)
    wechat = field.pay(visit, 4100, "wechat", device=phone)
    handover = finance_handover.record_handover(
        {
            "engineer_id": eng.id,
            "amounts": {"cash": 4990, "wechat": 4100},
            "payment_ids": [cash.id, wechat.id],
        },
        boss,
    )
    db.session.commit()
    check = finance_handover.check_handover(handover)
    assert (check.handed_fen, check.expected_fen, check.difference_fen) == (9090, 9100, -10)
    assert check.difference("cash") == -10 and check.difference("wechat") == 0

    fig = day_figures(eng.id, DAY)
    assert (fig.owed_fen, fig.collected_fen, fig.handed_fen) == (9100, 9100, 9090)
    assert fig.handed_minus_collected == -10
    assert {r.payment.id: r.handed_fen for r in fig.receipts} == {cash.id: 4990, wechat.id: 4100}
    assert finance_handover.cash_in_hand()[0].total_fen == 0


def test_a_handover_over_two_days_pays_the_oldest_receipt_first_and_an_excess_lands_last(
    field, eng, phone, boss
):
    first = field.visit(eng, shanghai(2026, 11, 19, 16), fee_fen=10000)
    second = field.visit(eng, shanghai(2026, 11, 20, 10), fee_fen=10000)
    p1 = field.pay(first, 10000, device=phone)
    p2 = field.pay(second, 10000, device=phone)
    finance_handover.record_handover(
        {"engineer_id": eng.id, "amounts": {"cash": 15000}, "payment_ids": [p2.id, p1.id]}, boss
    )
    db.session.commit()
    days = compute_days(date(2026, 11, 19), date(2026, 11, 20), eng.id)
    assert days[(eng.id, date(2026, 11, 19))].handed_fen == 10000
    assert days[(eng.id, date(2026, 11, 20))].handed_fen == 5000
    assert days[(eng.id, date(2026, 11, 20))].handed_minus_collected == -5000


def test_an_excess_with_no_receipt_of_that_method_goes_to_the_latest_covered_day(
    field, eng, phone, boss
):
    first = field.visit(eng, shanghai(2026, 11, 19, 16), fee_fen=10000)
    second = field.visit(eng, shanghai(2026, 11, 20, 10), fee_fen=10000)
    p1 = field.pay(first, 10000, device=phone)
    p2 = field.pay(second, 10000, device=phone)
    finance_handover.record_handover(
        {
            "engineer_id": eng.id,
            "amounts": {"cash": 20003, "card": 100},
            "payment_ids": [p1.id, p2.id],
        },
        boss,
    )
    db.session.commit()
    days = compute_days(date(2026, 11, 19), date(2026, 11, 20), eng.id)
    assert days[(eng.id, date(2026, 11, 19))].handed_fen == 10000
    assert days[(eng.id, date(2026, 11, 20))].handed_fen == 10103
    total = finance_reconcile.period_totals(days.values())
    assert total.handed_minus_collected == 103


def test_midnight_in_shanghai_is_the_day_boundary_not_utc_midnight(field, eng, phone):
    # 23:59 and 00:01 Shanghai time are 15:59 and 16:01 UTC on the same UTC day.
    late = field.visit(eng, shanghai(2026, 11, 20, 23, 59), fee_fen=10000)
    early = field.visit(eng, shanghai(2026, 11, 21, 0, 1), fee_fen=20000)
    assert late.arrived_at.date() == early.arrived_at.date()
    field.pay(late, 10000, device=phone)
    field.pay(early, 20000, device=phone)
    days = compute_days(date(2026, 11, 20), date(2026, 11, 21), eng.id)
    assert days[(eng.id, date(2026, 11, 20))].collected_fen == 10000
    assert days[(eng.id, date(2026, 11, 21))].collected_fen == 20000
    assert days[(eng.id, date(2026, 11, 21))].owed_fen == 20000


def test_reconciling_at_one_minute_past_midnight_locks_yesterday_and_refuses_today_plus_one(
    field, eng, phone, boss
):
    visit = field.visit(eng, shanghai(2026, 11, 20, 23, 30), fee_fen=10000)
    field.pay(visit, 10000, device=phone)
    # 00:01 on the 21st in Shanghai is 16:01 UTC on the 20th.
    with freeze_time("2026-11-20T16:01:00Z"):
        set_day_status(eng.id, date(2026, 11, 20), "reconciled", "handover tomorrow", boss)
        db.session.commit()
        with pytest.raises(ApiError) as exc:
            set_day_status(eng.id, date(2026, 11, 22), "disputed", "why", boss)
        assert said_fields(exc.value.fields, "en") == {"day": ["In the future."]}
    with freeze_time("2026-11-20T15:59:00Z"), pytest.raises(ApiError):
        # At 23:59 on the 20th, the 21st has not started.
        set_day_status(eng.id, date(2026, 11, 21), "disputed", "why", boss)


def test_a_late_sync_into_a_locked_day_is_an_adjustment_not_a_silent_change(
    field, eng, phone, boss
):
    visit = field.visit(eng, shanghai(2026, 11, 20, 10), fee_fen=10000)
    p1 = field.pay(visit, 6000, device=phone, seq=1)
    with freeze_time("2026-11-21T02:00:00Z"):
        set_day_status(eng.id, DAY, "reconciled", "short 40 yuan, engineer to pay next visit", boss)
        db.session.commit()
    locked = day_figures(eng.id, DAY)
    assert locked.locked and locked.shown == {
        "owed_fen": 10000,
        "collected_fen": 6000,
        "handed_fen": 0,
        "transferred_fen": 0,
        "promised_fen": 0,
    }
    # The phone was offline: the second payment (and a void of the first) arrive days later.
    field.pay(visit, 4000, "alipay", device=phone, seq=2, received_at=shanghai(2026, 11, 23, 9))
    field.void(p1, "customer paid again by card", received_at=shanghai(2026, 11, 23, 9, 1))
    fig = day_figures(eng.id, DAY)
    assert fig.shown["collected_fen"] == 6000  # the locked figure stands
    assert fig.current["collected_fen"] == 4000
    kinds = sorted((a.kind, a.collected_fen) for a in fig.adjustments)
    assert kinds == [("late_payment", 4000), ("late_void", -6000)]
    assert fig.adjustment_totals["collected_fen"] == -2000
    totals = finance_reconcile.period_totals([fig])
    assert totals.collected_fen == 6000 and totals.adjusted_collected_fen == -2000
    with pytest.raises(ApiError) as exc:
        set_day_status(eng.id, DAY, "reconciled", "again", boss)
    assert exc.value.status == 409


def test_a_late_part_changes_owed_on_a_locked_day_only_as_an_adjustment(field, eng, phone, boss):
    visit = field.visit(eng, shanghai(2026, 11, 20, 10), fee_fen=10000)
    field.pay(visit, 10000, device=phone)
    with freeze_time("2026-11-21T02:00:00Z"):
        set_day_status(eng.id, DAY, "reconciled", "handed over next day", boss)
        db.session.commit()
    field.price("FUSE", date(2026, 1, 1), 250)
    # Recorded on site, synced two days later.
    field.part(visit, "FUSE", 2, 250, received_at=shanghai(2026, 11, 22, 9))
    fig = day_figures(eng.id, DAY)
    assert fig.shown["owed_fen"] == 10000
    assert [(a.kind, a.ref, a.owed_fen) for a in fig.adjustments] == [
        ("owed_changed", str(visit.id), 500)
    ]


def test_differing_figures_need_a_note_to_reconcile_and_a_dispute_always_does(
    field, eng, phone, boss
):
    visit = field.visit(eng, shanghai(2026, 11, 20, 10), fee_fen=10000)
    field.pay(visit, 9000, device=phone)
    # The phone last synced on the day itself: it may still hold more of the day's money.
    with pytest.raises(ApiError) as exc:
        set_day_status(eng.id, DAY, "reconciled", "  ", boss)
    assert said_fields(exc.value.fields, "en") == {
        "note": [
            f"A phone may still hold this day's payments ({phone.name}); "
            "say why the day is locked anyway."
        ]
    }
    field.sync(phone, shanghai(2026, 11, 21, 8))  # the next morning, nothing left to send
    with pytest.raises(ApiError) as exc:
        set_day_status(eng.id, DAY, "reconciled", "  ", boss)
    assert said_fields(exc.value.fields, "en") == {"note": ["Required when the figures differ."]}
    with pytest.raises(ApiError) as exc:
        set_day_status(eng.id, DAY, "disputed", "", boss)
    assert "note" in exc.value.fields
    fig = set_day_status(eng.id, DAY, "disputed", "customer says they paid 100", boss)
    db.session.commit()
    assert fig.status == "disputed" and not fig.locked
    fig = set_day_status(eng.id, DAY, "reconciled", "customer underpaid, written off", boss)
    db.session.commit()
    assert fig.locked and fig.record.figures["collected_fen"] == 9000


def test_in_warranty_visits_owe_nothing_and_out_of_warranty_inspection_owes_nothing(
    field, eng, phone
):
    field.fee(date(2026, 1, 1), 30000)
    covered = field.visit(eng, shanghai(2026, 11, 20, 9), in_warranty=True)
    field.part(covered, "DISK", 1, 80000)
    inspection = field.visit(eng, shanghai(2026, 11, 20, 11), inspection_only=True)
    fig = day_figures(eng.id, DAY)
    owed = {v.id: vc.charges.total_fen for v, vc in fig.visits}
    assert owed == {covered.id: 0, inspection.id: 0}


def test_cancelled_and_not_yet_attended_visits_owe_nothing(field, make, eng):
    cancelled = field.visit(eng, shanghai(2026, 11, 20, 9), status="cancelled")
    pending = field.visit(eng, shanghai(2026, 11, 20, 9), status="scheduled")
    # The engineer had arrived at the cancelled one; nobody has arrived at the other.
    assert cancelled.arrived_at is not None and cancelled.status == "cancelled"
    assert pending.arrived_at is None and pending.status == "scheduled"
    fig = day_figures(eng.id, DAY)
    assert fig.owed_fen == 0 and fig.visits == []


def test_cash_in_hand_shows_what_is_not_handed_over_and_how_long_it_has_been_held(
    field, eng, phone, boss
):
    visit = field.visit(eng, shanghai(2026, 11, 20, 9), fee_fen=10000)
    field.pay(visit, 3000, "cash", device=phone, taken_at=shanghai(2026, 11, 20, 9, 30))
    p2 = field.pay(visit, 7000, "wechat", device=phone, taken_at=shanghai(2026, 11, 20, 11))
    with freeze_time(shanghai(2026, 11, 21, 12)):
        [cash] = [c for c in finance_handover.cash_in_hand() if c.engineer.id == eng.id]
        assert cash.by_method == {"cash": 3000, "wechat": 7000}
        assert cash.held_for(shanghai(2026, 11, 21, 12)) == timedelta(hours=26, minutes=30)
    finance_handover.record_handover(
        {"engineer_id": eng.id, "amounts": {"wechat": 7000}, "payment_ids": [p2.id]}, boss
    )
    db.session.commit()
    [cash] = [c for c in finance_handover.cash_in_hand() if c.engineer.id == eng.id]
    assert cash.by_method == {"cash": 3000}


def test_cash_held_longest_is_found_among_later_receipts_whose_phone_says_earlier(
    field, eng, phone
):
    """The sums come from the database; the oldest is still `held_since` of every receipt.

    A receipt the server got 20 days after the first, whose phone says it was taken 25 days
    before that, has been held longest; one claiming 41 days is past the 30 days allowed.
    """
    first = shanghai(2026, 10, 1, 10)
    visit = field.visit(eng, first, fee_fen=10000)
    field.pay(visit, 1000, "cash", device=phone, taken_at=first)
    # Synced late by a phone whose clock was days behind: it says when it took the money.
    later = field.pay(
        visit,
        2000,
        "cash",
        device=phone,
        taken_at=first - timedelta(days=5),
        received_at=first + timedelta(days=20),
    )
    much_later = field.pay(
        visit,
        4000,
        "wechat",
        device=phone,
        taken_at=first - timedelta(days=1),  # 41 days before the server got it: ignored
        received_at=first + timedelta(days=40),
    )
    assert later.device_time.startswith("2026-09-26T10:00")
    assert much_later.device_time.startswith("2026-09-30T10:00")
    [cash] = [c for c in finance_handover.cash_in_hand() if c.engineer.id == eng.id]
    assert cash.by_method == {"cash": 3000, "wechat": 4000} and cash.count == 3
    assert cash.oldest_since == first - timedelta(days=5)
    assert [p.receipt_no for p in cash.receipts] == sorted(p.receipt_no for p in cash.receipts)
    assert len(cash.receipts) == 3
