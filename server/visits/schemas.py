"""Visits on the wire."""

from marshmallow import ValidationError, fields, validate, validates_schema

from server.visits.models import VisitStatus
from server.web.api_schemas import AwareDateTime, StrictSchema, one_of, text


def _check_window(data: dict) -> None:
    start, end = data.get("window_start"), data.get("window_end")
    if start and end and end <= start:
        raise ValidationError("The window must end after it starts.", "window_end")


class VisitCreateSchema(StrictSchema):
    engineer_id = fields.Integer(allow_none=True, load_default=None)
    window_start = AwareDateTime(allow_none=True, load_default=None)
    window_end = AwareDateTime(allow_none=True, load_default=None)
    purpose = one_of(["repair", "return_visit", "follow_up"], load_default="repair")
    onsite_fee_fen = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=10**9))
    inspection_only = fields.Boolean(load_default=False)
    notes = text(4000)

    @validates_schema
    def _window(self, data, **kwargs):
        _check_window(data)


class VisitUpdateSchema(StrictSchema):
    engineer_id = fields.Integer(allow_none=True)
    window_start = AwareDateTime(allow_none=True)
    window_end = AwareDateTime(allow_none=True)
    onsite_fee_fen = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=10**9))
    inspection_only = fields.Boolean()
    notes = text(4000)

    @validates_schema
    def _window(self, data, **kwargs):
        if not data:
            raise ValidationError("Give at least one field to change.", "_schema")
        _check_window(data)


class VisitSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    request_id = fields.Integer()
    request_number = fields.String(attribute="request.number")
    visit_no = fields.Integer()
    engineer_id = fields.Integer(allow_none=True)
    engineer_name = fields.String(attribute="engineer.display_name", allow_none=True)
    purpose = fields.String()
    window_start = AwareDateTime(allow_none=True)
    window_end = AwareDateTime(allow_none=True)
    status = one_of(list(VisitStatus))
    arrived_at = AwareDateTime(allow_none=True)
    arrived_device_time = fields.String(allow_none=True)
    departed_at = AwareDateTime(allow_none=True)
    late_reason = fields.String(allow_none=True)
    customer_informed = fields.Boolean(allow_none=True)
    permission_granted = fields.Boolean(allow_none=True)
    outcome_summary = fields.String(allow_none=True)
    explanation = fields.String(allow_none=True)
    escalate = fields.Boolean()
    onsite_fee_fen = fields.Integer(allow_none=True)
    inspection_only = fields.Boolean()
    notes = fields.String(allow_none=True)
    created_at = AwareDateTime()
    updated_at = AwareDateTime()


class VisitQuery(StrictSchema):
    status = one_of(list(VisitStatus))
    engineer_id = fields.Integer()
    request_id = fields.Integer()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
