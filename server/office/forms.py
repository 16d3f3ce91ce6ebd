"""Which periods a report covers."""

from __future__ import annotations

from marshmallow import ValidationError, validate, validates_schema

from server.web.forms import FormSchema, choice, date_field, integer


class ReportQuery(FormSchema):
    """Which periods a report covers: the last `count` (or `weeks`) periods, or a day range."""

    period = choice(["week", "month", "quarter"], load_default="week")
    weeks = integer(validate=validate.Range(min=1, max=52, error="form.err.range"))
    count = integer(validate=validate.Range(min=1, max=52, error="form.err.range"))
    start = date_field(data_key="from")
    end = date_field(data_key="to")

    @validates_schema(skip_on_field_errors=False)
    def _order(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise ValidationError("form.err.date_order", "to")
        if data.get("start") and data.get("end") and (data["end"] - data["start"]).days > 3660:
            raise ValidationError("form.err.range", "to")
