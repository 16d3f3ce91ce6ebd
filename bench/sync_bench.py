"""Sync benchmark: push and pull throughput through the real app, against a bulk-insert floor.

Run from the repository root in the project's environment:

    .venv/bin/python bench/sync_bench.py                      # SQLite in a temporary file
    .venv/bin/python bench/sync_bench.py --db postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/sync_bench.py --json

With a PostgreSQL URL, a database of its own is created on that server and dropped afterwards.
Figures: push ops/s (10 000 ops in batches of 500 through the HTTP stack), the same rows written by
SQLAlchemy Core bulk inserts (the floor) and the ratio; a push of 10 checklist ops on a visit
with no checklist rows and with 20 000, and the ratio (a push's cost follows its ops, not the
visit); pull changes/s for 10 000 changes; the time of a pull of 10 new changes with 1 000 and
with 1 000 000 change rows already stored, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, select, text

from sync import hlc

OPS = 10_000
BATCH = 500
VISIT_ROWS = 20_000  # checklist rows already on the visit, for push_full_vs_empty


@contextmanager
def database(url: str | None, keep: str = ""):
    """Yield a database URL for one run; a PostgreSQL database is made and dropped.

    With `keep` (PostgreSQL only), the database of that name is made if missing and left in
    place, for a later run to reuse.
    """
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            yield url or f"sqlite:///{tmp}/bench.sqlite3"
        return
    server = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", url)
    name = keep or f"onsite_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname=:n"),
                    {"n": name},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def build_app(url: str):
    from flask_migrate import upgrade

    from server import create_app
    from server.config import TestConfig
    from server.feed.defaults import ensure_defaults

    config = TestConfig(database_url=url)
    config.WTF_CSRF_ENABLED = False
    app = create_app(config)
    with app.app_context():
        upgrade()
        ensure_defaults()
    return app


def setup_field(app):
    """Make an engineer with a signed-in device and one visit; return (client, headers, ids)."""
    from server.accounts.operations import create_user
    from server.customers.models import Customer, Equipment
    from server.dispatch.operations import schedule_visit
    from server.extensions import db
    from server.register.operations import register_request

    with app.app_context():
        office = create_user("bench-office", "pw", "office")
        engineer = create_user("bench-eng", "pw", "engineer")
        customer = Customer(name="基準客戶", contact_person="周", phone="029-1", address="西安")
        db.session.add(customer)
        db.session.flush()
        item = Equipment(customer_id=customer.id, brand="華為", model="S5735")
        db.session.add(item)
        db.session.flush()
        request = register_request(
            {
                "customer_id": customer.id,
                "equipment_id": item.id,
                "problem": "bench",
                "symptoms": None,
                "channel": "hotline",
                "severity": "normal",
                "urgency": "normal",
                "needs_visit": True,
                "received_at": None,
            },
            office,
        )
        visit = schedule_visit(request, {"engineer_id": engineer.id})
        db.session.commit()
        visit_id, engineer_id, customer_id = visit.id, engineer.id, customer.id
    client = app.test_client()
    device_id = str(uuid.uuid4())
    login = client.post(
        "/api/auth/device", json={"username": "bench-eng", "password": "pw", "device_id": device_id}
    )
    headers = {"Authorization": f"Bearer {login.get_json()['token']}"}
    return client, headers, device_id, visit_id, engineer_id, customer_id


def make_ops(device_id: str, visit_id: int, count: int, start_seq: int = 1) -> list[dict]:
    """Make part events: add-only records, the bulk of what phones send."""
    clock = None
    ops = []
    now = int(time.time() * 1000)
    for i in range(count):
        clock = hlc.tick(clock, now, device_id)
        ops.append(
            {
                "op_id": str(uuid.uuid4()),
                "seq": start_seq + i,
                "kind": "part.add",
                "record_id": str(uuid.uuid4()),
                "visit_id": visit_id,
                "hlc": clock,
                "schema_version": 1,
                "device_time": "2026-11-28T09:15:00+08:00",
                "payload": {
                    "kind": "used",
                    "part_code": f"P{i % 97:03d}",
                    "description": "螺絲 M3",
                    "qty": 1 + i % 3,
                    "unit_cost_fen": 150,
                    "reverses": None,
                },
            }
        )
    return ops


def bench_push(client, headers, device_id, ops) -> float:
    started = time.perf_counter()
    for i in range(0, len(ops), BATCH):
        response = client.post(
            "/api/sync/push",
            headers=headers,
            json={"protocol": 1, "device_id": device_id, "ops": ops[i : i + BATCH]},
        )
        body = response.get_json()
        assert response.status_code == 200, body
        assert all(r["status"] == "applied" for r in body["results"]), body["results"][:3]
    return time.perf_counter() - started


def bench_floor(
    app, device_id, visit_id, engineer_id, ops, commit_each: bool = False, seq_base: int = 100_000
) -> float:
    """Write the same rows (op record, part event, feed entry) with Core bulk inserts.

    In one transaction, as the issue's floor is; with `commit_each`, a commit after each batch,
    as each push must commit before it answers (this tells the cost of durable commits apart).
    """
    from server.db_types import utcnow
    from server.extensions import db
    from server.feed.models import SyncChange, SyncOperation
    from server.visits.field_models import PartEvent

    now = utcnow()
    with app.app_context():
        top = db.session.execute(text("SELECT coalesce(max(position), 0) FROM sync_change"))
        base = top.scalar() + 1
        started = time.perf_counter()
        with db.engine.connect() as conn:
            transaction = conn.begin()
            for i in range(0, len(ops), BATCH):
                if commit_each and i:
                    transaction.commit()
                    transaction = conn.begin()
                batch = ops[i : i + BATCH]
                conn.execute(
                    insert(SyncOperation),
                    [
                        {
                            "op_id": str(uuid.uuid4()),
                            "device_id": device_id,
                            "user_id": engineer_id,
                            "seq": seq_base + i + j,
                            "kind": o["kind"],
                            "record_id": o["record_id"],
                            "visit_id": visit_id,
                            "hlc": o["hlc"],
                            "schema_version": 1,
                            "raw": o,
                            "device_time": o["device_time"],
                            "status": "applied",
                            "result": {"status": "applied"},
                            "received_at": now,
                        }
                        for j, o in enumerate(batch)
                    ],
                )
                conn.execute(
                    insert(PartEvent),
                    [
                        {
                            "id": str(uuid.uuid4()),
                            "visit_id": visit_id,
                            "device_id": device_id,
                            "user_id": engineer_id,
                            "op_id": o["op_id"],
                            "hlc": o["hlc"],
                            "device_time": o["device_time"],
                            "received_at": now,
                            "kind": "used",
                            "part_code": o["payload"]["part_code"],
                            "description": "螺絲",
                            "qty": o["payload"]["qty"],
                            "unit_cost_fen": 150,
                            "reverses_id": None,
                        }
                        for o in batch
                    ],
                )
                conn.execute(
                    insert(SyncChange),
                    [
                        {
                            "position": base + i + j,
                            "entity": "part_event",
                            "entity_id": o["record_id"],
                            "op": "upsert",
                            "visit_id": visit_id,
                            "customer_id": None,
                            "audience_user_id": None,
                            "is_global": False,
                            "data": o["payload"],
                            "created_at": now,
                        }
                        for j, o in enumerate(batch)
                    ],
                )
            # Numbered as the real feed is: the counter covers every stored position.
            conn.execute(
                text("UPDATE sync_counter SET value = :v WHERE id = 1"), {"v": base + len(ops) - 1}
            )
            transaction.commit()
        return time.perf_counter() - started


def bench_pull_all(client, headers) -> tuple[float, int]:
    cursor, count = None, 0
    started = time.perf_counter()
    while True:
        query = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/sync/pull", headers=headers, query_string=query).get_json()
        count += len(body["changes"])
        cursor = body["cursor"]
        if not body["has_more"]:
            return time.perf_counter() - started, count


def fill_feed(app, rows: int, customer_id: int) -> None:
    """Store change rows of other visits, as a big deployment's feed would hold."""
    from server.db_types import utcnow
    from server.extensions import db
    from server.feed.models import SyncChange, SyncCounter

    now = utcnow()
    with app.app_context():
        start = db.session.get(SyncCounter, 1).value + 1
        chunk = 20_000
        with db.engine.begin() as conn:
            for i in range(0, rows, chunk):
                conn.execute(
                    insert(SyncChange),
                    [
                        {
                            "position": start + i + j,
                            "entity": "part_event",
                            "entity_id": f"other-{i + j}",
                            "op": "upsert",
                            "visit_id": 1_000_000 + (i + j) % 5000,
                            "customer_id": None,
                            "audience_user_id": None,
                            "is_global": False,
                            "data": {"qty": 1},
                            "created_at": now,
                        }
                        for j in range(min(chunk, rows - i))
                    ],
                )
            conn.execute(
                text("UPDATE sync_counter SET value = :v WHERE id = 1"), {"v": start + rows - 1}
            )


