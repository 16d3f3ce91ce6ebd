"""Bounds every loaded field gets, whatever schema or form it is in.

A schema built on `GuardedSchema` (StrictSchema, the office and finance forms) has, on each of
its fields: integers within a 32-bit column, dates and times within the years the app handles,
text without NUL or lone surrogates (which PostgreSQL and UTF-8 cannot store). One place, so
no route needs its own patch.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from sync import limits

# Ids and counts are INTEGER columns on PostgreSQL (and SQLite refuses beyond 64 bits).
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
# Years the app handles: a zone shift or a day after either end must not overflow.
YEAR_MIN = 1900
YEAR_MAX = 2199
YEAR_MESSAGE = f"Must be between the years {YEAR_MIN} and {YEAR_MAX}."


def text_problem(value: str) -> str | None:
    """What makes a text unstorable, as a sentence for a form, or None (rule: sync.limits)."""
    problem = limits.text_problem(value)
    return None if problem is None else problem[:1].upper() + problem[1:] + "."


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValidationError(problem)


def year_ok(value: date | datetime) -> bool:
    """Whether the app can do arithmetic on this date (for dates parsed outside schemas)."""
    return YEAR_MIN <= value.year <= YEAR_MAX


def _check_year(value: Any) -> None:
    if isinstance(value, date | datetime) and not year_ok(value):
        raise ValidationError(YEAR_MESSAGE)


_INT_RANGE = validate.Range(min=INT_MIN, max=INT_MAX)


def guard(field: fields.Field) -> None:
    """Add the bounds that fit the field's kind (once), and to the fields it contains."""
    if getattr(field, "_onsite_guarded", False):
        return
    field._onsite_guarded = True  # type: ignore[attr-defined]
    extra: list = []
    if isinstance(field, fields.Integer):
        extra.append(_INT_RANGE)
    elif isinstance(field, fields.String):
        extra.append(_check_text)
    elif isinstance(field, fields.Date | fields.DateTime):
        extra.append(_check_year)
    if extra:
        field.validators = [*field.validators, *extra]
    if isinstance(field, fields.List):
        guard(field.inner)
    elif isinstance(field, fields.Tuple):
        for inner in field.tuple_fields:
            guard(inner)
    elif isinstance(field, fields.Dict):
        if field.key_field is not None:
            guard(field.key_field)
        if field.value_field is not None:
            guard(field.value_field)


class GuardedSchema(Schema):
    """A schema whose fields all get the bounds above."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        super().on_bind_field(field_name, field_obj)
        guard(field_obj)


def form_problems(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Check query-string or form fields a view may read without a schema.

    Text must be storable; a field named like an id (`id`, `*_id`, `*_ids`, `page`) must, when
    it is digits, fit an id column.
    """
    problems: dict[str, list[str]] = {}
    for name, value in pairs:
        problem = text_problem(name) or text_problem(value)
        if problem is None and value.isascii() and value.isdigit():
            id_like = name in ("id", "page") or name.endswith(("_id", "_ids"))
            if id_like and int(value) > INT_MAX:
                problem = f"Must be at most {INT_MAX}."
        if problem:
            problems.setdefault(name if text_problem(name) is None else "_name", []).append(problem)
    return problems
