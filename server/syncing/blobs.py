"""Blobs back down to phones, and blobs a phone lost given up (docs/sync-protocol.md, R13a/R19a).

A second phone, a reinstalled app or a phone after `resync` fetches the signatures and photos of
its engineer's own visits here, lazily; a photo lost before upload is given up with a reason so
the ops naming it stop waiting (R13) and the office sees the gap.
"""

from __future__ import annotations

import re

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.accounts.auth import current_device, require_device
from server.errors import ApiError
from server.extensions import db
from server.visits.field_models import Blob, BlobLoss, DamageRecord, EquipmentReceipt, SignOff
from server.visits.models import Visit
from server.web.api_schemas import StrictSchema
from sync.limits import REASON, text_problem

blp = Blueprint("sync_blobs", __name__, url_prefix="/api/sync/blobs", description="Sync blobs")

SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Content-addressed: the bytes under a hash never change, so a phone may keep them for good;
# private, because only the visit's engineer may read them.
CACHE_CONTROL = "private, max-age=31536000, immutable"


def _check_address(sha256: str) -> None:
    if not SHA256.match(sha256):
        raise ApiError(
            422,
            "The blob address must be 64 lower-case hex digits (its SHA-256).",
            {"sha256": ["Not a SHA-256 hex digest."]},
        )


def may_see(sha256: str, user_id: int, device_id: str) -> bool:
    """Tell whether a blob belongs to a record on one of the engineer's visits (or this device
    uploaded it): the visits a phone holds are the only ones whose pictures it may show."""
    mine = select(Visit.id).where(Visit.engineer_id == user_id)
    for model, column in (
        (EquipmentReceipt, EquipmentReceipt.signature_blob),
        (SignOff, SignOff.signature_blob),
    ):
        hit = select(model.id).where(column == sha256, model.visit_id.in_(mine)).limit(1)
        if db.session.scalar(hit) is not None:
            return True
    damages = db.session.execute(
        select(
            DamageRecord.purchase_proof_blob,
            DamageRecord.warranty_card_blob,
            DamageRecord.photo_blobs,
        ).where(DamageRecord.visit_id.in_(mine))
    )
    for proof, card, photos in damages:
        if sha256 in (proof, card) or sha256 in (photos or []):
            return True
    uploaded = select(Blob.sha256).where(
        Blob.sha256 == sha256, Blob.uploaded_by_device == device_id
    )
    return db.session.scalar(uploaded) is not None


@blp.route("/<string:sha256>", methods=["GET"])
@require_device
def get_blob(sha256: str):
    """Send a signature or photo of one of the engineer's visits; cacheable for good (R19a)."""
    _check_address(sha256)
    etag = f'"{sha256}"'
    blob = db.session.get(Blob, sha256)
    signed = current_device()
    if blob is None or not may_see(sha256, signed.user_id, signed.device_id):
        # The same answer whether it is missing or someone else's: existence is not revealed.
        raise ApiError(404, "No such blob on your visits.", {"sha256": ["Not found."]})
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
    if etag in request.if_none_match or sha256 in request.if_none_match:
        return Response(status=304, headers=headers)
    return Response(blob.data, status=200, mimetype=blob.content_type, headers=headers)


def _reason(value: str) -> bool:
    problem = text_problem(value)
    if problem is not None:
        raise ValidationError(problem[:1].upper() + problem[1:] + ".")
    if not value.strip():
        raise ValidationError("Say why the photo or signature is lost.")
    return True


class LostBlobSchema(StrictSchema):
    reason = fields.String(required=True, validate=[validate.Length(max=REASON), _reason])


@blp.route("/<string:sha256>/lost", methods=["POST"])
@require_device
@blp.arguments(LostBlobSchema)
def give_up_blob(data, sha256: str):
    """Give up a blob the phone lost before uploading it; ops naming it then apply (R13a)."""
    _check_address(sha256)
    if db.session.get(Blob, sha256) is not None:
        raise ApiError(
            409,
            "The server already has this blob; nothing is lost.",
            {"sha256": ["Already uploaded."]},
        )
    existing = db.session.get(BlobLoss, sha256)
    if existing is not None:
        return {"sha256": sha256, "reason": existing.reason, "created": False}, 200
    db.session.add(
        BlobLoss(sha256=sha256, device_id=current_device().device_id, reason=data["reason"])
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another phone gave it up a moment ago: same outcome
        existing = db.session.get(BlobLoss, sha256)
        return {"sha256": sha256, "reason": existing.reason, "created": False}, 200
    return {"sha256": sha256, "reason": data["reason"], "created": True}, 201
