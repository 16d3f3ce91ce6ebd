"""The sync endpoints over real HTTP and a real database: exactly once, scoped, never missing."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select, text
from sync_http import PNG, HttpPhone, part, payment, server_digest, transition

from server.accounts.models import Device
from server.extensions import db
from server.feed.models import SyncChange, SyncOperation
from server.register.models import ServiceRequest
from server.visits.field_models import ChecklistEntry, Conflict, Payment, SignOff
from server.visits.models import Visit


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def field(make, signed_device):
    """An engineer with a signed-in phone and a visit assigned to them."""
    engineer = make.user("engineer")
    customer = make.customer()
    equipment = make.equipment(customer, warranty_months=0)  # out of warranty: charges apply
    request = make.request(customer, equipment_id=equipment.id)
    visit = make.visit(request, engineer=engineer, onsite_fee_fen=30000)
    phone = HttpPhone(signed_device(engineer))
    return {
        "engineer": engineer,
        "visit": visit,
        "phone": phone,
        "make": make,
        "signed_device": signed_device,
    }


def _whole_visit(phone: HttpPhone, visit_id: int) -> None:
    phone.op("visit.transition", visit_id, transition("arrived", permission_granted=True))
    phone.op("checklist.set", visit_id, {"item_id": "permission", "state": "done", "note": ""})
    phone.op("part.add", visit_id, part(qty=2, unit_cost_fen=4550))
    phone.op("visit.transition", visit_id, transition("completed", outcome_summary="更換電源"))
    phone.op("payment.record", visit_id, payment(39100, phone.receipt_no()))


def test_a_whole_visit_is_applied_once_and_a_replay_changes_nothing(field):
    phone, visit = field["phone"], field["visit"]
    _whole_visit(phone, visit.id)
    sent = list(phone.outbox)
    body = phone.push()
    assert [r["status"] for r in body["results"]] == ["applied"] * 5
    assert body["expected_seq"] == 6 and phone.outbox == []
    replay = phone.push(sent)
    assert [r["status"] for r in replay["results"]] == ["duplicate"] * 5
    assert replay["results"][4]["original"]["status"] == "applied"
    assert _count(Payment) == 1 and _count(SyncOperation) == 5
    db.session.expire_all()
    v = db.session.get(Visit, visit.id)
    assert v.status == "completed" and v.arrived_at is not None
    assert db.session.get(ServiceRequest, v.request_id).first_arrival_at == v.arrived_at


def test_sign_off_matching_the_merged_visit_is_accepted_and_a_later_change_marks_it_stale(field):
    phone, visit = field["phone"], field["visit"]
    _whole_visit(phone, visit.id)
    phone.push()
    blob = phone.upload()
    digest = server_digest(visit.id)
    phone.op(
        "signoff.sign",
        visit.id,
        {
            "customer_name": "周老師",
            "signature_blob": blob,
            "digest": digest,
            "signed_hlc": phone.clock,
        },
    )
    result = phone.push()["results"][0]
    assert result["status"] == "applied" and result["server_state"]["stale"] is False
    # A part added after the customer signed changes what they signed for.
    phone.op("part.add", visit.id, part(qty=1, unit_cost_fen=100))
    phone.push()
    db.session.expire_all()
    signoff = db.session.scalars(select(SignOff)).one()
    assert signoff.stale is True and "after sign-off" in signoff.stale_reason


def test_sign_off_over_a_different_visit_is_stored_and_flagged(field):
    phone, visit = field["phone"], field["visit"]
    _whole_visit(phone, visit.id)
    phone.push()
    blob = phone.upload()
    phone.op(
        "signoff.sign",
        visit.id,
        {
            "customer_name": "周老師",
            "signature_blob": blob,
            "digest": "0" * 64,
            "signed_hlc": phone.clock,
        },
    )
    result = phone.push()["results"][0]
    assert result["status"] == "applied" and result["server_state"]["stale"] is True
    assert _count(SignOff, SignOff.stale.is_(True)) == 1


def test_r33_concurrent_pushes_of_one_batch_apply_once(field, app):
    phone, visit = field["phone"], field["visit"]
    _whole_visit(phone, visit.id)
    body = {"protocol": 1, "device_id": phone.device_id, "ops": phone.outbox}
    answers: list = []
    barrier = threading.Barrier(3)

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/sync/push", json=body, headers=phone.dev.headers)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [code for code, _ in answers] == [200, 200, 200], answers
    statuses = sorted(tuple(r["status"] for r in b["results"]) for _, b in answers)
    assert statuses == [("applied",) * 5, ("duplicate",) * 5, ("duplicate",) * 5]
    assert _count(Payment) == 1 and _count(SyncOperation) == 5


def test_r6_a_gap_is_not_applied_and_the_answer_names_the_expected_seq(field):
    phone, visit = field["phone"], field["visit"]
    first = phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    second = phone.op(
        "checklist.set", visit.id, {"item_id": "dress-badge", "state": "done", "note": ""}
    )
    body = phone.push([second])
    assert body["results"][0]["status"] == "retry" and body["expected_seq"] == 1
    assert _count(ChecklistEntry) == 0
    body = phone.push([second, first])  # out of order in one batch: applied in seq order
    assert [r["status"] for r in body["results"]] == ["applied", "applied"]


def test_r7_a_poison_op_mid_batch_is_kept_and_does_not_block_the_rest(field):
    phone, visit = field["phone"], field["visit"]
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    phone.op("payment.record", visit.id, payment(-5, phone.receipt_no()))
    phone.op("checklist.set", visit.id, {"item_id": "on-time", "state": "done", "note": ""})
    body = phone.push()
    assert [r["status"] for r in body["results"]] == ["applied", "rejected", "applied"]
    assert "amount_fen" in body["results"][1]["reason"]
    kept = db.session.scalars(select(SyncOperation).where(SyncOperation.status == "rejected")).one()
    assert kept.raw["payload"]["amount_fen"] == -5 and kept.kind == "payment.record"
    assert _count(Payment) == 0 and _count(ChecklistEntry) == 2


def test_r21_a_payment_replayed_with_another_amount_is_a_conflict_and_the_first_is_kept(field):
    phone, visit = field["phone"], field["visit"]
    receipt = phone.receipt_no()
    op = phone.op("payment.record", visit.id, payment(39100, receipt))
    phone.push()
    phone.op("payment.record", visit.id, payment(99900, receipt), record_id=op["record_id"])
    result = phone.push()["results"][0]
    assert result["status"] == "conflict"
    payments = db.session.scalars(select(Payment)).all()
    assert [(p.amount_fen, p.receipt_no) for p in payments] == [(39100, receipt)]
    conflict = db.session.scalars(select(Conflict)).one()
    assert conflict.kept["amount_fen"] == 39100 and conflict.other["amount_fen"] == 99900


def test_a_receipt_number_used_twice_is_refused_by_the_database(field):
    phone, visit = field["phone"], field["visit"]
    receipt = phone.receipt_no()
    phone.op("payment.record", visit.id, payment(100, receipt))
    phone.op("payment.record", visit.id, payment(200, receipt))
    body = phone.push()
    assert [r["status"] for r in body["results"]] == ["applied", "rejected"]
    assert "receipt number" in body["results"][1]["reason"]
    assert _count(Payment) == 1


def test_r17_a_phone_clock_hours_ahead_does_not_win_over_a_later_write(field):
    engineer, visit = field["engineer"], field["visit"]
    ahead = HttpPhone(field["signed_device"](engineer), skew_ms=5 * 3_600_000)
    honest = field["phone"]
    ahead.op("checklist.set", visit.id, {"item_id": "kit", "state": "na", "note": "fast clock"})
    ahead.push()
    honest.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    honest.push()
    db.session.expire_all()
    entry = db.session.get(ChecklistEntry, (visit.id, "kit"))
    # Unclamped, the fast phone's stamp (5 h ahead) would have won; clamped, the later write wins.
    assert entry.state == "done" and entry.device_id == honest.device_id
    conflict = db.session.scalars(select(Conflict)).one()
    assert conflict.entity == "checklist_item" and conflict.other["note"] == "fast clock"


def test_r17_a_phone_clock_hours_behind_wins_once_it_has_learnt_the_servers_time(field):
    engineer, visit = field["engineer"], field["visit"]
    behind = HttpPhone(field["signed_device"](engineer), skew_ms=-5 * 3_600_000)
    honest = field["phone"]
    # A frozen clock moved by hand: the later edit is a second later, whatever the machine's load
    # (a request's latency would otherwise be the offset's error).
    with freeze_time(datetime.now(UTC), tick=False) as clock:
        behind.push([])  # any exchange teaches the phone its offset from the server
        clock.tick(1)
        honest.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
        honest.push()
        clock.tick(1)
        behind.op("checklist.set", visit.id, {"item_id": "kit", "state": "na", "note": "later"})
        behind.push()
    db.session.expire_all()
    assert db.session.get(ChecklistEntry, (visit.id, "kit")).note == "later"


def test_r18_a_late_older_transition_does_not_roll_the_visit_back(field):
    phone, visit = field["phone"], field["visit"]
    phone.op("visit.transition", visit.id, transition("completed", outcome_summary="ok"))
    phone.op("visit.transition", visit.id, transition("arrived"))
    body = phone.push()
    assert [r["status"] for r in body["results"]] == ["applied", "conflict"]
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "completed"


def test_r13_an_op_naming_a_missing_blob_waits_until_it_is_uploaded(field):
    phone, visit = field["phone"], field["visit"]
    blob = hashlib.sha256(PNG).hexdigest()
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    phone.push()
    phone.op(
        "signoff.sign",
        visit.id,
        {
            "customer_name": "周",
            "signature_blob": blob,
            "digest": "0" * 64,
            "signed_hlc": phone.clock,
        },
    )
    result = phone.push()["results"][0]
    assert result["status"] == "retry" and result["missing_blobs"] == [blob]
    assert len(phone.outbox) == 1
    phone.upload()
    assert phone.push()["results"][0]["status"] == "applied"


def test_blob_upload_checks_hash_type_and_size_and_is_idempotent(field):
    dev = field["phone"].dev
    digest = hashlib.sha256(PNG).hexdigest()
    url = f"/api/sync/blobs/{digest}"
    assert dev.put(url, data=PNG, headers={"Content-Type": "image/png"}).status_code == 201
    assert dev.put(url, data=PNG, headers={"Content-Type": "image/png"}).status_code == 200
    wrong = dev.put(f"/api/sync/blobs/{'0' * 64}", data=PNG, headers={"Content-Type": "image/png"})
    assert wrong.status_code == 422 and "sha256" in wrong.get_json()["fields"]
    gif = dev.put(url, data=PNG, headers={"Content-Type": "image/gif"})
    assert gif.status_code == 415
    big = b"x" * (2 * 1024 * 1024 + 1)
    too_big = dev.put(
        f"/api/sync/blobs/{hashlib.sha256(big).hexdigest()}",
        data=big,
        headers={"Content-Type": "image/jpeg"},
    )
    assert too_big.status_code == 413
    assert (
        dev.put("/api/sync/blobs/xyz", data=PNG, headers={"Content-Type": "image/png"}).status_code
        == 422
    )


def test_r10_push_limits_and_envelope_errors(field, login, make):
    phone = field["phone"]
    too_many = [{"seq": i} for i in range(1, 502)]
    body = phone.push(too_many, expect=413)
    assert "500" in body["message"]
    old = phone.dev.post(
        "/api/sync/push", json={"protocol": 0, "device_id": phone.device_id, "ops": []}
    )
    assert old.status_code == 426 and "Update the app" in old.get_json()["message"]
    other = phone.dev.post(
        "/api/sync/push", json={"protocol": 1, "device_id": str(uuid.uuid4()), "ops": []}
    )
    assert other.status_code == 403
    not_json = phone.dev.post("/api/sync/push", data="ops", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 415
    no_ops = phone.dev.post("/api/sync/push", json={"protocol": 1, "device_id": phone.device_id})
    assert no_ops.status_code == 422 and "ops" in no_ops.get_json()["fields"]
    office = login(make.user("office"))
    assert (
        office.post("/api/sync/push", json={"protocol": 1, "device_id": "x", "ops": []}).status_code
        == 401
    )
    assert _count(SyncOperation) == 0


def test_pull_is_scoped_to_the_engineers_visits(field):
    make, phone, visit = field["make"], field["phone"], field["visit"]
    other_engineer = make.user("engineer")
    other_visit = make.visit(engineer=other_engineer)
    changes = phone.pull_all()
    visits = {c["id"] for c in changes if c["entity"] == "visit"}
    assert visits == {str(visit.id)}
    assert str(other_visit.id) not in {str(c.get("visit_id")) for c in changes}
    entities = {c["entity"] for c in changes}
    assert {"visit", "customer", "equipment", "checklist_template"} <= entities
    visit_data = next(c["data"] for c in changes if c["entity"] == "visit")
    assert visit_data["request"]["problem"] and visit_data["fee_fen"] == 30000
    assert visit_data["parts_charged"] is True
    assert phone.pull_all() == []  # nothing new


def test_r29_a_reassigned_visit_is_revoked_from_one_and_brought_whole_to_the_other(field, login):
    make, phone, visit = field["make"], field["phone"], field["visit"]
    phone.pull_all()
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": "帶齊"})
    phone.push()
    second_engineer = make.user("engineer")
    second = HttpPhone(field["signed_device"](second_engineer))
    second.pull_all()  # an up-to-date cursor, already past the visit's history
    office = login(make.user("office"))
    assert (
        office.patch(
            f"/api/visits/{visit.id}", json={"engineer_id": second_engineer.id}
        ).status_code
        == 200
    )
    to_first = phone.pull_all()
    assert [(c["entity"], c["op"]) for c in to_first] == [("visit", "revoke")]
    to_second = second.pull_all()
    got = {(c["entity"], c["id"]) for c in to_second}
    assert ("visit", str(visit.id)) in got and ("checklist_item", f"{visit.id}:kit") in got
    # What the first phone records after it heard of the move is refused (R36, issue 9 fault 4;
    # tests/api/test_sync_edges.py has the work recorded before it heard, which is kept).
    phone.op("part.add", visit.id, part())
    assert phone.push()["results"][0]["status"] == "conflict"


def test_r31_an_engineer_cannot_write_a_visit_never_theirs(field):
    make = field["make"]
    stranger_visit = make.visit(engineer=make.user("engineer"))
    phone = field["phone"]
    phone.op("checklist.set", stranger_visit.id, {"item_id": "kit", "state": "done", "note": ""})
    result = phone.push()["results"][0]
    assert result["status"] == "rejected" and "not assigned" in result["reason"]


def test_r34_a_transaction_committing_late_is_still_pulled(field, app, database_url):
    """Writer A takes the counter and commits late; writer B must wait, so no pull skips A."""
    phone, visit_id = field["phone"], field["visit"].id
    phone.pull_all()
    from sqlalchemy import create_engine

    from server.feed.changes import Change, emit

    engine = create_engine(database_url)
    a_locked, release_a = threading.Event(), threading.Event()
    positions: dict[str, int] = {}

    def writer(name: str, first: bool) -> None:
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            if first:
                emit(
                    session,
                    Change(
                        entity="visit",
                        entity_id=str(visit_id),
                        visit_id=visit_id,
                        data={"id": visit_id, "who": name},
                    ),
                )
                session.flush()
                from server.feed import changes as changes_module

                changes_module._number_pending(session)  # takes the counter row, holds its lock
                a_locked.set()
                release_a.wait(10)
            else:
                a_locked.wait(10)
                emit(
                    session,
                    Change(
                        entity="visit",
                        entity_id=str(visit_id),
                        visit_id=visit_id,
                        data={"id": visit_id, "who": name},
                    ),
                )
            session.commit()
            positions[name] = session.execute(
                text("SELECT max(position) FROM sync_change")
            ).scalar()

    ta = threading.Thread(target=writer, args=("A", True))
    tb = threading.Thread(target=writer, args=("B", False))
    ta.start()
    a_locked.wait(10)
    tb.start()
    tb.join(timeout=0.5)  # B cannot finish while A holds the counter
    assert tb.is_alive(), "B numbered its change while A still held the counter"
    # While A is uncommitted, a pull sees neither A nor anything numbered after it.
    assert [c["data"].get("who") for c in phone.pull_all()] == []
    release_a.set()
    ta.join(10)
    tb.join(10)
    engine.dispose()
    assert [c["data"].get("who") for c in phone.pull_all()] == ["A", "B"]


def test_pull_pages_exactly_when_the_count_equals_the_limit(field):
    phone, visit = field["phone"], field["visit"]
    phone.pull_all()
    for item in ("kit", "on-time", "permission"):
        phone.op("checklist.set", visit.id, {"item_id": item, "state": "done", "note": ""})
    phone.push()
    first = phone.dev.get("/api/sync/pull", query_string={"cursor": phone.cursor, "limit": 3})
    body = first.get_json()
    assert len(body["changes"]) == 3 and body["has_more"] is False


def test_r28_a_cursor_from_another_epoch_or_beyond_the_feed_resyncs(field, app):
    phone = field["phone"]
    phone.pull_all()
    epoch, position = phone.cursor.split(":")
    ahead = phone.dev.get(
        "/api/sync/pull", query_string={"cursor": f"{epoch}:{int(position) + 99}"}
    )
    assert ahead.get_json()["resync"] is True and ahead.get_json()["changes"]
    from server.feed.defaults import new_epoch

    new_epoch()
    body = phone.dev.get("/api/sync/pull", query_string={"cursor": phone.cursor}).get_json()
    assert body["resync"] is True and not body["cursor"].startswith(epoch)
    bad = phone.dev.get("/api/sync/pull", query_string={"cursor": "nonsense"})
    assert bad.status_code == 400 and "cursor" in bad.get_json()["fields"]


def test_pull_is_compressed_for_clients_that_accept_it(field):
    dev = field["phone"].dev
    response = dev.get("/api/sync/pull", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("Content-Encoding") == "gzip"
    body = json.loads(gzip.decompress(response.data))
    assert body["changes"]


def test_revoked_device_cannot_sync_but_keeps_its_sequence_after_signing_in_again(field, client):
    phone, visit = field["phone"], field["visit"]
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    phone.push()
    phone.dev.post(f"/api/devices/{phone.device_id}/revoke")
    phone.op("checklist.set", visit.id, {"item_id": "on-time", "state": "done", "note": ""})
    assert phone.push(expect=401)["message"]
    again = field["signed_device"](field["engineer"], device_id=phone.device_id)
    phone.dev = again
    assert phone.push()["results"][0]["status"] == "applied"
    assert db.session.get(Device, phone.device_id).last_seq == 2


def test_first_sync_of_a_demo_engineer_stays_small(app, client):
    from server.demo import load_demo

    load_demo()
    login = client.post(
        "/api/auth/device",
        json={"username": "eng1", "password": "demo", "device_id": str(uuid.uuid4())},
    )
    token = login.get_json()["token"]
    response = client.get(
        "/api/sync/pull", headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    )
    raw = gzip.decompress(response.data)
    body = json.loads(raw)
    assert not body["has_more"]
    print(
        f"\nfirst sync of eng1 (demo data): {len(body['changes'])} changes, "
        f"{len(raw)} bytes JSON, {len(response.data)} bytes gzipped"
    )
    assert len(response.data) < 16 * 1024
    assert _count(SyncChange) > len(body["changes"])  # other engineers' visits stayed out


def test_r27a_pull_cursor_moves_past_other_engineers_changes(field):
    make, phone = field["make"], field["phone"]
    phone.pull_all()
    before = int(phone.cursor.split(":")[1])
    others = make.visit(engineer=make.user("engineer"))
    assert others.id != field["visit"].id
    assert phone.pull_all() == []
    head = db.session.scalar(select(func.max(SyncChange.position)))
    assert int(phone.cursor.split(":")[1]) == head > before


def test_r35_a_phone_that_synced_before_a_restore_is_not_stuck(field):
    from server.feed.defaults import new_epoch

    phone, visit = field["phone"], field["visit"]
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    old_epoch = phone.push()["epoch"]
    # The restore: the database forgets the device's last op; the admin runs `onsite new-epoch`.
    db.session.execute(text("UPDATE device SET last_seq = 0"))
    db.session.execute(text("DELETE FROM sync_operation"))
    db.session.commit()
    new_epoch()
    phone.op("checklist.set", visit.id, {"item_id": "on-time", "state": "done", "note": ""})
    stuck = phone.dev.post(
        "/api/sync/push", json={"protocol": 1, "device_id": phone.device_id, "ops": phone.outbox}
    )
    assert stuck.get_json()["results"][0]["status"] == "retry"  # no epoch named: waits
    answer = phone.dev.post(
        "/api/sync/push",
        json={"protocol": 1, "device_id": phone.device_id, "epoch": old_epoch, "ops": phone.outbox},
    )
    body = answer.get_json()
    assert body["results"][0]["status"] == "applied" and body["epoch"] != old_epoch
    gap = db.session.scalars(select(Conflict).where(Conflict.entity == "device")).one()
    assert gap.record_id == phone.device_id and "ops 1..1" in gap.reason


def test_r35_the_office_home_page_lists_work_lost_in_a_restore(field, login):
    from server.feed.defaults import new_epoch

    phone, visit, make = field["phone"], field["visit"], field["make"]
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    old_epoch = phone.push()["epoch"]
    db.session.execute(text("UPDATE device SET last_seq = 0"))
    db.session.execute(text("DELETE FROM sync_operation"))
    db.session.commit()
    new_epoch()
    phone.op("checklist.set", visit.id, {"item_id": "on-time", "state": "done", "note": ""})
    phone.dev.post(
        "/api/sync/push",
        json={"protocol": 1, "device_id": phone.device_id, "epoch": old_epoch, "ops": phone.outbox},
    )
    page = login(make.user("office")).get("/office/?lang=en").get_data(as_text=True)
    assert "Work lost in a server restore" in page
    assert phone.device_id in page and "ops 1..1" in page


def test_r25_an_office_change_to_the_charges_after_sign_off_marks_it_stale(field, login):
    phone, visit, make = field["phone"], field["visit"], field["make"]
    phone.op("part.add", visit.id, part(qty=1, unit_cost_fen=500))
    phone.push()
    blob = phone.upload()
    phone.op(
        "signoff.sign",
        visit.id,
        {
            "customer_name": "周老師",
            "signature_blob": blob,
            "digest": server_digest(visit.id),
            "signed_hlc": phone.clock,
        },
    )
    assert phone.push()["results"][0]["server_state"]["stale"] is False
    office = login(make.user("office"))
    assert office.patch(f"/api/visits/{visit.id}", json={"onsite_fee_fen": 1}).status_code == 200
    db.session.expire_all()
    signoff = db.session.scalars(select(SignOff)).one()
    assert signoff.stale is True and "office changed" in signoff.stale_reason
