"""Charge rules (S2, S3) priced by the lists in force on the visit's Shanghai business day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.finance.charges import (
    PriceBook,
    charges_for_visit,
    explain_visit_charges,
    price_visit,
    visit_business_day,
)

from .conftest import shanghai


@dataclass
class Ev:
    id: str
    kind: str
    part_code: str
    qty: int
    unit_cost_fen: int
    reverses_id: str | None = None
    description: str = ""


@dataclass
class Waiver:
    id: str
    amount_fen: int
    reason: str = "goodwill"


BOOK = PriceBook(
    fees=((date(2026, 1, 1), 30000), (date(2026, 7, 1), 35000)),
    parts={"FAN": ((date(2026, 1, 1), 4550), (date(2026, 7, 1), 4800))},
)


def _price(day=date(2026, 11, 20), *, parts=(), waivers=(), in_warranty=False, **kw):
    args = {
        "visit_id": 1,
        "day": day,
        "in_warranty": in_warranty,
        "warranty_reason": "in_warranty" if in_warranty else "expired",
        "inspection_only": False,
        "visit_fee_fen": None,
        "book": BOOK,
        "part_events": parts,
        "waivers": waivers,
    }
    args.update(kw)
    return price_visit(**args)


def test_an_old_visit_is_charged_by_the_prices_of_its_own_day():
    old = _price(date(2026, 6, 30), parts=[Ev("a", "used", "FAN", 1, 4550)])
    new = _price(date(2026, 7, 1), parts=[Ev("a", "used", "FAN", 1, 4550)])
    assert (old.charges.fee_fen, old.charges.parts_fen) == (30000, 4550)
    assert (new.charges.fee_fen, new.charges.parts_fen) == (35000, 4800)
    assert old.flags == ()
    assert [f.code for f in new.flags] == ["part_price_differs"]


def test_in_warranty_nothing_is_charged_s2():
    vc = _price(in_warranty=True, parts=[Ev("a", "replaced", "FAN", 3, 4550)], visit_fee_fen=30000)
    assert vc.charges.total_fen == 0 and vc.flags == ()


def test_inspection_only_is_free_but_parts_are_not_s3():
    vc = _price(inspection_only=True, parts=[Ev("a", "used", "FAN", 1, 4800)])
    assert (vc.charges.fee_fen, vc.charges.parts_fen, vc.charges.total_fen) == (0, 4800, 4800)


def test_the_phone_price_is_flagged_and_the_list_is_used_when_they_differ():
    vc = _price(parts=[Ev("a", "used", "FAN", 2, 5000)])
    [flag] = vc.flags
    assert flag.code == "part_price_differs"
    assert flag.params == {"part_code": "FAN", "phone_fen": 5000, "list_fen": 4800}
    assert vc.charges.parts_fen == 9600 and vc.parts[0].price_source == "list"
    assert vc.phone_total_fen == 10000  # no fee set on the visit: the phone showed parts only


def test_an_unlisted_part_uses_the_phone_price_and_says_so():
    vc = _price(parts=[Ev("a", "used", "GASKET", 3, 333)])
    assert vc.charges.parts_fen == 999
    assert [(f.code, f.params) for f in vc.flags] == [("part_unpriced", {"part_code": "GASKET"})]


def test_a_visit_fee_unlike_the_schedule_is_flagged_and_the_schedule_wins():
    vc = _price(visit_fee_fen=20000)
    assert vc.charges.fee_fen == 35000 and vc.fee_source == "schedule"
    assert vc.flags[0].params == {"visit_fen": 20000, "schedule_fen": 35000}
    before = _price(date(2025, 12, 31), visit_fee_fen=20000)
    assert before.charges.fee_fen == 20000 and before.fee_source == "visit"
    assert [f.code for f in before.flags] == ["fee_unscheduled"]


def test_returned_parts_corrections_and_the_events_they_cancel_are_not_charged():
    parts = [
        Ev("a", "used", "FAN", 1, 4800),
        Ev("b", "used", "FAN", 5, 4800),
        Ev("c", "used", "FAN", 5, 4800, reverses_id="b"),
        Ev("d", "returned", "FAN", 1, 4800),
    ]
    vc = _price(parts=parts)
    assert vc.charges.parts_fen == 4800
    assert [p.charged for p in vc.parts] == [True, False, False, False]


def test_a_waiver_shows_as_a_waiver_and_one_beyond_the_charges_is_capped_and_flagged():
    vc = _price(waivers=[Waiver("w1", 5000), Waiver("w2", 1)])
    assert (vc.charges.waived_fen, vc.charges.total_fen) == (5001, 29999)
    assert vc.waivers == (("w1", 5000, "goodwill"), ("w2", 1, "goodwill"))
    over = _price(in_warranty=True, waivers=[Waiver("w", 100)])
    assert over.charges.total_fen == 0 and over.charges.waived_fen == 0
    assert over.flags[0].code == "waiver_exceeds_charges"


@given(
    st.lists(
        st.tuples(st.sampled_from(["used", "replaced", "returned"]), st.integers(1, 50),
                  st.integers(0, 99)),
        max_size=60,
    )
)  # fmt: skip
def test_many_small_parts_sum_exactly(lines):
    parts = [Ev(str(i), k, f"P{i}", q, u) for i, (k, q, u) in enumerate(lines)]
    vc = _price(parts=parts)
    expected = sum(q * u for k, q, u in lines if k != "returned")
    assert vc.charges.parts_fen == expected
    assert vc.charges.total_fen == expected + 35000


def test_charges_for_visit_reads_the_visits_rows_and_the_price_lists(make, field):
    eng = make.user("engineer")
    field.fee(date(2026, 1, 1), 30000)
    field.price("FAN", date(2026, 1, 1), 4550)
    visit = field.visit(eng, shanghai(2026, 11, 20, 0, 30), fee_fen=30000)
    field.part(visit, "FAN", 2, 4550)
    field.waive(visit, 100, "rounded")
    charges = charges_for_visit(visit)
    assert charges.as_dict() == {
        "currency": "CNY",
        "parts_fen": 9100,
        "fee_fen": 30000,
        "waived_fen": 100,
        "total_fen": 39000,
    }
    # 00:30 in Shanghai is 16:30 UTC the day before: the business day is Shanghai's.
    assert visit_business_day(visit) == date(2026, 11, 20)


@pytest.mark.parametrize(
    ("acceptance", "reason", "total"),
    [
        (date(2026, 1, 1), "in_warranty", 0),
        (date(2024, 1, 1), "expired", 30000),
        (None, "unknown", 30000),
    ],
)
def test_warranty_is_judged_on_the_visits_day(make, field, acceptance, reason, total):
    eng = make.user("engineer")
    field.fee(date(2026, 1, 1), 30000)
    visit = field.visit(
        eng,
        shanghai(2026, 11, 20, 10),
        equipment={"acceptance_date": acceptance, "warranty_months": 12},
    )
    vc = explain_visit_charges(visit)
    assert (vc.warranty_reason, vc.charges.total_fen) == (reason, total)


def test_a_visit_with_no_arrival_uses_its_window_day(make, field):
    eng = make.user("engineer")
    visit = field.visit(eng, shanghai(2026, 11, 20, 23, 50), status="scheduled")
    assert visit.arrived_at is None
    # The window starts 30 minutes before: 23:20 on the 20th.
    assert visit_business_day(visit) == date(2026, 11, 20)
