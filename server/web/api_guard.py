"""Checks every JSON API request shares: a JSON body where one is expected."""

from flask import Flask, request

from server.errors import ApiError

# Raw uploads (blobs) carry their own content type.
RAW_BODY_ENDPOINTS: set[str] = set()


def init_app(app: Flask) -> None:
    """Refuse a write to the API whose body is not JSON, before any view runs."""

    @app.before_request
    def _require_json() -> None:
        if not request.path.startswith("/api/") or request.method not in ("POST", "PUT", "PATCH"):
            return
        if request.endpoint in RAW_BODY_ENDPOINTS:
            return
        if request.content_length in (None, 0) and not request.data:
            if request.method == "PATCH":
                raise ApiError(422, "Send the fields to change.", {"_body": ["Empty."]})
            return
        if not request.is_json:
            raise ApiError(
                415,
                "Send a JSON body with Content-Type: application/json.",
                {"_body": ["Not JSON."]},
            )
        body = request.get_json(silent=True)
        if body is None:
            raise ApiError(400, "The body is not valid JSON.", {"_body": ["Malformed JSON."]})
        if request.method == "PATCH" and body == {}:
            # A change of nothing is a client's mistake, not a success.
            raise ApiError(422, "Send the fields to change.", {"_body": ["Nothing to change."]})
