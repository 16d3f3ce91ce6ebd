"""What the register pages' forms accept: registering, steps, dispatch, results, call-backs,
the board's filters and the register's CSV query.
"""

from __future__ import annotations

from marshmallow import ValidationError, validate, validates_schema

from server.register.models import Channel, Level, RequestStatus
from server.web.forms import (
    FormSchema,
    LocalDateTime,
    Yuan,
    boolean,
    check_window,
    choice,
    date_field,
    integer,
    text,
)


class RegisterForm(FormSchema):
    customer_id = integer()
    new_customer_name = text(200)
    new_customer_contact = text(120)
    new_customer_phone = text(40)
    new_customer_address = text(400)
    equipment_id = integer()
    contact_name = text(120)
    contact_phone = text(40)
    address = text(400)
    problem = text(400, required=True)
    symptoms = text(4000)
    channel = choice(list(Channel), required=True)
    severity = choice(list(Level), load_default=Level.NORMAL.value)
    urgency = choice(list(Level), load_default=Level.NORMAL.value)
    needs_visit = boolean()
    received_at = LocalDateTime()
    confirm_duplicate = boolean()

    @validates_schema(skip_on_field_errors=False)
    def _customer(self, data, **kwargs):
        if data.get("customer_id") is None and not data.get("new_customer_name"):
            raise ValidationError("form.err.customer_needed", "new_customer_name")


class EventForm(FormSchema):
    at = LocalDateTime()
    note = text(2000)


class ScheduleForm(FormSchema):
    engineer_id = integer()
    window_start = LocalDateTime()
    window_end = LocalDateTime()
    purpose = choice(["repair", "return_visit", "follow_up"], load_default="repair")
    onsite_fee_fen = Yuan(data_key="onsite_fee")
    inspection_only = boolean()
    notes = text(4000)

    @validates_schema(skip_on_field_errors=False)
    def _window(self, data, **kwargs):
        check_window(data)


class VisitUpdateForm(FormSchema):
    engineer_id = integer()
    window_start = LocalDateTime()
    window_end = LocalDateTime()
    onsite_fee_fen = Yuan(data_key="onsite_fee")
    inspection_only = boolean()
    notes = text(4000)

    @validates_schema(skip_on_field_errors=False)
    def _window(self, data, **kwargs):
        check_window(data)


class TriageForm(FormSchema):
    """Re-triage from the request page (S11): how grave, how urgent, whether a visit is needed."""

    severity = choice(list(Level), required=True)
    urgency = choice(list(Level), required=True)
    needs_visit = boolean()
    sla_note = text(4000)


class ResultForm(FormSchema):
    result = text(4000, required=True)
    status = choice(
        [RequestStatus.RESOLVED, RequestStatus.ESCALATED, RequestStatus.CLOSED], required=True
    )


class CallbackForm(FormSchema):
    called_at = LocalDateTime()
    reached = choice(["yes", "no"], required=True)
    satisfied = choice(["yes", "no", "unknown"], load_default="unknown")
    notes = text(4000)


class BoardFilter(FormSchema):
    status = choice([s.value for s in RequestStatus])
    engineer_id = integer()
    customer = text(100)
    channel = choice(list(Channel))


class RegisterQuery(BoardFilter):
    q = text(100)
    page = integer(
        load_default=1, validate=validate.Range(min=1, max=100000, error="form.err.range")
    )


class CsvQuery(FormSchema):
    start = date_field(data_key="from")
    end = date_field(data_key="to")

    @validates_schema(skip_on_field_errors=False)
    def _order(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise ValidationError("form.err.date_order", "to")
