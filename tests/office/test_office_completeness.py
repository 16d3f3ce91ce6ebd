"""The completeness check: what a finished visit lacks (S20, S21, S23, S24, S29)."""

from __future__ import annotations

import pytest

from server.domain.completeness import DamageFacts, Gap, VisitFacts, visit_gaps
from server.extensions import db
from server.feed.models import SyncOperation
from server.review.operations import review_visit
from tests.office.fieldkit import FieldKit, complete_visit

COMPLETE = VisitFacts(
    status="completed",
    has_signoff=True,
    has_feedback=True,
    charges_total_fen=13000,
    collected_fen=13000,
)


def codes(facts: VisitFacts) -> list[str]:
    return [g.code for g in visit_gaps(facts)]


def with_(**changes) -> VisitFacts:
    return VisitFacts(**{**COMPLETE.__dict__, **changes})


def test_a_complete_visit_lacks_nothing():
    assert visit_gaps(COMPLETE) == []


@pytest.mark.parametrize("status", ["scheduled", "en_route", "arrived", "in_progress", "cancelled"])
def test_a_visit_not_finished_is_not_checked(status):
    assert visit_gaps(VisitFacts(status=status)) == []


def test_a_visit_not_fixed_is_checked_too():
    assert codes(with_(status="not_fixed", has_feedback=False, has_explanation=True)) == [
        "feedback"
    ]


def test_missing_signature_and_feedback_are_listed():
    assert codes(with_(has_signoff=False, has_feedback=False)) == ["signature", "feedback"]


def test_a_stale_signature_is_listed_as_stale_not_missing():
    assert codes(with_(signoff_stale=True)) == ["signature_stale"]


def test_damaged_hardware_needs_brand_and_model():
    damages = (
        DamageFacts("华为", "S5735", False, False, False),
        DamageFacts("  ", "S5735", False, False, False),
        DamageFacts("戴尔", "", False, False, False),
    )
    assert visit_gaps(with_(damages=damages)) == [
        Gap("damage_brand_model", {"n": 2}),
        Gap("damage_brand_model", {"n": 3}),
    ]


def test_warranty_claimed_needs_purchase_proof_and_warranty_card():
    damages = (
        DamageFacts("华为", "S5735", True, False, True),
        DamageFacts("华为", "S5735", True, True, False),
        DamageFacts("华为", "S5735", False, False, False),  # no claim: nothing needed
    )
    assert visit_gaps(with_(damages=damages)) == [
        Gap("purchase_proof", {"n": 1}),
        Gap("warranty_card", {"n": 2}),
    ]


def test_equipment_taken_back_needs_a_receipt():
    assert codes(with_(equipment_receipt_ticked=True)) == ["equipment_receipt"]
    assert codes(with_(equipment_receipt_ticked=True, equipment_receipts=1)) == []
    # A receipt without the tick is proof enough: nothing is lacking.
    assert codes(with_(equipment_receipts=1)) == []


@pytest.mark.parametrize("collected", [0, 12999, 13001])
def test_payment_must_match_the_charges_exactly(collected):
    assert visit_gaps(with_(collected_fen=collected)) == [
        Gap("payment", {"owed_fen": 13000, "collected_fen": collected})
    ]


def test_nothing_owed_and_nothing_collected_matches():
    assert codes(with_(charges_total_fen=0, collected_fen=0)) == []


def test_charges_that_cannot_be_computed_are_listed_with_the_reason():
    gaps = visit_gaps(with_(charges_total_fen=None, charges_error="waived_fen too big"))
    assert gaps == [Gap("charges_invalid", {"reason": "waived_fen too big"})]


def test_open_conflicts_and_unreviewed_operations_are_listed():
    assert visit_gaps(with_(open_conflicts=2, unreviewed_operations=1)) == [
        Gap("conflicts", {"count": 2}),
        Gap("operations", {"count": 1}),
    ]


# --- the facts gathered from a visit's rows, as the sync endpoint stored them ---


def gap_codes(visit) -> list[str]:
    return [g.code for g in review_visit(visit).gaps]


def test_a_complete_synced_visit_has_no_gaps(make):
    visit, _kit = complete_visit(make)
    review = review_visit(visit)
    assert review.gaps == []
    assert review.charges.charges.total_fen == review.charges.collected_fen == 13000
    assert [s.stale for s in review.signoffs] == [False]


def test_review_finds_a_stale_sign_off_and_an_open_conflict(make):
    visit, _kit = complete_visit(make, stale=True, with_conflict=True)
    review = review_visit(visit)
    assert [g.code for g in review.gaps] == ["signature_stale", "conflicts"]
    # The tablet's "open" lost to the phone's later "done": both are kept for the office.
    [conflict] = review.conflicts
    assert (conflict.kept["state"], conflict.other["state"]) == ("done", "open")
    assert [r["entry"].state for r in review.checklist if r["item_id"] == "fix-once"] == ["done"]


