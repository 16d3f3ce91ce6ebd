"""R14-R15: the hybrid logical clock, against the shared vectors and a few properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sync_helpers import load_vectors

from sync import hlc

V = load_vectors("hlc")


def _ids(cases):
    return [c["name"] for c in cases]


@pytest.mark.parametrize("case", V["parse"], ids=_ids(V["parse"]))
def test_r14_parse_vectors(case):
    if case.get("error"):
        with pytest.raises(hlc.HLCError):
            hlc.parse(case["in"])
    else:
        assert hlc.parse(case["in"])._asdict() == case["out"]


@pytest.mark.parametrize("case", V["format"], ids=_ids(V["format"]))
def test_r14_format_vectors(case):
    args = (case["wall_ms"], case["counter"], case["node"])
    if case.get("error"):
        with pytest.raises(hlc.HLCError):
            hlc.format(*args)
    else:
        assert hlc.format(*args) == case["out"]


@pytest.mark.parametrize("case", V["compare"], ids=_ids(V["compare"]))
def test_r14_compare_vectors(case):
    if case.get("error"):
        with pytest.raises(hlc.HLCError):
            hlc.compare(case["a"], case["b"])
        return
    assert hlc.compare(case["a"], case["b"]) == case["out"]
    # The encoding's promise: plain string order is clock order.
    assert (case["a"] > case["b"]) - (case["a"] < case["b"]) == case["out"]


@pytest.mark.parametrize("case", V["tick"], ids=_ids(V["tick"]))
def test_r14_tick_vectors(case):
    if case.get("error"):
        with pytest.raises(hlc.HLCError):
            hlc.tick(case["prev"], case["now_ms"], case["node"])
    else:
        assert hlc.tick(case["prev"], case["now_ms"], case["node"]) == case["out"]


@pytest.mark.parametrize("case", V["receive"], ids=_ids(V["receive"]))
def test_r14_receive_vectors(case):
    args = (case["prev"], case["remote"], case["now_ms"], case["node"])
    if case.get("error"):
        with pytest.raises(hlc.HLCError):
            hlc.receive(*args)
    else:
        assert hlc.receive(*args) == case["out"]


@pytest.mark.parametrize("case", V["clamp"], ids=_ids(V["clamp"]))
def test_r15_clamp_vectors(case):
    kwargs = {"max_ahead_ms": case["max_ahead_ms"]} if "max_ahead_ms" in case else {}
    if case.get("error"):
        with pytest.raises(hlc.HLCError):
            hlc.clamp(case["stamp"], case["server_now_ms"], **kwargs)
    else:
        assert hlc.clamp(case["stamp"], case["server_now_ms"], **kwargs) == case["out"]


walls = st.integers(0, 10**13)
counters = st.integers(0, hlc.MAX_COUNTER)
nodes = st.sampled_from(["a", "b", "server", "a1b2c3d4-0000-4000-8000-00000000000a"])
stamps = st.builds(hlc.format, walls, counters, nodes)


@given(stamps, stamps)
def test_r14_string_order_is_clock_order(a, b):
    assert hlc.compare(a, b) == (a > b) - (a < b)


@given(st.lists(st.tuples(st.booleans(), walls, stamps), min_size=1, max_size=30))
def test_r14_clock_never_goes_back(events):
    """Ticks and receives always move the clock strictly forward, and past any stamp received."""
    clock = None
    for is_receive, now, remote in events:
        nxt = hlc.receive(clock, remote, now, "a") if is_receive else hlc.tick(clock, now, "a")
        if clock is not None:
            assert hlc.compare(nxt, clock) > 0
        if is_receive:
            assert hlc.parse(nxt)[:2] > hlc.parse(remote)[:2]
        assert hlc.parse(nxt).wall_ms >= now
        clock = nxt
