"""What the customer page's form accepts."""

from __future__ import annotations

from marshmallow import fields, validate

from server.web.forms import FormSchema, text


class CustomerForm(FormSchema):
    name = text(200, required=True)
    contact_person = text(120)
    phone = text(40)
    mobile = text(40)
    email = fields.Email(
        validate=validate.Length(max=200, error="form.err.too_long"),
        error_messages={"invalid": "form.err.email"},
    )
    fax = text(40)
    address = text(400)
    notes = text(4000)
