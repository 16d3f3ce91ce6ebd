"""R26: canonical JSON and the sign-off digest, against the vectors the JS tests also check."""

import hashlib
import json

import pytest
from sync_helpers import load_vectors

from sync.canonical import CanonicalError, canonical_digest, canonical_json
from sync.digest import digest_visit, visit_signoff_view

V = load_vectors("digest")
OK = [c for c in V["canonical"] if "error" not in c]
BAD = [c for c in V["canonical"] if "error" in c]


def test_r26_vectors_cover_the_hard_cases():
    names = " ".join(c["name"] for c in V["canonical"])
    for needed in ("Chinese", "emoji", "quotes", "control", "2028", "float"):
        assert needed in names


@pytest.mark.parametrize("case", OK, ids=[c["name"] for c in OK])
def test_r26_canonical_vectors(case):
    text = canonical_json(case["value"])
    assert text == case["canonical"]
    assert canonical_digest(case["value"]) == case["sha256"]
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == case["sha256"]


@pytest.mark.parametrize("case", BAD, ids=[c["name"] for c in BAD])
def test_r26_canonical_rejects(case):
    with pytest.raises(CanonicalError) as err:
        canonical_json(case["value"])
    assert err.value.code == case["error"]


def test_r26_float_error_names_the_path_and_says_why():
    with pytest.raises(CanonicalError, match=r"\$\.parts\[0\]\.unit_cost_fen: floats are not"):
        canonical_json({"parts": [{"unit_cost_fen": 1.0}]})


def test_r26_bool_is_not_mistaken_for_an_integer():
    assert canonical_json({"a": True, "b": 1}) == '{"a":true,"b":1}'


@pytest.mark.parametrize("case", V["views"], ids=[c["name"] for c in V["views"]])
def test_r26_view_vectors(case):
    view = visit_signoff_view(**case["input"])
    assert view == case["view"]
    assert canonical_json(view) == case["canonical"]
    assert digest_visit(view) == case["digest"]


def test_r26_view_ignores_record_order():
    case = V["views"][0]
    shuffled = {
        k: list(reversed(v)) if isinstance(v, list) else v for k, v in case["input"].items()
    }
    assert digest_visit(visit_signoff_view(**shuffled)) == case["digest"]


def test_r26_view_changes_when_the_customer_would_see_a_change():
    case = V["views"][0]
    changed = json.loads(json.dumps(case["input"]))
    changed["checklist"][0]["note"] += " "
    assert digest_visit(visit_signoff_view(**changed)) != case["digest"]
