"""Pieces every schema uses: strict base, aware datetimes, pagination."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from server.web.guard import YEAR_MESSAGE, GuardedSchema


class StrictSchema(GuardedSchema):
    """Refuse unknown fields, so a typo never silently drops data."""

    class Meta:
        unknown = RAISE


class AwareDateTime(fields.AwareDateTime):
    """An ISO 8601 time that must carry its zone; returned in UTC."""

    def __init__(self, **kwargs) -> None:
        super().__init__(format="iso", default_timezone=None, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            return result.astimezone(UTC)
        except OverflowError:  # year 1 east of UTC, 9999 west of it
            raise ValidationError(YEAR_MESSAGE) from None


def text(max_len: int, required: bool = False, **kwargs) -> fields.String:
    """A trimmed string with a length cap (and not blank when required)."""
    validators = [validate.Length(max=max_len)]
    if required:
        validators.append(validate.Length(min=1, error="Must not be empty."))
    return fields.String(
        required=required,
        validate=validators,
        allow_none=not required,
        **kwargs,
    )


def one_of(choices, required: bool = False, **kwargs) -> fields.String:
    """A string limited to a set of values."""
    return fields.String(
        required=required, validate=validate.OneOf([str(c) for c in choices]), **kwargs
    )


class PageMeta(Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


def page_of(item_schema: type[Schema], name: str) -> type[Schema]:
    """Make the envelope schema for a page of items."""
    return Schema.from_dict(
        {"items": fields.List(fields.Nested(item_schema)), "meta": fields.Nested(PageMeta)},
        name=name,
    )


class ErrorSchema(Schema):
    status = fields.Integer(required=True)
    error = fields.String(required=True)
    message = fields.String(required=True)
    # The catalogue key of `message`, for a client that says it in its own language.
    message_key = fields.String()
    fields_ = fields.Dict(data_key="fields")
    # Seconds to wait, on a 429 (also sent as the Retry-After header).
    retry_after = fields.Integer()
