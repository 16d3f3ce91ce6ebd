"""Sign-in and devices on the wire."""

from marshmallow import fields, validate

from server.web.api_schemas import AwareDateTime, StrictSchema, text


class DeviceLoginSchema(StrictSchema):
    username = text(64, required=True)
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=200)
    )
    device_id = fields.UUID(required=True)
    device_name = text(120, load_default="phone")
    app_version = text(40)


class UserSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    phone = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)


class DeviceSchema(StrictSchema):
    id = fields.String(dump_only=True)
    user_id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    receipt_prefix = fields.String(dump_only=True)
    created_at = AwareDateTime(dump_only=True)
    expires_at = AwareDateTime(dump_only=True)
    last_seen_at = AwareDateTime(dump_only=True, allow_none=True)
    revoked_at = AwareDateTime(dump_only=True, allow_none=True)
    app_version = fields.String(dump_only=True, allow_none=True)
    revoked_reason = fields.String(dump_only=True, allow_none=True)


class DeviceLoginResultSchema(StrictSchema):
    token = fields.String()
    device = fields.Nested(DeviceSchema)
    user = fields.Nested(UserSchema)
    server_time = AwareDateTime()


class CsrfTokenSchema(StrictSchema):
    csrf_token = fields.String(required=True)
