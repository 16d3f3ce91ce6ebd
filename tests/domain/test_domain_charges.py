"""Charges S2/S3 in integer fen: the shared vectors, plus properties."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.charges import MAX_FEN, PartLine, compute_charges, format_fen

VECTORS = json.loads(
    (Path(__file__).parents[2] / "spec" / "vectors" / "charges.json").read_text("utf-8")
)


def _raises(error: dict):
    kind = {"type": TypeError, "value": ValueError}[error["type"]]
    return pytest.raises(kind, match=re.escape(error["field"]))


def test_vector_file_has_only_the_groups_run_here():
    assert {k for k, v in VECTORS.items() if isinstance(v, list)} == {
        "compute_charges",
        "format_fen",
    }


@pytest.mark.parametrize("case", VECTORS["compute_charges"], ids=lambda c: c["name"])
def test_compute_charges_vector(case):
    parts = [PartLine(**line) for line in case["parts"]]
    args = (case["in_warranty"], parts, case["onsite_fee_fen"], case["inspection_only"])
    if "error" in case:
        with _raises(case["error"]):
            compute_charges(*args, waived_fen=case["waived_fen"])
    else:
        result = compute_charges(*args, waived_fen=case["waived_fen"]).as_dict()
        assert result == case["expect"]
        # The digest hashes this dict; its key order is part of the contract.
        assert list(result) == list(case["expect"])


@pytest.mark.parametrize("case", VECTORS["format_fen"], ids=lambda c: c["name"])
def test_format_fen_vector(case):
    if "error" in case:
        with _raises(case["error"]):
            format_fen(case["fen"], case["locale"])
    else:
        assert format_fen(case["fen"], case["locale"]) == case["expect"]


def test_waiver_defaults_to_zero():
    charges = compute_charges(False, [PartLine("used", 1, 700)], 300, False)
    assert (charges.waived_fen, charges.total_fen) == (0, 1000)


amounts = st.integers(min_value=0, max_value=10**9)
lines = st.builds(
    PartLine,
    kind=st.sampled_from(["used", "replaced", "returned"]),
    qty=st.integers(min_value=1, max_value=50),
    unit_cost_fen=amounts,
    reversed=st.booleans(),
)


@given(st.lists(lines, max_size=40), amounts, st.booleans(), st.data())
def test_out_of_warranty_total_is_parts_plus_fee_minus_waiver(parts, fee, inspection, data):
    gross = compute_charges(False, parts, fee, inspection)
    waived = data.draw(st.integers(min_value=0, max_value=gross.total_fen))
    charges = compute_charges(False, parts, fee, inspection, waived)
    assert charges.total_fen == charges.parts_fen + charges.fee_fen - waived >= 0
    assert charges.parts_fen == sum(
        p.qty * p.unit_cost_fen for p in parts if p.kind != "returned" and not p.reversed
    )
    assert charges.fee_fen == (0 if inspection else fee)


@given(st.lists(lines, max_size=40), amounts, st.booleans())
def test_in_warranty_nothing_is_owed(parts, fee, inspection):
    charges = compute_charges(True, parts, fee, inspection)
    assert charges.as_dict() == {
        "currency": "CNY",
        "parts_fen": 0,
        "fee_fen": 0,
        "waived_fen": 0,
        "total_fen": 0,
    }


@given(st.integers(min_value=-MAX_FEN, max_value=MAX_FEN))
def test_format_fen_reads_back_as_the_same_amount(fen):
    text = format_fen(fen, "zh-CN")
    assert re.fullmatch(r"-?¥\d{1,3}(,\d{3})*\.\d\d", text)
    assert Decimal(text.replace("¥", "").replace(",", "")) * 100 == fen