def bench_small_pull(client, headers, device_id, visit_id, next_seq: int) -> float:
    """Time a pull of 10 new changes, from a cursor at the end of the feed (median of 5)."""
    times = []
    for r in range(5):
        body = client.get("/api/sync/pull", headers=headers, query_string={"limit": 1}).get_json()
        # Walk to the end cheaply: ask for the newest cursor by pulling after the current one.
        cursor = _end_cursor(client, headers, body["cursor"])
        ops = make_ops(device_id, visit_id, 10, start_seq=next_seq + r * 10)
        client.post(
            "/api/sync/push",
            headers=headers,
            json={"protocol": 1, "device_id": device_id, "ops": ops},
        )
        started = time.perf_counter()
        got = client.get(
            "/api/sync/pull", headers=headers, query_string={"cursor": cursor, "limit": 500}
        ).get_json()
        times.append(time.perf_counter() - started)
        assert len(got["changes"]) == 10, len(got["changes"])
    return statistics.median(times)


def make_checklist_ops(device_id: str, visit_id: int, count: int, start_seq: int) -> list[dict]:
    """Make checklist.set ops, each on an item the visit does not hold yet."""
    clock = None
    now = int(time.time() * 1000)
    ops = []
    for i in range(count):
        clock = hlc.tick(clock, now, device_id)
        item = f"bench-{start_seq + i}"
        ops.append(
            {
                "op_id": str(uuid.uuid4()),
                "seq": start_seq + i,
                "kind": "checklist.set",
                "record_id": f"{visit_id}:{item}",
                "visit_id": visit_id,
                "hlc": clock,
                "schema_version": 1,
                "device_time": "2026-11-28T09:15:00+08:00",
                "payload": {"item_id": item, "state": "done", "note": ""},
            }
        )
    return ops


