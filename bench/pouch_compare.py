"""Push over real HTTP, side by side: Onsite (SQLite, PostgreSQL) against PouchDB, in one run.

    (cd bench/pouch && npm install)        # once: pouchdb, express-pouchdb (LevelDB)
    .venv/bin/python bench/pouch_compare.py --db postgresql://postgres@127.0.0.1:5432/postgres

The same 10,000 records (part events) go in batches of 500 from one client to each server:

- Onsite: the production recipe (gunicorn with deploy/gunicorn.conf.py on a loopback port), one
  signed-in device pushing sync ops of 500, one request at a time, as the app does; on a SQLite
  file, then (with --db) on a PostgreSQL database made for the run and dropped afterwards.
- PouchDB: a Node process replicating a local LevelDB database to express-pouchdb (LevelDB) with
  `batch_size: 500` (PouchDB's own replication: `_revs_diff`, then `_bulk_docs`).

Prints, for each, ops/s and the server's CPU per pushed op (the app's processes; on PostgreSQL
its backends' CPU is printed beside, when the server runs on this machine), then the ratio of
each Onsite figure to PouchDB's. The last line is JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_sim import DbCpu, _free_port, _proc_cpu, cpu_seconds, gunicorn, make_field  # noqa: E402
from sync_bench import BATCH, OPS, build_app, database, make_ops  # noqa: E402

POUCH_DIR = ROOT / "bench" / "pouch"


def onsite(url: str) -> dict:
    """Push OPS part events in batches of BATCH to Onsite under gunicorn; return the figures."""
    app = build_app(url)
    try:
        [(username, visit_id)] = make_field(app, 1)
        with gunicorn(url, None, 4) as (port, pid):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            device_id = str(uuid.uuid4())
            body = {"username": username, "password": "pw", "device_id": device_id}
            status, answer = _post(conn, "/api/auth/device", body, {})
            assert status == 201, answer
            headers = {"Authorization": f"Bearer {answer['token']}"}
            ops = make_ops(device_id, visit_id, OPS)
            db_cpu = DbCpu(app) if url.startswith("postgres") else None
            if db_cpu is not None:
                db_cpu.sample()
            cpu0, started = cpu_seconds(pid), time.perf_counter()
            for i in range(0, OPS, BATCH):
                push = {"protocol": 1, "device_id": device_id, "ops": ops[i : i + BATCH]}
                status, answer = _post(conn, "/api/sync/push", push, headers)
                assert status == 200, answer
                assert all(r["status"] == "applied" for r in answer["results"]), answer
            seconds = time.perf_counter() - started
            cpu = cpu_seconds(pid) - cpu0
            conn.close()
            db_seconds = None
            if db_cpu is not None:
                db_cpu.sample()
                db_seconds = db_cpu.seconds()
    finally:
        with app.app_context():
            from server.extensions import db

            db.engine.dispose()
    return _figures(seconds, cpu, db_seconds)


def _post(conn: http.client.HTTPConnection, path: str, body: dict, headers: dict):
    data = json.dumps(body).encode()
    conn.request("POST", path, data, {**headers, "Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"null")


def pouch() -> dict:
    """Replicate the same records from a local PouchDB to express-pouchdb; return the figures."""
    if not (POUCH_DIR / "node_modules" / "express-pouchdb").exists():
        raise SystemExit(f"PouchDB is not installed: run `npm install` in {POUCH_DIR}")
    work = Path(tempfile.mkdtemp(prefix="onsite-pouch-"))
    server = None
    try:
        (work / "server").mkdir()
        (work / "client").mkdir()
        records = work / "records.json"
        records.write_text(
            json.dumps([_document(op) for op in make_ops(str(uuid.uuid4()), 1, OPS)])
        )
        port = _free_port()
        server = subprocess.Popen(
            ["node", "server.cjs", str(port), str(work / "server")],
            cwd=POUCH_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if server.stdout.readline().strip() != "ready":
            raise SystemExit("express-pouchdb did not start")
        url = f"http://127.0.0.1:{port}/bench"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("PUT", "/bench")
        assert conn.getresponse().status in (201, 412)
        conn.close()
        cpu0 = _proc_cpu(server.pid) or 0.0
        run = subprocess.run(
            ["node", "push.cjs", url, str(records), str(work / "client"), str(BATCH)],
            cwd=POUCH_DIR,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        cpu = (_proc_cpu(server.pid) or 0.0) - cpu0
        result = json.loads(run.stdout.strip().splitlines()[-1])
        assert result["ok"] and result["docs_written"] == OPS, result
        return _figures(result["seconds"], cpu, None)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


def _document(op: dict) -> dict:
    """The record a part.add op carries, as a PouchDB document with the same fields."""
    return {
        "_id": op["record_id"],
        "type": "part_event",
        "visit_id": op["visit_id"],
        "op_id": op["op_id"],
        "seq": op["seq"],
        "hlc": op["hlc"],
        "device_time": op["device_time"],
        **op["payload"],
    }


def _figures(seconds: float, cpu: float, db_cpu: float | None) -> dict:
    return {
        "ops_per_s": round(OPS / seconds),
        "seconds": round(seconds, 3),
        "server_cpu_us_per_op": round(cpu * 1e6 / OPS),
        "db_cpu_us_per_op": None if db_cpu is None else round(db_cpu * 1e6 / OPS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="PostgreSQL server URL (adds Onsite on it)")
    args = parser.parse_args()
    figures: dict[str, dict] = {}
    figures["pouchdb"] = pouch()
    with tempfile.TemporaryDirectory() as tmp:
        figures["onsite_sqlite"] = onsite(f"sqlite:///{tmp}/bench.sqlite3")
    if args.db:
        with database(args.db) as url:
            figures["onsite_postgresql"] = onsite(url)
    base = figures["pouchdb"]
    print(f"{OPS} records in batches of {BATCH}, one client, over HTTP on 127.0.0.1")
    columns = ("ops/s", "vs PouchDB", "server CPU/op", "db CPU/op")
    print(f"{'server':20s} {columns[0]:>8s} {columns[1]:>11s} {columns[2]:>14s} {columns[3]:>10s}")
    for name, f in figures.items():
        f["ops_vs_pouchdb"] = round(f["ops_per_s"] / base["ops_per_s"], 2)
        db = "" if f["db_cpu_us_per_op"] is None else f"{f['db_cpu_us_per_op']} µs"
        print(
            f"{name:20s} {f['ops_per_s']:8d} {f['ops_vs_pouchdb']:10.2f}x "
            f"{f['server_cpu_us_per_op']:11d} µs {db:>10s}"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
