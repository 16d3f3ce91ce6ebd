"""The sync endpoints on the wire (the ops themselves are validated by the sync package)."""

from marshmallow import Schema, fields, validate

from server.web.api_schemas import StrictSchema
from sync.limits import MAX_SEQ, REQUEST_LIMITS

MAX_OUTBOX_REPORT = 100_000


class OutboxReportSchema(StrictSchema):
    """What the phone holds unsent as it pushes (this push's ops included)."""

    high_seq = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_SEQ))
    payment_seqs = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_SEQ)),
        load_default=list,
        validate=validate.Length(max=MAX_OUTBOX_REPORT),
    )


def _text(name: str) -> list:
    """Length from the limits table (NUL and lone surrogates: every StrictSchema's guard)."""
    return [validate.Length(max=REQUEST_LIMITS[name])]


class PushSchema(StrictSchema):
    # strict: "1" is not the protocol number 1.
    protocol = fields.Integer(required=True, strict=True)
    device_id = fields.String(required=True, validate=_text("device_id"))
    app_version = fields.String(validate=_text("app_version"), allow_none=True)
    # The epoch the device last heard; after a restore it lets the server bridge the lost ops.
    epoch = fields.String(validate=_text("epoch"), allow_none=True, load_default=None)
    # A null op is the engine's to reject alone (R9); the whole push is not refused for it.
    ops = fields.List(fields.Raw(allow_none=True), required=True)
    outbox = fields.Nested(OutboxReportSchema, load_default=None, allow_none=True)


class OpResultSchema(Schema):
    op_id = fields.String(allow_none=True)
    seq = fields.Integer(allow_none=True)
    status = fields.String(
        metadata={"enum": ["applied", "duplicate", "rejected", "conflict", "retry"]}
    )
    reason = fields.String()
    server_state = fields.Raw()
    missing_blobs = fields.List(fields.String())
    original = fields.Dict()


class PushResultSchema(Schema):
    epoch = fields.String()
    expected_seq = fields.Integer()
    results = fields.List(fields.Nested(OpResultSchema))
    server_time = fields.String()
    hlc = fields.String()


class PullArgs(StrictSchema):
    cursor = fields.String(load_default=None, validate=_text("cursor"))
    limit = fields.Integer(
        load_default=None, validate=validate.Range(min=1, max=REQUEST_LIMITS["pull_limit"])
    )


class ChangeSchema(Schema):
    entity = fields.String()
    id = fields.String()
    visit_id = fields.Integer(allow_none=True)
    op = fields.String(metadata={"enum": ["upsert", "delete", "revoke"]})
    data = fields.Dict()


class PullPageSchema(Schema):
    cursor = fields.String()
    has_more = fields.Boolean()
    resync = fields.Boolean()
    changes = fields.List(fields.Nested(ChangeSchema))
    server_time = fields.String()
    hlc = fields.String()


class BlobResultSchema(Schema):
    sha256 = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    created = fields.Boolean()
