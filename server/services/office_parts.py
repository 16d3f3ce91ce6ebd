"""The register of faulty parts brought back (S31) and how each was dealt with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import aliased

from ..errors import ApiError
from ..extensions import db
from ..models import PartEvent, ReturnedPartHandling, User, Visit
from ..models.types import utcnow


@dataclass
class ReturnedPart:
    event: PartEvent
    visit: Visit
    handling: ReturnedPartHandling | None


def returned_parts(state: str | None = None) -> list[ReturnedPart]:
    """List parts brought back (kind `returned`), leaving out corrections and what they cancel.

    `state` is "pending" (not yet dealt with), "done", or None for both.
    """
    correction = aliased(PartEvent)
    query = (
        db.select(PartEvent, Visit, ReturnedPartHandling)
        .join(Visit, Visit.id == PartEvent.visit_id)
        .outerjoin(ReturnedPartHandling, ReturnedPartHandling.part_event_id == PartEvent.id)
        .where(
            PartEvent.kind == "returned",
            PartEvent.reverses_id.is_(None),
            ~db.select(correction.id).where(correction.reverses_id == PartEvent.id).exists(),
        )
        .order_by(PartEvent.received_at.desc(), PartEvent.id)
    )
    if state == "pending":
        query = query.where(ReturnedPartHandling.part_event_id.is_(None))
    elif state == "done":
        query = query.where(ReturnedPartHandling.part_event_id.is_not(None))
    return [ReturnedPart(e, v, h) for e, v, h in db.session.execute(query)]


def mark_part_dealt_with(part_event_id: str, data: dict, by: User) -> ReturnedPartHandling:
    """Record how a returned faulty part was dealt with."""
    matches = [p for p in returned_parts() if p.event.id == part_event_id]
    if not matches:
        raise ApiError(404, "No such returned part (or it was cancelled by a correction).")
    if matches[0].handling is not None:
        raise ApiError(409, "This part is already dealt with.")
    handling = ReturnedPartHandling(
        part_event_id=part_event_id,
        disposition=data["disposition"],
        note=data.get("note"),
        handled_by_id=by.id,
        handled_at=utcnow(),
    )
    db.session.add(handling)
    return handling
