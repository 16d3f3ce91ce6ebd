"""The sync endpoints for engineers' devices: push operations, pull changes, upload blobs."""

from __future__ import annotations

import hashlib
import re

from flask import Response, current_app, request
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.accounts.auth import (
    NO_TRANSACTION_ENDPOINTS,
    DeviceSignIn,
    current_device,
    require_device,
)
from server.errors import ApiError
from server.extensions import db
from server.syncing.schemas import (
    BlobResultSchema,
    PullArgs,
    PullPageSchema,
    PushResultSchema,
    PushSchema,
)
from server.syncing.store import BatchAborted, SqlStore, note_revokes_heard
from server.visits.field_models import Blob
from server.web import api_guard, observability
from sync.engine import (
    BatchTooLarge,
    CursorError,
    PullPage,
    apply_push,
    build_pull,
    parse_cursor,
)
from sync.limits import BLOB_TYPES, REQUEST_LIMITS

blp = Blueprint("sync_api", __name__, url_prefix="/api/sync", description="Sync protocol")

PROTOCOL = 1
MAX_BLOB_BYTES = REQUEST_LIMITS["blob_bytes"]
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@blp.route("/push", methods=["POST"])
@require_device
@blp.arguments(PushSchema())  # one instance: built per request it costs more than the parse
@blp.response(200, PushResultSchema)
def push(data):
    """Apply a batch of the device's operations exactly once; answer for each (R1-R12)."""
    signed = current_device()
    if data["device_id"] != signed.device_id:
        raise ApiError(
            403,
            "These operations belong to another device than the one signed in.",
            {"device_id": ["Does not match the signed-in device."]},
        )
    if data["protocol"] != PROTOCOL:
        raise ApiError(
            426,
            f"This app speaks sync protocol {data['protocol']}; the server speaks "
            f"{PROTOCOL}. Update the app (your unsent work is kept).",
            {"protocol": [f"Must be {PROTOCOL}."]},
        )
    # The sign-in check read outside any transaction on SQLite (the driver begins one at the
    # first write), so the push's first write, the device lock, takes the write lock directly.
    now_ms = SqlStore.now_ms()
    report = (now_ms, data.get("app_version"), data["outbox"])
    try:
        result = _apply(signed, data["ops"], now_ms, data["epoch"], report)
    except BatchTooLarge as exc:
        raise ApiError(413, str(exc), {"ops": [str(exc)]}) from None
    db.session.commit()
    observability.note_op_results([r.status for r in result.results])
    return _json(result.to_wire())


def _apply(signed: DeviceSignIn, ops: list, now_ms: int, client_epoch: str | None, report: tuple):
    """Apply a push as one batch (set-based writes), or op by op when the batch cannot stand.

    Nearly every push is a batch of fresh, valid ops: its new rows are written with one
    executemany per table and the rest with one flush, a few statements, not a few per op.
    When the database refuses the batch (a receipt number used twice, say) or an op fails after
    writing, everything is rolled back and the same push is applied again op by op with a
    savepoint each, so that only the guilty op is rejected.
    """
    device_id = signed.device_id
    store = SqlStore(signed.user_id, batched=True)
    store.report_device(*report)
    try:
        with db.session.no_autoflush:
            result = apply_push(store, device_id, ops, now_ms, client_epoch=client_epoch)
            store.write_batch()
        db.session.flush()
        return result
    except (BatchAborted, IntegrityError):
        db.session.rollback()
    store = SqlStore(signed.user_id)
    store.report_device(*report)
    return apply_push(store, device_id, ops, now_ms, client_epoch=client_epoch)


