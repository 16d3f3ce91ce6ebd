"""Amounts typed in yuan: the server's parser against the vectors the phone's parser also runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.domain.charges import parse_yuan, yuan_text
from sync.limits import MAX_FEN

VECTORS = json.loads(
    (Path(__file__).parents[2] / "spec" / "vectors" / "yuan.json").read_text("utf-8")
)["parse_yuan"]


@pytest.mark.parametrize("case", VECTORS, ids=[repr(c["text"]) for c in VECTORS])
def test_parse_yuan_vectors(case):
    if case["fen"] is None:
        with pytest.raises(ValueError):
            parse_yuan(case["text"], MAX_FEN)
    else:
        assert parse_yuan(case["text"], MAX_FEN) == case["fen"]


def test_yuan_text_reads_back_as_the_same_fen():
    for fen in (0, 1, 10, 99, 100, 123405, 1_000_000_000):
        assert parse_yuan(yuan_text(fen), MAX_FEN) == fen
    assert yuan_text(-5) == "-0.05"
