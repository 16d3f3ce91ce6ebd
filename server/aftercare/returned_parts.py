"""The register of faulty parts brought back (S31) and how each was dealt with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import aliased, selectinload

from server.accounts.models import User
from server.aftercare.models import ReturnedPartHandling
from server.db_types import utcnow
from server.errors import ApiError
from server.extensions import count_rows, db
from server.register.models import ServiceRequest
from server.visits.field_models import PartEvent, part_returned
from server.visits.models import Visit


@dataclass
class ReturnedPart:
    event: PartEvent
    visit: Visit
    handling: ReturnedPartHandling | None


def returned_parts_query(state: str | None = None, oldest_first: bool = False):
    """Select parts brought back (kind `returned`), leaving out corrections and what they cancel.

    `state` is "pending" (not yet dealt with), "done", or None for both.
    """
    correction = aliased(PartEvent)
    query = (
        db.select(PartEvent, Visit, ReturnedPartHandling)
        .join(Visit, Visit.id == PartEvent.visit_id)
        .outerjoin(ReturnedPartHandling, ReturnedPartHandling.part_event_id == PartEvent.id)
        .options(
            selectinload(Visit.request).selectinload(ServiceRequest.customer),
            selectinload(ReturnedPartHandling.handled_by),
        )
        .where(
            part_returned(),
            PartEvent.reverses_id.is_(None),
            ~db.select(correction.id).where(correction.reverses_id == PartEvent.id).exists(),
        )
    )
    if oldest_first:
        query = query.order_by(PartEvent.received_at, PartEvent.id)
    else:
        query = query.order_by(PartEvent.received_at.desc(), PartEvent.id)
    if state == "pending":
        query = query.where(ReturnedPartHandling.part_event_id.is_(None))
    elif state == "done":
        query = query.where(ReturnedPartHandling.part_event_id.is_not(None))
    return query


def count_returned_parts(state: str | None = None) -> int:
    """Count the parts `returned_parts_query(state)` selects, without loading them."""
    return count_rows(returned_parts_query(state).with_only_columns(PartEvent.id))


def returned_parts(
    state: str | None = None, limit: int | None = None, offset: int = 0, oldest_first: bool = False
) -> list[ReturnedPart]:
    """List parts brought back, newest first (or oldest first), a page at a time if asked."""
    query = returned_parts_query(state, oldest_first)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [ReturnedPart(e, v, h) for e, v, h in db.session.execute(query)]


def mark_part_dealt_with(part_event_id: str, data: dict, by: User) -> ReturnedPartHandling:
    """Record how a returned faulty part was dealt with."""
    matches = [
        ReturnedPart(e, v, h)
        for e, v, h in db.session.execute(
            returned_parts_query().where(PartEvent.id == part_event_id)
        )
    ]
    if not matches:
        raise ApiError(404, "err.aftercare.no_returned_part")
    if matches[0].handling is not None:
        raise ApiError(409, "err.aftercare.part_dealt_with")
    handling = ReturnedPartHandling(
        part_event_id=part_event_id,
        disposition=data["disposition"],
        note=data.get("note"),
        handled_by_id=by.id,
        handled_at=utcnow(),
    )
    db.session.add(handling)
    return handling
