"""What the office pages' HTML forms accept: marshmallow schemas for form fields, and the state
a form is redrawn with (values and the errors beside each field).

Forms send strings: blanks are dropped before loading so that defaults and "required" apply;
``datetime-local`` inputs carry no zone and are read as company (Shanghai) time; money is typed
in yuan and held in integer fen. Error messages are catalogue keys where we write them, and the
marshmallow defaults are mapped onto keys, so errors appear in the page's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import g, request
from marshmallow import EXCLUDE, ValidationError, fields, validate
from werkzeug.datastructures import MultiDict

from server.domain.charges import parse_yuan
from server.domain.timezone import COMPANY_TZ
from server.errors import ApiError, say
from server.extensions import db
from server.i18n import is_message_key, translate
from server.web.guard import GuardedSchema
from sync.limits import MAX_FEN

REQUIRED = {"required": "form.err.required", "null": "form.err.required"}


class FormSchema(GuardedSchema):
    """A form's fields; anything else the browser sends (buttons, the CSRF token) is ignored."""

    class Meta:
        unknown = EXCLUDE


def text(max_len: int, required: bool = False, **kwargs: Any) -> fields.String:
    """A string field with a length cap; blank counts as missing."""
    return fields.String(
        required=required,
        validate=validate.Length(max=max_len, error="form.err.too_long"),
        error_messages=REQUIRED,
        **kwargs,
    )


def choice(values, required: bool = False, **kwargs: Any) -> fields.String:
    """A string limited to some values."""
    return fields.String(
        required=required,
        validate=validate.OneOf([str(v) for v in values], error="form.err.choice"),
        error_messages=REQUIRED,
        **kwargs,
    )


def integer(required: bool = False, **kwargs: Any) -> fields.Integer:
    return fields.Integer(
        required=required,
        strict=False,
        error_messages={**REQUIRED, "invalid": "form.err.integer"},
        **kwargs,
    )


def date_field(required: bool = False, **kwargs: Any) -> fields.Date:
    return fields.Date(
        required=required, error_messages={**REQUIRED, "invalid": "form.err.date"}, **kwargs
    )


def boolean(**kwargs: Any) -> fields.Boolean:
    """A checkbox: present means true, absent means false."""
    return fields.Boolean(
        load_default=False, error_messages={"invalid": "form.err.choice"}, **kwargs
    )


class LocalDateTime(fields.Field):
    """A ``datetime-local`` input, read as Shanghai time and returned in UTC (an offset is kept)."""

    default_error_messages: ClassVar[dict[str, str]] = {**REQUIRED, "invalid": "form.err.datetime"}

    def _deserialize(self, value: Any, attr, data, **kwargs) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise self.make_error("invalid") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=COMPANY_TZ)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise self.make_error("invalid") from None


class Yuan(fields.Field):
    """An amount typed in yuan, returned as integer fen: domain.charges.parse_yuan, up to the
    most an op may carry (the phone's parseYuan stops at the same figure)."""

    default_error_messages: ClassVar[dict[str, str]] = {**REQUIRED, "invalid": "form.err.money"}

    def _deserialize(self, value: Any, attr, data, **kwargs) -> int:
        try:
            return parse_yuan(str(value), MAX_FEN)
        except ValueError:
            raise self.make_error("invalid") from None


class TextList(fields.List):
    """Several values of one name (ticked checkboxes), each a bounded string."""

    def __init__(self, max_len: int, **kwargs: Any) -> None:
        super().__init__(
            fields.String(validate=validate.Length(max=max_len, error="form.err.too_long")),
            load_default=list,
            **kwargs,
        )


