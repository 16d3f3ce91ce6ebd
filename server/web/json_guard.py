"""Every JSON request body of the app is refused with a 400 when it nests too deeply.

Python's JSON parser recurses: a body nested 50,000 deep raises RecursionError (a 500), and a body
a few hundred deep parses but then wears out every recursive walk after it (schemas, storage).
The app's JSON provider checks the depth of whatever it parses against the limits table, so the
caller gets the one error shape, whichever view reads the body.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from server.errors import ApiError
from sync.limits import MAX_JSON_DEPTH


def depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Tell whether a parsed JSON value nests deeper than limit (iteratively: no recursion).

    Only containers go on the stack: a push is mostly scalars, and this runs on every request.
    """
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _too_deep() -> ApiError:
    return ApiError(
        400,
        f"The JSON body nests more than {MAX_JSON_DEPTH} levels deep.",
        {"_body": [f"Nested deeper than {MAX_JSON_DEPTH} levels."]},
    )


class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing bodies nested deeper than MAX_JSON_DEPTH."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise _too_deep() from None
        if depth_exceeds(value):
            raise _too_deep()
        return value


def init_app(app: Flask) -> None:
    """Use the guarded provider for every request (and response) of the app."""
    provider = GuardedJSONProvider(app)
    # Keep the settings the app already chose for its responses.
    provider.ensure_ascii = app.json.ensure_ascii
    provider.sort_keys = app.json.sort_keys
    provider.compact = app.json.compact
    app.json = provider
