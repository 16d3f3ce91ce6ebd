"""The charges the phone shows (server.domain.charges) are the charges the sign-off digest carries.

Two modules compute them for different reasons: `compute_charges` prices a visit for the screen
and for finance, `sync.digest.visit_signoff_view` builds what the customer signs. They must
never drift apart, or a sign-off over a correct visit would be flagged stale.
"""

from hypothesis import given
from hypothesis import strategies as st

from server.domain.charges import PartLine, compute_charges
from sync.digest import visit_signoff_view

events = st.lists(
    st.tuples(
        st.sampled_from(["used", "replaced", "returned"]),
        st.integers(min_value=1, max_value=50),
        st.integers(min_value=0, max_value=500_000),
        st.booleans(),
    ),
    max_size=25,
)


@given(
    events,
    st.integers(min_value=0, max_value=100_000),
    st.booleans(),
    st.booleans(),
    st.integers(min_value=0, max_value=100),
)
def test_screen_charges_equal_the_signed_charges(parts, fee, in_warranty, inspection, waive_pct):
    records, lines = [], []
    for n, (kind, qty, cost, reversed_) in enumerate(parts):
        event_id = f"e{n:03d}"
        records.append(
            {
                "id": event_id,
                "kind": kind,
                "part_code": "P",
                "description": "d",
                "qty": qty,
                "unit_cost_fen": cost,
                "reverses": None,
            }
        )
        if reversed_:
            records.append(
                {
                    "id": f"r{n:03d}",
                    "kind": kind,
                    "part_code": "P",
                    "description": "d",
                    "qty": qty,
                    "unit_cost_fen": cost,
                    "reverses": event_id,
                }
            )
        lines.append(PartLine(kind=kind, qty=qty, unit_cost_fen=cost, reversed=reversed_))
    owed = compute_charges(in_warranty, lines, fee, inspection)
    waived = (owed.parts_fen + owed.fee_fen) * waive_pct // 100
    expected = compute_charges(in_warranty, lines, fee, inspection, waived).as_dict()
    # The server gives the digest the fee actually due and whether parts are charged.
    fee_due = 0 if in_warranty or inspection else fee
    view = visit_signoff_view(
        visit_id=1,
        outcome=None,
        fee_fen=fee_due,
        parts_charged=not in_warranty,
        checklist=[],
        parts=records,
        payments=[],
        voided_payment_ids=[],
        waivers=[{"amount_fen": waived}] if waived else [],
        equipment_receipts=[],
    )
    assert view["charges"] == expected