def fill_checklist(app, visit_id: int, engineer_id: int, device_id: str, rows: int) -> None:
    """Store checklist rows on the visit, as a long-running visit's history would hold."""
    from server.db_types import utcnow
    from server.extensions import db
    from server.visits.field_models import ChecklistEntry

    now = utcnow()
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            insert(ChecklistEntry),
            [
                {
                    "visit_id": visit_id,
                    "item_id": f"stored-{i}",
                    "state": "done",
                    "note": "",
                    "device_id": device_id,
                    "user_id": engineer_id,
                    "op_id": str(uuid.uuid4()),
                    "hlc": "0",
                    "device_time": None,
                    "received_at": now,
                }
                for i in range(rows)
            ],
        )


def second_visit(app, engineer_id: int, customer_id: int) -> int:
    """Schedule another visit for the bench engineer; return its id."""
    from server.accounts.models import User
    from server.customers.models import Equipment
    from server.dispatch.operations import schedule_visit
    from server.extensions import db
    from server.register.operations import register_request

    with app.app_context():
        office = db.session.scalars(select(User).where(User.username == "bench-office")).one()
        item = db.session.scalars(select(Equipment).where(Equipment.customer_id == customer_id))
        request = register_request(
            {
                "customer_id": customer_id,
                "equipment_id": item.first().id,
                "problem": "bench, second visit",
                "symptoms": None,
                "channel": "hotline",
                "severity": "normal",
                "urgency": "normal",
                "needs_visit": True,
                "received_at": None,
            },
            office,
        )
        visit = schedule_visit(request, {"engineer_id": engineer_id})
        db.session.commit()
        return visit.id


def bench_checklist_push(client, headers, device_id, visits: list[int], next_seq: int) -> list:
    """Time pushes of 10 checklist ops on each visit, taking turns (median of 9 per visit).

    Taking turns, a swing in the machine's load falls on both visits alike.
    """
    times: list[list[float]] = [[] for _ in visits]
    seq = next_seq
    for _ in range(9):
        for i, visit_id in enumerate(visits):
            ops = make_checklist_ops(device_id, visit_id, 10, seq)
            seq += 10
            started = time.perf_counter()
            response = client.post(
                "/api/sync/push",
                headers=headers,
                json={"protocol": 1, "device_id": device_id, "ops": ops},
            )
            times[i].append(time.perf_counter() - started)
            body = response.get_json()
            assert all(x["status"] == "applied" for x in body["results"]), body["results"][:3]
    return [statistics.median(t) for t in times]


