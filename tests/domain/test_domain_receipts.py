"""Receipt numbers S21/S23: the shared vectors, plus properties."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.receipts import (
    MAX_SEQ,
    PREFIX_ALPHABET,
    ReceiptNo,
    find_gaps,
    format_receipt_no,
    is_valid_prefix,
    parse_payment_numbers,
    parse_receipt_no,
)

VECTORS = json.loads(
    (Path(__file__).parents[2] / "spec" / "vectors" / "receipts.json").read_text("utf-8")
)


def _raises(error: dict):
    kind = {"type": TypeError, "value": ValueError}[error["type"]]
    return pytest.raises(kind, match=re.escape(error["field"]))


def test_vector_file_has_only_the_groups_run_here():
    assert {k for k, v in VECTORS.items() if isinstance(v, list)} == {
        "format_receipt_no",
        "parse_receipt_no",
        "find_gaps",
    }


@pytest.mark.parametrize("case", VECTORS["format_receipt_no"], ids=lambda c: c["name"])
def test_format_receipt_no_vector(case):
    args = (case["prefix"], case["seq"]) + ((case["kind"],) if "kind" in case else ())
    if "error" in case:
        with _raises(case["error"]):
            format_receipt_no(*args)
    else:
        assert format_receipt_no(*args) == case["expect"]


@pytest.mark.parametrize("case", VECTORS["parse_receipt_no"], ids=lambda c: c["name"])
def test_parse_receipt_no_vector(case):
    if "error" in case:
        with _raises(case["error"]):
            parse_receipt_no(case["text"])
    else:
        assert parse_receipt_no(case["text"]) == ReceiptNo(**case["expect"])


@pytest.mark.parametrize("case", VECTORS["find_gaps"], ids=lambda c: c["name"])
def test_find_gaps_vector(case):
    if "error" in case:
        with _raises(case["error"]):
            find_gaps(case["seqs"])
    else:
        assert find_gaps(case["seqs"]) == case["expect"]


def test_alphabet_leaves_out_every_confusable_character():
    assert len(set(PREFIX_ALPHABET)) == len(PREFIX_ALPHABET) == 31
    assert not set("01ILO") & set(PREFIX_ALPHABET)
    assert not is_valid_prefix("K7Q2 ")


def test_find_gaps_takes_any_iterable():
    assert find_gaps(n for n in (1, 4)) == [2, 3]


prefixes = st.text(alphabet=PREFIX_ALPHABET, min_size=4, max_size=4)
seqs = st.integers(min_value=1, max_value=MAX_SEQ)


@given(st.sampled_from(["R", "E"]), prefixes, seqs)
def test_parse_reads_back_what_format_wrote(kind, prefix, seq):
    assert parse_receipt_no(format_receipt_no(prefix, seq, kind)) == ReceiptNo(kind, prefix, seq)


@given(st.lists(st.integers(min_value=1, max_value=300), max_size=60))
def test_gaps_and_seen_numbers_make_up_the_whole_run(seen):
    gaps = find_gaps(seen)
    assert gaps == sorted(set(gaps))
    assert not set(gaps) & set(seen)
    assert set(gaps) | set(seen) == set(range(1, max(seen, default=0) + 1))


def _one_by_one(number: str):
    try:
        parsed = parse_receipt_no(number)
    except ValueError:
        return None
    return (parsed.prefix, parsed.seq) if parsed.kind == "R" else None


near_numbers = st.one_of(
    st.builds(
        lambda kind, prefix, digits: f"{kind}-{prefix}-{digits}",
        st.sampled_from(["R", "E", "r", "X"]),
        st.text(alphabet=PREFIX_ALPHABET + "01OIl", min_size=3, max_size=5),
        st.text(alphabet="0123456789", min_size=0, max_size=18),
    ),
    st.text(max_size=20),
)


@given(st.lists(near_numbers, max_size=30))
def test_many_numbers_parsed_at_once_follow_the_one_number_rule(numbers):
    assert parse_payment_numbers(numbers) == [_one_by_one(n) for n in numbers]


def test_many_numbers_at_once_vectors():
    cases = [case["text"] for case in VECTORS["parse_receipt_no"] if isinstance(case["text"], str)]
    assert parse_payment_numbers(cases) == [_one_by_one(n) for n in cases]
