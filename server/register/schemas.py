"""The service register on the wire."""

from marshmallow import ValidationError, fields, validate, validates_schema

from server.register.models import Channel, Level, RequestStatus
from server.web.api_schemas import AwareDateTime, StrictSchema, one_of, text


class CallbackSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    called_at = AwareDateTime(load_default=None)
    called_by_id = fields.Integer(dump_only=True)
    reached = fields.Boolean(load_default=True)
    satisfied = fields.Boolean(allow_none=True, load_default=None)
    notes = text(4000)


class SlaClockSchema(StrictSchema):
    due = AwareDateTime(allow_none=True)
    done_at = AwareDateTime(allow_none=True)
    state = fields.String()
    minutes = fields.Integer(allow_none=True)


class RequestCreateSchema(StrictSchema):
    customer_id = fields.Integer(required=True)
    equipment_id = fields.Integer(allow_none=True, load_default=None)
    contact_name = text(120)
    contact_phone = text(40)
    address = text(400)
    problem = text(400, required=True)
    symptoms = text(4000)
    channel = one_of(list(Channel), required=True)
    severity = one_of(list(Level), load_default=Level.NORMAL.value)
    urgency = one_of(list(Level), load_default=Level.NORMAL.value)
    needs_visit = fields.Boolean(load_default=True)
    received_at = AwareDateTime(load_default=None)


class TriageSchema(StrictSchema):
    severity = one_of(list(Level))
    urgency = one_of(list(Level))
    needs_visit = fields.Boolean()
    sla_note = text(2000)

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Give at least one field to change.", "_schema")


class RequestEventSchema(StrictSchema):
    """A step that happened at a time: phone response, remote consent or login, delay notice."""

    at = AwareDateTime(load_default=None)
    note = text(2000)


class ResultSchema(StrictSchema):
    result = text(4000, required=True)
    status = one_of(
        [RequestStatus.RESOLVED, RequestStatus.ESCALATED, RequestStatus.CLOSED], required=True
    )


class RequestSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True)
    customer_id = fields.Integer()
    customer_name = fields.String(attribute="customer.name", dump_only=True)
    equipment_id = fields.Integer(allow_none=True)
    contact_name = fields.String()
    contact_phone = fields.String()
    address = fields.String()
    problem = fields.String()
    symptoms = fields.String(allow_none=True)
    channel = fields.String()
    severity = fields.String()
    urgency = fields.String()
    status = fields.String()
    needs_visit = fields.Boolean()
    received_at = AwareDateTime()
    phone_response_at = AwareDateTime(allow_none=True)
    remote_consent_at = AwareDateTime(allow_none=True)
    remote_login_at = AwareDateTime(allow_none=True)
    first_arrival_at = AwareDateTime(allow_none=True)
    delay_notified_at = AwareDateTime(allow_none=True)
    sla_note = fields.String(allow_none=True)
    result = fields.String(allow_none=True)
    resolved_at = AwareDateTime(allow_none=True)
    closed_at = AwareDateTime(allow_none=True)
    created_at = AwareDateTime()
    sla = fields.Dict(keys=fields.String(), values=fields.Nested(SlaClockSchema), dump_only=True)
    callbacks = fields.List(fields.Nested(CallbackSchema), dump_only=True)


class RequestQuery(StrictSchema):
    status = one_of(list(RequestStatus))
    customer_id = fields.Integer()
    channel = one_of(list(Channel))
    open = fields.Boolean()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
