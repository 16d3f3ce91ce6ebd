"""Rows every database needs: the default checklist template and the feed's counter and epoch."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from server.db_types import utcnow
from server.extensions import db
from server.feed import changes
from server.feed.models import ChecklistTemplate, ServerState, SyncCounter

CHECKLIST_FILE = Path(__file__).resolve().parent.parent / "data" / "visit-checklist.json"


def template_snapshot(template: ChecklistTemplate) -> dict:
    """Return the checklist template as phones receive it."""
    return {
        "id": template.id,
        "name": template.name,
        "version": template.version,
        "body": template.body,
    }


def ensure_defaults() -> None:
    """Create the counter row, the epoch and the default checklist template if missing."""
    if db.session.get(SyncCounter, 1) is None:
        db.session.add(SyncCounter(id=1, value=0))
    if db.session.get(ServerState, "epoch") is None:
        db.session.add(ServerState(key="epoch", value=uuid.uuid4().hex[:12]))
    db.session.flush()
    if db.session.scalar(db.select(ChecklistTemplate.id).limit(1)) is None:
        body = json.loads(CHECKLIST_FILE.read_text(encoding="utf-8"))
        template = ChecklistTemplate(
            name=body["name"], version=body["version"], body=body, is_active=True
        )
        db.session.add(template)
        db.session.flush()
        changes.emit(
            db.session(),
            changes.Change(
                entity="checklist_template",
                entity_id=str(template.id),
                is_global=True,
                data=template_snapshot(template),
            ),
        )
    db.session.commit()


def past_epoch_key(epoch: str) -> str:
    """Name the server_state row that remembers a previous epoch (R35 bridges only from one)."""
    return f"past_epoch:{epoch}"


def new_epoch() -> str:
    """Give the server a new epoch (after restoring a backup), so every client resyncs.

    The old epoch is remembered: a phone naming it after the restore lost acknowledged ops, and
    its sequence gap is bridged (R35); an epoch never seen here is not.
    """
    state = db.session.get(ServerState, "epoch")
    value = uuid.uuid4().hex[:12]
    if state is None:
        db.session.add(ServerState(key="epoch", value=value))
    else:
        db.session.merge(ServerState(key=past_epoch_key(state.value), value=utcnow().isoformat()))
        state.value = value
    db.session.commit()
    return value