@blp.route("/pull", methods=["GET"])
@require_device
@blp.arguments(PullArgs(), location="query")
@blp.response(200, PullPageSchema)
@blp.alt_response(304, description="Nothing new since the cursor named in If-None-Match.")
def pull(args):
    """Return the next page of changes this engineer may see, after the cursor (R13-R18).

    A device at the feed head is answered from the head alone (R27b): every idle phone asks
    every 30 s, so that answer must not cost a scan of the feed.
    """
    signed = current_device()
    user_id = signed.user_id
    cursor = args["cursor"] or None
    position = None
    try:
        # Read with the sign-in, before the changes (R27a): everything up to it is committed.
        epoch, head = signed.epoch, signed.feed_head
        store = SqlStore(user_id)
        store.know_feed_state(epoch, head)
        if cursor is not None:
            cursor_epoch, position = parse_cursor(cursor)
            if position > head:
                # A cursor beyond anything this database numbered: it was restored from a backup.
                page = build_pull(store, user_id, None, args["limit"])
                _end_read()
                observability.count_pull("resync", head, 0)
                return _json({**page.to_wire(), "resync": True})
            if cursor_epoch == epoch and position == head:
                return _nothing_new(cursor, head)
        page = build_pull(store, user_id, cursor, args["limit"])
    except CursorError as exc:
        raise ApiError(400, str(exc), {"cursor": [str(exc)]}) from None
    if any(c.op == "revoke" for c in page.changes):
        note_revokes_heard(signed.device_id, user_id, page.changes, page.server_time_ms)
    _end_read()
    end = parse_cursor(page.cursor)[1]
    outcome = "resync" if page.resync else "changes" if page.changes else "empty"
    observability.count_pull(outcome, end, position)
    headers = {} if page.has_more else {"ETag": f'"{page.cursor}"'}
    return _json(page.to_wire(), headers)


def _end_read() -> None:
    """Write what the pull noted (revoke notices heard), each statement on its own.

    A pull runs without a transaction (NO_TRANSACTION_ENDPOINTS): its reads are consistent
    without one (the head is read before the changes, R27a), and its notices stand alone. So
    nothing rolls back at the request's end either, and psycopg, which forgets every statement
    it has prepared on a connection at each ROLLBACK, keeps the pull's few statements planned.
    """
    db.session.commit()


def _json(body: dict, headers: dict | None = None) -> Response:
    """Send a sync answer already in its wire shape (`to_wire`).

    The response schemas document these answers; dumping through them again would only copy
    every change and op result field by field (tests/api/test_sync_wire.py checks they agree).
    """
    response = current_app.json.response(body)
    if headers:
        response.headers.update(headers)
    return response


def _nothing_new(cursor: str, head: int):
    """Answer a device already at the head: 304 when it asked conditionally, else an empty page."""
    etag = f'"{cursor}"'
    _end_read()
    if request.if_none_match.contains(cursor):
        observability.count_pull("not_modified", head, head)
        return Response(status=304, headers={"ETag": etag})
    observability.count_pull("empty", head, head)
    body = PullPage(cursor=cursor, has_more=False, resync=False, server_time_ms=SqlStore.now_ms())
    return _json(body.to_wire(), {"ETag": etag})


@blp.route("/blobs/<string:sha256>", methods=["PUT"])
@require_device
@blp.response(201, BlobResultSchema)
def put_blob(sha256: str):
    """Store a signature or photo under its SHA-256; uploading it again changes nothing (R19)."""
    if not SHA256.match(sha256):
        raise ApiError(
            422,
            "The blob address must be 64 lower-case hex digits (its SHA-256).",
            {"sha256": ["Not a SHA-256 hex digest."]},
        )
    content_type = (request.mimetype or "").lower()
    if content_type not in BLOB_TYPES:
        raise ApiError(
            415,
            f"Blobs must be one of {', '.join(BLOB_TYPES)}.",
            {"Content-Type": [f"{content_type or 'none'} is not accepted."]},
        )
    body = request.get_data(cache=False)
    if len(body) > MAX_BLOB_BYTES:
        raise ApiError(
            413,
            f"A blob may be at most {MAX_BLOB_BYTES // 1024} KiB; shrink the photo.",
            {"body": ["Too large."]},
        )
    if not body:
        raise ApiError(422, "The blob is empty.", {"body": ["Empty."]})
    actual = hashlib.sha256(body).hexdigest()
    if actual != sha256:
        raise ApiError(
            422,
            "The blob's content does not match its address (hash mismatch).",
            {"sha256": [f"Content hashes to {actual}."]},
        )
    answer = {"sha256": sha256, "size": len(body), "content_type": content_type}
    if db.session.scalar(select(Blob.sha256).where(Blob.sha256 == sha256)) is not None:
        return {**answer, "created": False}, 200
    db.session.add(
        Blob(
            sha256=sha256,
            content_type=content_type,
            size=len(body),
            data=body,
            uploaded_by_device=current_device().device_id,
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        # Another process stored the same content a moment ago: same bytes, same answer.
        db.session.rollback()
        return {**answer, "created": False}, 200
    return {**answer, "created": True}, 201


api_guard.RAW_BODY_ENDPOINTS.add("sync_api.put_blob")
NO_TRANSACTION_ENDPOINTS.add("sync_api.pull")
