"""R11: the shared op-validation vectors (spec/vectors/ops.json), which the JS tests run too."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sync_helpers import DEV_A, load_vectors, new_id

from sync import limits
from sync.ops import ValidationError, parse_op

VECTORS = load_vectors("ops")["vectors"]
SPEC = Path(__file__).resolve().parents[2] / "spec"


def _op(vector: dict) -> dict:
    kind = vector["kind"]
    op = {
        "op_id": new_id(),
        "seq": 1,
        "kind": kind,
        "record_id": "12:kit" if kind == "checklist.set" else new_id(),
        "visit_id": 12,
        "hlc": f"001764292500000-00000-{DEV_A}",
        "schema_version": 1,
        "payload": vector["payload"],
        "device_time": "2026-11-28T09:15:00+08:00",
    }
    op.update(vector.get("envelope", {}))
    return op


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_op_vector(vector):
    if not vector["fields"]:
        parse_op(_op(vector), DEV_A)
        return
    with pytest.raises(ValidationError) as err:
        parse_op(_op(vector), DEV_A)
    assert sorted({e.field for e in err.value.errors}) == sorted(vector["fields"])


def test_vectors_cover_every_limited_field():
    named = {(v["kind"], f.removeprefix("payload.")) for v in VECTORS for f in v["fields"]}
    for table in (limits.TEXT_LIMITS, limits.INT_LIMITS):
        for kind, fields in table.items():
            for name in fields:
                if kind == "envelope" or name in ("item_id", "signed_hlc"):
                    continue  # envelope cases are named by their own vectors; patterns bound these
                assert (kind, name) in named, (kind, name)


def test_spec_limits_json_is_the_python_table_written_out():
    """Regenerate with: python -m sync.limits > spec/limits.json"""
    assert json.loads((SPEC / "limits.json").read_text("utf-8")) == limits.as_json()


@pytest.mark.parametrize(
    "value, problem",
    [("ok 中文 😀", False), ("a\x00b", True), ("\udfff", True), ("\ud800x", True), ("", False)],
)
def test_text_problem_refuses_nul_and_lone_surrogates(value, problem):
    assert (limits.text_problem(value) is not None) == problem
    assert limits.text_problem(limits.clean_text(value)) is None


def test_storable_keeps_what_a_database_can_hold():
    sent = {"a\x00": [float("nan"), float("inf"), 2**64, "\udfff", True, None, 1.5]}
    kept = ["nan", "inf", "<integer too large>", "\ufffd", True, None, 1.5]
    assert limits.storable(sent) == {"a\ufffd": kept}
    deep: list = []
    for _ in range(100):
        deep = [deep]
    json.dumps(limits.storable(deep))


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF)),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(value=_json_values, nesting=st.integers(0, 40))
def test_storable_takes_its_short_cut_only_where_the_long_way_changes_nothing(value, nesting):
    """What a push records of each op is the same whether or not the quick check passed it."""
    for _ in range(nesting):
        value = [value]
    quick = limits.storable(value)
    walked = limits._storable(value, 0)
    assert json.dumps(quick, sort_keys=True) == json.dumps(walked, sort_keys=True)


_VALID = [v for v in VECTORS if not v["fields"]]
# What no database column holds (NUL, lone surrogates), often, and anything else now and then.
_any_text = st.text(
    alphabet=st.sampled_from(["\x00", "\ud800", "\udfff", "9", "中", " "])
    | st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF),
    max_size=25,
)


def _near(original: object) -> st.SearchStrategy:
    """Values like `original` (which passed), with what a database cannot hold mixed in."""
    if isinstance(original, str):
        around = st.builds(lambda a, b: a + original + b, _any_text, _any_text)
        return st.one_of(around, around, around, _json_values)
    if isinstance(original, int) and not isinstance(original, bool):
        return st.integers(min_value=-(2**70), max_value=2**70) | _json_values
    return _json_values


@st.composite
def _near_valid_ops(draw) -> dict:
    op = copy.deepcopy(_op(draw(st.sampled_from(_VALID))))
    target = op["payload"] if op["payload"] and draw(st.booleans()) else op
    texts = sorted(k for k, v in target.items() if isinstance(v, str))
    # Text fields most often: that is where a phone's words, and a database's limits, meet.
    name = draw(st.sampled_from(texts if texts and draw(st.integers(0, 3)) else sorted(target)))
    if name != "payload":
        target[name] = draw(_near(target[name]))
    return op


def test_every_valid_vector_is_storable_as_sent():
    for vector in _VALID:
        op = _op(vector)
        parse_op(op, DEV_A)
        assert limits._storable(op, 0) == op, vector["name"]


@settings(max_examples=400, deadline=None)
@given(op=_near_valid_ops())
def test_an_op_that_passes_validation_as_sent_is_storable_as_sent(op):
    """A push records a validated op without making it storable first (OpRecord.checked):
    whatever passes parse_op must be something `storable` would leave exactly as it is."""
    try:
        parse_op(op, DEV_A)
    except ValidationError:
        return
    assert limits._storable(op, 0) == op
