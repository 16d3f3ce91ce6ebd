"""One error shape for every failure: JSON for API callers, an HTML page for browsers.

The JSON body is ``{"status": 422, "error": "unprocessable", "message": "...",
"fields": {"name": ["..."]}}``; ``fields`` is present when specific input fields are at fault.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from server.extensions import db
from server.i18n import is_message_key, translate

# PostgreSQL's SQLSTATEs for a transaction that lost to another at the same moment: a deadlock,
# a serialization failure, a lock it would not wait for. Nothing of it was saved, and the same
# request sent again may well succeed: the caller gets a 409, not a 500.
LOST_RACE_STATES = frozenset({"40P01", "40001", "55P03"})


def lost_race(exc: BaseException) -> bool:
    """Tell whether a database error says the transaction lost to another at the same moment."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in LOST_RACE_STATES


def cannot_connect(exc: DBAPIError) -> bool:
    """Tell whether a database error is a failure to connect: no statement had been sent, and
    the server gave no SQLSTATE (it never answered). A COMMIT that fails has no statement
    either, but the server's answer carries a SQLSTATE; SQLite's errors carry none at all."""
    return (
        isinstance(exc, OperationalError)
        and exc.statement is None
        and getattr(exc.orig, "sqlstate", "") is None
    )


class ApiError(Exception):
    """An error a client can act on; raised by operations and turned into the one shape.

    Operations give `message` and each field's problems as catalogue keys (``err.*``,
    ``form.err.*``), with `params` for the message's placeholders: a page says them in its
    language, the JSON API in English (with the key beside, for clients that translate).
    """

    def __init__(
        self,
        status: int,
        message: str,
        fields: dict[str, Any] | None = None,
        error: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields
        self.error = error
        self.extra = extra or {}
        self.headers = headers or {}
        self.params = params or {}

    def text(self, locale: str | None = None) -> str:
        """The message in words: its catalogue text (or the message itself, if not a key)."""
        return say(self.message, locale, **self.params)


class Msg(str):
    """A message key with the values of its placeholders, usable wherever a string is: as an
    ApiError's message or as one of a field's problems (`Msg("err.x", receipt="A-0001")`).
    """

    params: dict[str, Any]

    def __new__(cls, key: str, **params: Any) -> Msg:
        message = super().__new__(cls, key)
        message.params = params
        return message


def say(message: str, locale: str | None = None, **params: Any) -> str:
    """Return a message key in words (a sentence that is not a key is returned as it is)."""
    if isinstance(message, Msg):
        params = {**message.params, **params}
    return translate(message, locale, **params) if is_message_key(message) else str(message)


def said_fields(fields: Any, locale: str | None = None) -> Any:
    """Return the field problems with every catalogue key in words."""
    if isinstance(fields, dict):
        return {name: said_fields(value, locale) for name, value in fields.items()}
    if isinstance(fields, list):
        return [said_fields(value, locale) for value in fields]
    return say(fields, locale) if isinstance(fields, str) else fields


def _code(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        415: "unsupported_media_type",
        422: "unprocessable",
        426: "upgrade_required",
        429: "too_many_requests",
        503: "unavailable",
    }.get(status, "server_error" if status >= 500 else "error")


def wants_json() -> bool:
    """Tell whether the caller is an API client rather than a person with a browser."""
    if request.path.startswith(("/api/", "/healthz")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def error_response(
    status: int,
    message: str,
    fields: dict[str, Any] | None = None,
    error: str | None = None,
    extra: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
):
    """Build the response for an error, JSON or HTML as the caller prefers.

    `message` and the field problems may be catalogue keys: JSON says them in English with the
    key beside (`message_key`), a page in its own language.
    """
    params = params or {}
    if wants_json():
        body: dict[str, Any] = {
            "status": status,
            "error": error or _code(status),
            "message": say(message, "en", **params),
        }
        if is_message_key(message):
            body["message_key"] = message
        if fields:
            body["fields"] = said_fields(fields, "en")
        body.update(extra or {})
        return jsonify(body), status
    return render_template(
        "error.html",
        status=status,
        message=say(message, None, **params),
        fields=said_fields(fields) if fields else None,
    ), status


def _fields_from_webargs(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """Flatten webargs' {"json": {...}, "query": {...}} into the fields at fault."""
    if not data:
        return None
    messages = data.get("messages") or data.get("errors")
    if not isinstance(messages, dict):
        return None
    fields: dict[str, Any] = {}
    for location, value in messages.items():
        if isinstance(value, dict):
            fields.update(value)
        else:
            fields[location] = value
    return fields or None


def _summary(fields: dict[str, Any] | None, default: str) -> str:
    if not fields:
        return default
    name, problems = next(iter(fields.items()))
    if isinstance(problems, list) and problems and isinstance(problems[0], str):
        detail = problems[0]
    elif isinstance(problems, dict):
        inner = next(iter(problems.items()))
        detail = f"{inner[0]}: {inner[1]}"
    else:
        detail = str(problems)
    more = f" (and {len(fields) - 1} more)" if len(fields) > 1 else ""
    return f"Invalid field '{name}': {detail}{more}"


def init_app(app: Flask) -> None:
    """Register the handlers that give every failure the one shape."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        db.session.rollback()
        response, status = error_response(
            exc.status, exc.message, exc.fields, exc.error, exc.extra, exc.params
        )
        return response, status, exc.headers

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError):
        db.session.rollback()
        fields = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return error_response(422, _summary(fields, "Invalid input"), fields)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        db.session.rollback()
        status = exc.code or 500
        fields = _fields_from_webargs(getattr(exc, "data", None))
        message = _summary(fields, exc.description or exc.name) if fields else exc.description
        response, status = error_response(status, message or exc.name, fields)
        # Keep what the exception says of itself beyond the body: Allow on a 405, above all.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return response, status, headers

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):
        if lost_race(exc):  # before the rest: a serialization failure at COMMIT has no statement
            db.session.rollback()
            return error_response(409, "err.same_moment")
        if exc.connection_invalidated or cannot_connect(exc):
            # The database went away under this request (a restart, say) or cannot be reached:
            # SQLAlchemy has dropped the dead connections; the next try connects afresh. (A
            # connection lost during COMMIT leaves its outcome unknown, so the first message
            # does not say nothing was saved; a phone's ops are applied once however often sent.)
            db.session.rollback()
            lost = exc.connection_invalidated
            key = "err.database_reconnecting" if lost else "err.database_unavailable"
            response, status = error_response(503, key)
            return response, status, {"Retry-After": "1"}
        raise exc  # a fault of ours: Flask logs it and answers with the 500 below

    @app.errorhandler(InternalServerError)
    def _server_error(exc: InternalServerError):
        db.session.rollback()
        return error_response(500, "Something went wrong on the server; nothing was saved.")
