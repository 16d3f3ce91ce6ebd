"""Canonical JSON: the exact bytes both phone and server hash.

Keys sorted by code point, no whitespace, UTF-8, non-ASCII written as itself, integers only.
``static/js/core/canonical.js`` is the JavaScript twin; ``spec/vectors/digest.json`` checks both.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

# JavaScript numbers are exact only up to 2**53 - 1; larger integers would hash differently there.
MAX_SAFE_INTEGER = 2**53 - 1
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class CanonicalError(ValueError):
    """A value that has no canonical form; code is one of float, unsafe_integer, surrogate, type."""

    def __init__(self, code: str, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.code = code
        self.path = path


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalError("unsafe_integer", path, f"integer {value} exceeds 2**53-1")
        return
    if isinstance(value, float):
        raise CanonicalError("float", path, f"floats are not allowed (got {value!r}); use integers")
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value):
            raise CanonicalError("surrogate", path, "string contains a lone surrogate")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError("type", path, f"object key {key!r} is not a string")
            _check(key, f"{path}.<key>")
            _check(item, f"{path}.{key}")
        return
    raise CanonicalError("type", path, f"{type(value).__name__} has no JSON form")


def canonical_json(value: Any) -> str:
    """Return the canonical JSON text of value, raising CanonicalError for floats and the like."""
    _check(value, "$")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def sha256_hex(text: str) -> str:
    """Return the lowercase hex SHA-256 of text encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_digest(value: Any) -> str:
    """Return the SHA-256 hex of value's canonical JSON."""
    return sha256_hex(canonical_json(value))
