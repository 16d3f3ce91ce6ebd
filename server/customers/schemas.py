"""Customers and their equipment on the wire."""

from marshmallow import fields, validate

from server.web.api_schemas import AwareDateTime, StrictSchema, text


class CustomerSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    name = text(200, required=True)
    contact_person = text(120)
    phone = text(40)
    mobile = text(40)
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    fax = text(40)
    address = text(400)
    notes = text(4000)
    created_at = AwareDateTime(dump_only=True)


class CustomerQuery(StrictSchema):
    q = text(100)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class WarrantySchema(StrictSchema):
    in_warranty = fields.Boolean()
    reason = fields.String()
    starts = fields.Date(allow_none=True)
    ends = fields.Date(allow_none=True)
    days_left = fields.Integer(allow_none=True)


class EquipmentSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    customer_id = fields.Integer(required=True)
    brand = text(120, required=True)
    model = text(120, required=True)
    serial_number = text(120)
    project_ref = text(120)
    location = text(200)
    acceptance_date = fields.Date(allow_none=True)
    warranty_months = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=240))
    purchase_proof_on_file = fields.Boolean(load_default=False)
    warranty_card_on_file = fields.Boolean(load_default=False)
    warranty = fields.Nested(WarrantySchema, dump_only=True)
    created_at = AwareDateTime(dump_only=True)


class EquipmentQuery(StrictSchema):
    customer_id = fields.Integer()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
