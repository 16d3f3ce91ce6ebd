"""Hybrid logical clock stamps as strings that sort in clock order.

Encoding: ``"{wall_ms:015d}-{counter:05d}-{node}"``. The node is the device id (or ``"server"``).
``static/js/core/hlc.js`` is the JavaScript twin; ``spec/vectors/hlc.json`` holds cases both check.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

MAX_WALL_MS = 10**15 - 1
MAX_COUNTER = 99_999
DEFAULT_MAX_AHEAD_MS = 60_000
SERVER_NODE = "server"

# Node ids are ASCII so that string order is the same in Python (code points) and JS (UTF-16 units).
# Digits are [0-9], not \d, which in Python also matches other scripts' digits.
_NODE_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_STAMP_RE = re.compile(r"([0-9]{15})-([0-9]{5})-([A-Za-z0-9._:-]{1,64})")


class HLCError(ValueError):
    """A stamp that cannot be parsed, or a clock that cannot advance."""


class Stamp(NamedTuple):
    """A parsed stamp; tuple order is clock order."""

    wall_ms: int
    counter: int
    node: str


def parse(stamp: str) -> Stamp:
    """Parse a stamp string, raising HLCError if it is malformed."""
    if not isinstance(stamp, str):
        raise HLCError("hlc must be a string")
    return _parse(stamp)


@lru_cache(maxsize=4096)  # a push compares each op's stamp with a few others: parse each once
def _parse(stamp: str) -> Stamp:
    m = _STAMP_RE.fullmatch(stamp)
    if m is None:
        raise HLCError(f"malformed hlc {stamp!r}: expected 15-digit wall, 5-digit counter, node")
    return Stamp(int(m.group(1)), int(m.group(2)), m.group(3))


def format(wall_ms: int, counter: int, node: str) -> str:
    """Encode a stamp, raising HLCError if a part is out of range."""
    if isinstance(wall_ms, bool) or not isinstance(wall_ms, int) or not 0 <= wall_ms <= MAX_WALL_MS:
        raise HLCError(f"wall_ms out of range: {wall_ms!r}")
    if isinstance(counter, bool) or not isinstance(counter, int) or not 0 <= counter <= MAX_COUNTER:
        raise HLCError(f"counter out of range: {counter!r}")
    if not isinstance(node, str) or _NODE_RE.fullmatch(node) is None:
        raise HLCError(f"invalid node {node!r}")
    return f"{wall_ms:015d}-{counter:05d}-{node}"


def compare(a: str, b: str) -> int:
    """Return -1, 0 or 1 as stamp a is before, equal to or after stamp b."""
    pa, pb = parse(a), parse(b)
    return (pa > pb) - (pa < pb)


def _next(wall_ms: int, counter: int, node: str) -> str:
    # A counter that would overflow moves the wall on by 1 ms instead: order is kept, format holds.
    if counter > MAX_COUNTER:
        return format(wall_ms + 1, 0, node)
    return format(wall_ms, counter, node)


def tick(prev: str | None, now_ms: int, node: str) -> str:
    """Return the stamp for a local event or send after prev, at physical time now_ms."""
    if prev is None:
        return format(now_ms, 0, node)
    p = parse(prev)
    if now_ms > p.wall_ms:
        return format(now_ms, 0, node)
    return _next(p.wall_ms, p.counter + 1, node)


def receive(prev: str | None, remote: str, now_ms: int, node: str) -> str:
    """Return the stamp after merging a remote stamp into local clock prev at time now_ms."""
    r = parse(remote)
    p = parse(prev) if prev is not None else Stamp(-1, -1, node)
    wall = max(p.wall_ms, r.wall_ms, now_ms)
    if wall == p.wall_ms and wall == r.wall_ms:
        counter = max(p.counter, r.counter) + 1
    elif wall == p.wall_ms:
        counter = p.counter + 1
    elif wall == r.wall_ms:
        counter = r.counter + 1
    else:
        counter = 0
    return _next(wall, counter, node)


def clamp(stamp: str, server_now_ms: int, max_ahead_ms: int = DEFAULT_MAX_AHEAD_MS) -> str:
    """Pull a stamp more than max_ahead_ms ahead of the server back to server_now_ms.

    The counter and node are kept, so a phone whose clock runs hours fast cannot win
    last-writer-wins merely by being wrong.
    """
    s = parse(stamp)
    if s.wall_ms > server_now_ms + max_ahead_ms:
        return format(server_now_ms, s.counter, s.node)
    return stamp
