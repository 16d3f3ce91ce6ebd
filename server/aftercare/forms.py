"""What the after-visit pages' forms accept: returned parts, complaints, follow-ups."""

from __future__ import annotations

from marshmallow import validate, validates_schema

from server.aftercare.models import PartDisposition
from server.web.forms import (
    FormSchema,
    LocalDateTime,
    check_window,
    choice,
    date_field,
    integer,
    text,
)


class PartHandleForm(FormSchema):
    disposition = choice(list(PartDisposition), required=True)
    note = text(2000)


COMPLAINT_CHANNELS = ("hotline", "email", "fax", "in_person", "feedback_form", "callback")


class ComplaintForm(FormSchema):
    customer_id = integer(required=True)
    request_id = integer()
    received_at = LocalDateTime()
    channel = choice(COMPLAINT_CHANNELS, required=True)
    summary = text(200, required=True)
    details = text(4000)


class FollowUpForm(FormSchema):
    customer_id = integer(required=True)
    request_id = integer()
    equipment_id = integer()
    kind = choice(["follow_up", "return_visit"], required=True)
    due_on = date_field(required=True)
    interval_months = integer(validate=validate.Range(min=1, max=60, error="form.err.range"))
    reason = text(2000, required=True)


class BookForm(FormSchema):
    engineer_id = integer()
    window_start = LocalDateTime()
    window_end = LocalDateTime()

    @validates_schema(skip_on_field_errors=False)
    def _window(self, data, **kwargs):
        check_window(data)
