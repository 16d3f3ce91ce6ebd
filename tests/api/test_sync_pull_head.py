"""R27b: a pull from the feed head is answered from the head alone (304 when conditional)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from server.extensions import db
from tests.api.sync_http import HttpPhone, at_head


@contextmanager
def statements():
    """Collect the SQL statements the app sends while the block runs."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_r27b_a_conditional_pull_at_the_head_is_304_and_reads_only_the_head(make, signed_device):
    phone, _ = at_head(make, signed_device)
    with statements() as seen:
        response = phone.dev.get(
            "/api/sync/pull",
            query_string={"cursor": phone.cursor},
            headers={"If-None-Match": f'"{phone.cursor}"'},
        )
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == f'"{phone.cursor}"'
    # One statement: the device's sign-in, which reads the epoch and the feed head with it; no
    # scan of the change feed, no visit lookups.
    assert len(seen) == 1, seen
    assert "sync_counter" in seen[0] and "server_state" in seen[0]
    assert not any("sync_change" in s for s in seen)


def test_r27b_an_unconditional_pull_at_the_head_is_an_empty_page_with_its_etag(make, signed_device):
    phone, _ = at_head(make, signed_device)
    with statements() as seen:
        response = phone.dev.get("/api/sync/pull", query_string={"cursor": phone.cursor})
    assert response.status_code == 200
    body = response.get_json()
    assert body["changes"] == [] and body["has_more"] is False and body["resync"] is False
    assert body["cursor"] == phone.cursor
    assert body["server_time"]
    assert response.headers["ETag"] == f'"{phone.cursor}"'
    assert not any("sync_change" in s for s in seen)


def test_r27b_a_new_change_answers_the_same_conditional_pull_with_the_change(make, signed_device):
    phone, visit = at_head(make, signed_device)
    stale = phone.cursor
    other = HttpPhone(signed_device(phone.dev.user))
    other.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    other.push()
    response = phone.dev.get(
        "/api/sync/pull",
        query_string={"cursor": stale},
        headers={"If-None-Match": f'"{stale}"'},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert [c["id"] for c in body["changes"]] == [f"{visit.id}:kit"]
    assert body["cursor"] != stale
    assert response.headers["ETag"] == f'"{body["cursor"]}"'


def test_r27b_an_etag_of_another_cursor_is_not_answered_304(make, signed_device):
    phone, _ = at_head(make, signed_device)
    epoch, position = phone.cursor.rsplit(":", 1)
    response = phone.dev.get(
        "/api/sync/pull",
        query_string={"cursor": phone.cursor},
        headers={"If-None-Match": f'"{epoch}:{int(position) - 1}"'},
    )
    assert response.status_code == 200
    assert response.get_json()["changes"] == []


def test_r27b_a_cursor_of_another_epoch_at_the_same_position_still_resyncs(make, signed_device):
    phone, _ = at_head(make, signed_device)
    _, position = phone.cursor.rsplit(":", 1)
    old = f"restored0000:{position}"
    response = phone.dev.get(
        "/api/sync/pull", query_string={"cursor": old}, headers={"If-None-Match": f'"{old}"'}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["resync"] is True
    assert body["changes"], "a resync starts the feed again from the beginning"
