"""Backup and restore of PostgreSQL as the README gives it: deploy/pg-backup, deploy/pg-restore.

Back up, keep syncing, restore (which runs `onsite new-epoch`): the phone resyncs, keeps and
sends the work it had not sent, and what it had sent after the backup is recorded for the office.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from server.extensions import db
from server.feed.models import ServerState
from server.visits.field_models import ChecklistEntry, Conflict, PartEvent
from tests.api.sync_http import HttpPhone, part

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres_only


def _run(script: str, arg: Path, database_url: str) -> None:
    env = {
        **os.environ,
        "ONSITE_DATABASE_URL": database_url,
        "ONSITE_BIN": str(Path(sys.executable).parent / "onsite"),
    }
    done = subprocess.run(
        [str(ROOT / "deploy" / script), str(arg)], env=env, capture_output=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]


def _push(phone: HttpPhone, epoch: str) -> dict:
    """Push the outbox naming the epoch last heard, as the app does (R35)."""
    response = phone.dev.post(
        "/api/sync/push",
        json={"protocol": 1, "device_id": phone.device_id, "epoch": epoch, "ops": phone.outbox},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    settled = {r["op_id"] for r in body["results"] if r["status"] != "retry"}
    phone.outbox = [o for o in phone.outbox if o["op_id"] not in settled]
    return body


def _forget_connections() -> None:
    """End this process's sessions: pg_restore replaces the tables they would hold locks on."""
    db.session.remove()
    db.engine.dispose()


def test_backup_keep_syncing_restore_and_the_phone_resyncs_keeping_unsent_work(
    postgres, make, signed_device, database_url, tmp_path
):
    engineer = make.user("engineer")
    visit_id = make.visit(engineer=engineer).id
    phone = HttpPhone(signed_device(engineer))
    phone.pull_all()
    phone.op("checklist.set", visit_id, {"item_id": "kit", "state": "done", "note": ""})
    epoch = _push(phone, None)["epoch"]
    phone.pull_all()

    backup = tmp_path / "onsite.dump"
    _run("pg-backup", backup, database_url)
    assert backup.stat().st_size > 0

    # Work goes on after the backup: this op reaches the server and is acknowledged ...
    phone.op("checklist.set", visit_id, {"item_id": "on-time", "state": "done", "note": ""})
    assert [r["status"] for r in _push(phone, epoch)["results"]] == ["applied"]
    phone.pull_all()
    # ... and this one is captured offline, not yet sent, when the server is restored.
    phone.op("part.add", visit_id, part(qty=1, unit_cost_fen=4550))
    unsent = phone.outbox[0]["record_id"]

    _forget_connections()
    _run("pg-restore", backup, database_url)

    assert db.session.get(ServerState, "epoch").value != epoch
    assert db.session.get(ChecklistEntry, (visit_id, "on-time")) is None  # lost with the server
    # The phone's next pull starts over (R28): its server data is replaced, its outbox kept.
    first = phone.dev.get("/api/sync/pull", query_string={"cursor": phone.cursor}).get_json()
    assert first["resync"] is True
    phone.cursor = None
    received = phone.pull_all()
    assert any(c["id"] == f"{visit_id}:kit" for c in received)
    assert len(phone.outbox) == 1

    # The unsent work goes through; the acknowledged-then-lost op is recorded for the office.
    answer = _push(phone, epoch)
    assert [r["status"] for r in answer["results"]] == ["applied"]
    assert phone.outbox == []
    db.session.expire_all()
    assert db.session.get(PartEvent, unsent) is not None
    assert db.session.get(ChecklistEntry, (visit_id, "kit")).state == "done"
    gap = db.session.scalars(select(Conflict).where(Conflict.entity == "device")).one()
    assert gap.record_id == phone.device_id and "ops 2..2" in gap.reason
    # Syncing carries on in the new epoch.
    assert phone.pull_all() != [] and phone.cursor.startswith(answer["epoch"] + ":")