def _end_cursor(client, headers, cursor: str) -> str:
    while True:
        body = client.get(
            "/api/sync/pull", headers=headers, query_string={"cursor": cursor, "limit": 1000}
        ).get_json()
        cursor = body["cursor"]
        if not body["has_more"]:
            return cursor


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(db_url: str | None, big_rows: int) -> dict:
    figures: dict = {}
    with database(db_url) as url:
        app = build_app(url)
        client, headers, device_id, visit_id, engineer_id, customer_id = setup_field(app)
        ops = make_ops(device_id, visit_id, OPS)
        say(f"pushing {OPS} ops")
        # CPU time too: on a shared machine wall time swings with other work; this process's
        # CPU is the whole cost on SQLite (on PostgreSQL the database server's is not in it).
        cpu = time.process_time()
        push_s = bench_push(client, headers, device_id, ops)
        push_cpu = time.process_time() - cpu
        say("floor")
        cpu = time.process_time()
        floor_s = bench_floor(app, device_id, visit_id, engineer_id, ops)
        floor_cpu = time.process_time() - cpu
        say("floor, committing each batch")
        committed_s = bench_floor(
            app, device_id, visit_id, engineer_id, ops, commit_each=True, seq_base=200_000
        )
        say("pulling")
        pull_s, pulled = bench_pull_all(client, headers)
        figures.update(
            database=url.split("://")[0],
            push_ops=OPS,
            push_seconds=round(push_s, 3),
            push_ops_per_s=round(OPS / push_s),
            floor_seconds=round(floor_s, 3),
            floor_rows_per_s=round(OPS / floor_s),
            push_vs_floor=round(push_s / floor_s, 2),
            push_vs_floor_cpu=round(push_cpu / floor_cpu, 2),
            floor_committed_seconds=round(committed_s, 3),
            push_vs_floor_committed=round(push_s / committed_s, 2),
            pull_changes=pulled,
            pull_seconds=round(pull_s, 3),
            pull_changes_per_s=round(pulled / pull_s),
        )
        seq = OPS + 1
        say("checklist pushes on a visit without and with stored checklist rows")
        empty_visit = second_visit(app, engineer_id, customer_id)
        fill_checklist(app, visit_id, engineer_id, device_id, VISIT_ROWS)
        checklist_empty, checklist_full = bench_checklist_push(
            client, headers, device_id, [empty_visit, visit_id], seq
        )
        seq += 180
        figures.update(
            checklist10_ms_empty=round(checklist_empty * 1000, 2),
            checklist10_ms_full=round(checklist_full * 1000, 2),
            visit_rows=VISIT_ROWS,
            push_full_vs_empty=round(checklist_full / checklist_empty, 2),
        )
        stored = app.app_context()
        with stored:
            from server.extensions import db

            total = db.session.execute(text("SELECT count(*) FROM sync_change")).scalar()
        fill_feed(app, max(0, 1000 - total), customer_id)
        small_1k = bench_small_pull(client, headers, device_id, visit_id, seq)
        seq += 50
        say(f"storing {big_rows} more feed rows")
        fill_feed(app, big_rows, customer_id)
        say("small pull")
        small_1m = bench_small_pull(client, headers, device_id, visit_id, seq)
        figures.update(
            pull10_ms_with_1k=round(small_1k * 1000, 2),
            pull10_ms_with_1m=round(small_1m * 1000, 2),
            big_feed_rows=big_rows,
            pull_1m_vs_1k=round(small_1m / small_1k, 2),
        )
        with app.app_context():
            from server.extensions import db

            db.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        default=os.environ.get("ONSITE_BENCH_DB"),
        help="database URL (default: SQLite in a temporary file)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--big-rows", type=int, default=1_000_000, help="feed rows stored for the large pull case"
    )
    args = parser.parse_args()
    figures = run(args.db, args.big_rows)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"database: {figures['database']}")
    print(
        f"push:  {figures['push_ops']} ops in {figures['push_seconds']} s = "
        f"{figures['push_ops_per_s']} ops/s"
    )
    print(
        f"floor: same rows by Core bulk insert in {figures['floor_seconds']} s = "
        f"{figures['floor_rows_per_s']} rows/s"
    )
    print(f"push_vs_floor: {figures['push_vs_floor']}x (aim: at most 2x)")
    print(f"push_vs_floor_cpu: {figures['push_vs_floor_cpu']}x (this process's CPU time)")
    print(
        f"floor committing each batch of {BATCH}, as each push commits: "
        f"{figures['floor_committed_seconds']} s; "
        f"push_vs_floor_committed: {figures['push_vs_floor_committed']}x (not the aim's floor)"
    )
    print(
        f"push of 10 checklist ops: {figures['checklist10_ms_empty']} ms on a visit with no "
        f"checklist rows, {figures['checklist10_ms_full']} ms with {figures['visit_rows']}"
    )
    print(f"push_full_vs_empty: {figures['push_full_vs_empty']}x (aim: near 1)")
    print(
        f"pull:  {figures['pull_changes']} changes in {figures['pull_seconds']} s = "
        f"{figures['pull_changes_per_s']} changes/s"
    )
    print(
        f"pull of 10 new changes: {figures['pull10_ms_with_1k']} ms with 1 000 rows stored, "
        f"{figures['pull10_ms_with_1m']} ms with {figures['big_feed_rows']} rows"
    )
    print(f"pull_1m_vs_1k: {figures['pull_1m_vs_1k']}x (aim: within 1.5x)")


if __name__ == "__main__":
    main()