def form_input(form: MultiDict, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the submitted fields trimmed, leaving out blanks and the CSRF token.

    A name in `lists` keeps every value sent under it (ticked checkboxes), blanks dropped.
    """
    # A list is there even when nothing is ticked: the browser then sends no value at all.
    data: dict[str, Any] = {
        key: [v.strip() for v in form.getlist(key) if v.strip()] for key in lists
    }
    for key in form:
        if key == "csrf_token" or key in lists:
            continue
        value = (form.get(key) or "").strip()
        if value:
            data[key] = value
    return data


# --- errors in the page's language ---

_MARSHMALLOW = [
    (re.compile(r"^Missing data for required field\.$"), "form.err.required"),
    (re.compile(r"^Field may not be null\.$"), "form.err.required"),
    (re.compile(r"^Must not be empty\.$"), "form.err.required"),
    (re.compile(r"^Not a valid integer\.$"), "form.err.integer"),
    (re.compile(r"^Must be one of"), "form.err.choice"),
    (re.compile(r"^Longer than maximum length"), "form.err.too_long"),
    (re.compile(r"^Must be (greater|less) than"), "form.err.range"),
    (re.compile(r"^Not a valid date\.$"), "form.err.date"),
]


def _localise(message: str) -> str:
    if is_message_key(message):
        return say(message)
    for pattern, key in _MARSHMALLOW:
        if pattern.search(message):
            return translate(key)
    return message


def localise_errors(messages: Any) -> dict[str, list[str]]:
    """Flatten marshmallow or ApiError messages into {field: [message in the page's language]}."""
    if not isinstance(messages, dict):
        messages = {"_schema": messages}
    out: dict[str, list[str]] = {}
    for name, problems in messages.items():
        if isinstance(problems, dict):
            problems = [str(p) for p in problems.values()]
        elif not isinstance(problems, list):
            problems = [str(problems)]
        out[str(name)] = [_localise(p if isinstance(p, str) else str(p)) for p in problems]
    return out


class FormState:
    """A form as it is drawn: submitted (or default) values and the errors beside each field."""

    def __init__(
        self,
        prefix: str,
        values: dict[str, Any] | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        self.prefix = prefix
        self.values = values or {}
        self.errors = errors or {}
        # Anything else the redrawn page needs to explain the error (e.g. the duplicates found).
        self.extra: dict[str, Any] = {}

    def id(self, name: str) -> str:
        return f"{self.prefix}-{name}".replace("_", "-")

    def value(self, name: str, default: Any = "") -> Any:
        value = self.values.get(name)
        return default if value is None else value

    def errors_for(self, name: str) -> list[str]:
        return self.errors.get(name, [])

    @property
    def general_errors(self) -> list[str]:
        return self.errors.get("_schema", [])

    @property
    def invalid(self) -> bool:
        return bool(self.errors)


# --- the forms ---


class EmptyForm(FormSchema):
    """A form that is only a button: nothing to load but the CSRF token, checked before."""


def check_window(data: dict) -> None:
    start, end = data.get("window_start"), data.get("window_end")
    if start and end and end <= start:
        raise ValidationError("form.err.window", "window_end")


class NoteForm(FormSchema):
    note = text(4000, required=True)


class OptionalNoteForm(FormSchema):
    note = text(4000)


class PageQuery(FormSchema):
    page = integer(
        load_default=1, validate=validate.Range(min=1, max=100000, error="form.err.range")
    )


def submit(
    schema,
    prefix: str,
    action: Callable[[dict[str, Any]], Any],
    redraw: Callable[[FormState, int], Any],
    *,
    lists: tuple[str, ...] = (),
    shown: tuple[int, ...] = (409, 422),
    extra_errors: Callable[[ApiError], dict[str, Any]] | None = None,
):
    """Load a form, run one operation and commit; on bad input roll back and redraw the form.

    The one form cycle of every server-rendered page: what the operation refuses with a status
    in `shown` (409 or 422) comes back beside its field (or at the top of the page), nothing
    half-saved. `lists` names the fields sent several times (ticked checkboxes).
    """
    values = form_input(request.form, lists)
    try:
        data = schema.load(values)
        result = action(data)
        db.session.commit()
        return result
    except ValidationError as exc:
        db.session.rollback()
        return redraw(FormState(prefix, values, localise_errors(exc.messages)), 422)
    except ApiError as exc:
        db.session.rollback()
        if exc.status not in shown:
            raise
        errors = localise_errors(exc.fields) if exc.fields else {"_schema": [exc.text()]}
        # Said at the top of the page too: the form may not be drawn any more (already done).
        g.setdefault("form_alerts", []).extend(errors.get("_schema", []))
        state = FormState(prefix, values, errors)
        if extra_errors is not None:
            state.extra = extra_errors(exc)
        return redraw(state, exc.status)