def test_a_change_after_signing_makes_the_sign_off_stale_until_signed_again(make):
    """What the customer signed covers the parts and money: any change needs a new signature."""
    visit, kit = complete_visit(make)
    kit.part("used", 1, 0, code="CABLE")
    assert gap_codes(visit) == ["signature_stale"]
    kit.sign()
    assert gap_codes(visit) == []


def test_charges_leave_out_reversed_parts_and_voided_payments(make):
    visit, kit = complete_visit(make, fee_fen=8000)  # owes 5000 part + 8000 fee, paid 13000
    wrong = kit.part("used", 3, 1000)
    kit.part("used", 3, 1000, reverses=wrong)  # the correction cancels it
    kit.part("returned", 1, 99999)  # a faulty part brought back is never charged
    extra = kit.pay(500)
    kit.void(extra)
    kit.sign()  # the customer signs again for the visit as it now is
    review = review_visit(visit)
    assert review.charges.charges.total_fen == 13000
    assert review.charges.collected_fen == 13000
    assert review.gaps == []
    rows = {row.event.id: row for row in review.parts}
    assert rows[wrong.id].reversed_by is not None
    assert [p.id for p, void in review.payments if void is not None] == [extra.id]


def test_in_warranty_nothing_is_owed_so_a_payment_is_a_mismatch(make):
    visit, kit = complete_visit(make, in_warranty=True)
    kit.pay(8000)
    kit.sign()
    review = review_visit(visit)
    assert review.charges.warranty.in_warranty is True
    assert review.charges.charges.total_fen == 0
    assert review.gaps == [Gap("payment", {"owed_fen": 0, "collected_fen": 8000})]


def test_a_waiver_lowers_what_is_owed(make):
    visit, kit = complete_visit(make)
    kit.waive(3000)
    kit.sign()
    assert review_visit(visit).gaps == [Gap("payment", {"owed_fen": 10000, "collected_fen": 13000})]


def test_a_waiver_above_the_charges_is_reported_not_raised(make):
    visit, kit = complete_visit(make)
    kit.waive(10**7)
    kit.sign()
    review = review_visit(visit)
    assert [g.code for g in review.gaps] == ["charges_invalid"]
    assert review.gaps[0].params == {"reason": "waivers exceed the charges"}


def test_warranty_proof_on_file_for_the_equipment_counts(make, login):
    visit, kit = complete_visit(make)
    kit.damage(warranty_claimed=True, proof=False, card=True)
    assert gap_codes(visit) == ["purchase_proof"]
    # The office notes that the purchase proof is on file for this equipment.
    office = login(make.user("office"))
    url = f"/api/equipment/{visit.request.equipment_id}"
    assert office.patch(url, json={"purchase_proof_on_file": True}).status_code == 200
    assert review_visit(visit).gaps == []


def test_equipment_receipt_tick_without_a_receipt_is_a_gap(make):
    visit, kit = complete_visit(make)
    kit.check("equipment-receipt", "done")
    kit.sign()
    assert gap_codes(visit) == ["equipment_receipt"]
    kit.equipment_receipt()
    kit.sign()
    assert review_visit(visit).gaps == []


def test_a_refused_operation_is_a_gap_until_reviewed(make):
    from server.review.operations import mark_operation_reviewed

    visit, kit = complete_visit(make)
    op = kit.refused()
    assert (op.status, op.kind) == ("rejected", "payment.record")
    assert op.reason.startswith("payload.amount_fen: must be from 1")
    assert gap_codes(visit) == ["operations"]
    mark_operation_reviewed(op, make.user("office"), "phoned the engineer")
    kit.commit()
    assert review_visit(visit).gaps == []


def test_field_kit_visit_without_records_lacks_signature_feedback_and_payment(make):
    engineer = make.user("engineer")
    visit = make.visit(engineer=engineer, onsite_fee_fen=5000)
    kit = FieldKit(visit, engineer)
    kit.arrive()
    kit.finish("completed", outcome_summary="检查正常")
    assert [g.code for g in review_visit(visit).gaps] == ["signature", "feedback", "payment"]


def test_resolving_a_conflict_settles_the_operation_that_caused_it(make):
    from server.review.operations import resolve_conflict

    visit, kit = complete_visit(make)
    conflict = kit.conflict()  # the engineer's other device wrote the item and lost
    op = db.session.scalars(
        db.select(SyncOperation).where(SyncOperation.op_id == conflict.op_id)
    ).one()
    assert op.status == "conflict"
    assert gap_codes(visit) == ["conflicts", "operations"]
    resolve_conflict(conflict, "保留已修复", make.user("office"))
    kit.commit()
    assert review_visit(visit).gaps == []
    assert op.review_note == "保留已修复"
