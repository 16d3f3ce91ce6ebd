"""URL converters and plain fields: an `<int:...>` in any route, or an id in a query string or
form, holds only what an id column can; no query or form text carries NUL or a lone surrogate.

Werkzeug's own accepts any length of digits, which overflowed the database (a 500) for
`/api/visits/9223372036854775808`; beyond the bound the route does not match, so a 404.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from server.web.guard import INT_MAX, form_problems


class BoundedIntConverter(IntegerConverter):
    """A non-negative integer no larger than an INTEGER column holds."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def _schema(converter: BoundedIntConverter) -> dict:
    return {"type": "integer", "minimum": 0, "maximum": converter.max}


_registered = False


def init_app(app: Flask) -> None:
    """Install the converter before any route is declared, and describe it in the OpenAPI."""
    from server.extensions import api

    global _registered
    app.url_map.converters["int"] = BoundedIntConverter

    @app.before_request
    def _guard_plain_fields() -> None:
        # Office and finance views read some fields straight from the query or the form.
        from server.errors import ApiError

        pairs = list(request.args.items(multi=True))
        if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            pairs += list(request.form.items(multi=True))
        problems = form_problems(pairs)
        if problems:
            name = next(iter(problems))
            raise ApiError(422, f"Invalid field '{name}': {problems[name][0]}", problems)

    if not _registered:  # the Api is one object for every app; it keeps what it is given
        api.register_converter(BoundedIntConverter, _schema)
        _registered = True
