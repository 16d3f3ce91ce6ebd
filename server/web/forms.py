"""What the office pages' HTML forms accept: marshmallow schemas for form fields, and the state
a form is redrawn with (values and the errors beside each field).

Forms send strings: blanks are dropped before loading so that defaults and "required" apply;
``datetime-local`` inputs carry no zone and are read as company (Shanghai) time; money is typed
in yuan and held in integer fen. Error messages are catalogue keys where we write them, and the
marshmallow defaults are mapped onto keys, so errors appear in the page's language.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from marshmallow import EXCLUDE, ValidationError, fields, validate
from werkzeug.datastructures import MultiDict

from server.domain.timezone import COMPANY_TZ
from server.i18n import translate
from server.web.guard import GuardedSchema

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
    """An amount typed in yuan (up to two decimals), returned as integer fen."""

    default_error_messages: ClassVar[dict[str, str]] = {**REQUIRED, "invalid": "form.err.money"}

    def _deserialize(self, value: Any, attr, data, **kwargs) -> int:
        try:
            amount = Decimal(str(value).replace(",", "").replace("¥", "").strip())
        except InvalidOperation:
            raise self.make_error("invalid") from None
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
            raise self.make_error("invalid")
        if amount > 10_000_000:
            raise self.make_error("invalid")
        return int(amount * 100)


def form_input(form: MultiDict) -> dict[str, str]:
    """Return the submitted fields trimmed, leaving out blanks and the CSRF token."""
    data: dict[str, str] = {}
    for key in form:
        if key == "csrf_token":
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
    # Messages raised by the shared register and dispatch operations.
    (re.compile(r"^Must not be in the future\.$"), "form.err.future"),
    (re.compile(r"^Must not be before the request was received\.$"), "form.err.before_received"),
    (re.compile(r"^Must not be before the customer's consent\.$"), "form.err.before_consent"),
    (re.compile(r"^Required: the customer record has none"), "form.err.required_no_fallback"),
    (re.compile(r"^No such customer\.$"), "form.err.no_customer"),
    (re.compile(r"^No such equipment at this customer\.$"), "form.err.no_equipment"),
    (re.compile(r"^No such request for this customer\.$"), "form.err.no_request"),
    (re.compile(r"^No such active engineer\.$"), "form.err.no_engineer"),
    (
        re.compile(r"^(Must be after window_start\.|The window must end after it starts\.)$"),
        "form.err.window",
    ),
    (re.compile(r"^Only periodic return visits"), "form.err.only_return_visits_repeat"),
]


def _localise(message: str) -> str:
    if message.startswith("form.err."):
        return translate(message)
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
        out[str(name)] = [_localise(str(p)) for p in problems]
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
