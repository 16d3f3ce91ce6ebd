"""Sync across real server processes sharing one database: concurrency, a process killed mid-push.

The servers are separate operating-system processes (waitress), as behind a load balancer, so
nothing can lean on shared memory; the database is the run's own (SQLite or PostgreSQL).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.accounts.models import Device
from server.extensions import db
from server.feed.models import SyncOperation
from server.visits.field_models import PartEvent
from sync import hlc

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """One Onsite server process on 127.0.0.1."""

    def __init__(
        self,
        database_url: str,
        app: str = "server:create_app",
        env_extra: dict[str, str] | None = None,
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "ONSITE_DATABASE_URL": database_url,
            "ONSITE_ENV": "development",
            **(env_extra or {}),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "waitress",
                "--host=127.0.0.1",
                f"--port={self.port}",
                "--threads=4",
                "--call",
                app,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server process did not start: " + self.proc.stderr.read().decode())

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def call(
    url: str,
    method: str = "GET",
    body: dict | None = None,
    token: str | None = None,
    timeout: float = 60,
):
    """Make one HTTP call; return (status, json body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture
def servers(app, database_url):
    started: list[ServerProcess] = []

    def start(n: int = 1, **kw) -> list[ServerProcess]:
        new = [ServerProcess(database_url, **kw) for _ in range(n)]
        started.extend(new)
        return new

    yield start
    for server in started:
        server.stop()


def _sign_in(base: str, username: str) -> tuple[str, str]:
    device_id = str(uuid.uuid4())
    status, body = call(
        f"{base}/api/auth/device",
        "POST",
        {"username": username, "password": "pw", "device_id": device_id},
    )
    assert status == 201, body
    return device_id, body["token"]


def _part_ops(device_id: str, visit_id: int, count: int, first_seq: int = 1) -> list[dict]:
    clock = None
    ops = []
    for i in range(count):
        clock = hlc.tick(clock, int(time.time() * 1000), device_id)
        ops.append(
            {
                "op_id": str(uuid.uuid4()),
                "seq": first_seq + i,
                "kind": "part.add",
                "record_id": str(uuid.uuid4()),
                "visit_id": visit_id,
                "hlc": clock,
                "schema_version": 1,
                "device_time": "2026-11-28T10:00:00+08:00",
                "payload": {
                    "kind": "used",
                    "part_code": "SCREW",
                    "description": "螺絲",
                    "qty": 1,
                    "unit_cost_fen": 10,
                    "reverses": None,
                },
            }
        )
    return ops


def test_concurrent_pushers_and_pullers_across_processes(make, servers):
    engineer = make.user("engineer", username="field1")
    visit = make.visit(engineer=engineer)
    visit_id = visit.id
    nodes = servers(3)
    pushers = [_sign_in(nodes[0].url, "field1") for _ in range(3)]
    pullers = [_sign_in(nodes[1].url, "field1") for _ in range(2)]
    errors: list = []
    done = threading.Event()
    received: dict[str, list[str]] = {token: [] for _, token in pullers}
    cursors: dict[str, str | None] = {token: None for _, token in pullers}

    def send(node: ServerProcess, device_id: str, token: str, batch: list, out: list) -> None:
        out.append(
            call(
                f"{node.url}/api/sync/push",
                "POST",
                {"protocol": 1, "device_id": device_id, "ops": batch},
                token,
            )
        )

    def push(device_id: str, token: str) -> None:
        ops = _part_ops(device_id, visit_id, 120)
        for start in range(0, len(ops), 20):
            batch = ops[start : start + 20]
            # Some batches are sent twice, to two processes at once: a retry racing the original.
            targets = random.sample(nodes, 2 if start % 40 == 0 else 1)
            results: list = []
            threads = [
                threading.Thread(target=send, args=(n, device_id, token, batch, results))
                for n in targets
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for status, body in results:
                if status != 200:
                    errors.append((status, body))
                elif any(r["status"] not in ("applied", "duplicate") for r in body["results"]):
                    errors.append(body["results"])

    def pull(token: str) -> None:
        while True:
            finished = done.is_set()
            node = random.choice(nodes)
            query = f"?limit=50&cursor={cursors[token]}" if cursors[token] else "?limit=50"
            status, body = call(f"{node.url}/api/sync/pull{query}", token=token)
            if status != 200:
                errors.append((status, body))
                return
            received[token].extend(c["id"] for c in body["changes"] if c["entity"] == "part_event")
            cursors[token] = body["cursor"]
            if finished and not body["has_more"]:
                return

    push_threads = [threading.Thread(target=push, args=p) for p in pushers]
    pull_threads = [threading.Thread(target=pull, args=(token,)) for _, token in pullers]
    for t in push_threads + pull_threads:
        t.start()
    for t in push_threads:
        t.join(120)
    done.set()
    for t in pull_threads:
        t.join(120)
    assert errors == []
    db.session.expire_all()
    stored = set(db.session.scalars(select(PartEvent.id)))
    assert len(stored) == 3 * 120
    for ids in received.values():
        assert len(ids) == len(set(ids)), "a puller received a change twice"
        assert set(ids) == stored, "a puller missed a change"
    for device_id, _ in pushers:
        assert db.session.get(Device, device_id).last_seq == 120


def test_a_server_killed_mid_push_keeps_acknowledged_ops_and_nothing_doubles(
    make, servers, tmp_path
):
    """The push is stopped inside the store with its writes done but not committed, then killed."""
    engineer = make.user("engineer", username="field1")
    visit_id = make.visit(engineer=engineer).id
    marker = tmp_path / "blocked"
    (first,) = servers(
        1,
        app="tests.server.blocking_app:create_app",
        env_extra={"ONSITE_TEST_BLOCK_FILE": str(marker), "ONSITE_TEST_BLOCK_FROM_SEQ": "101"},
    )
    device_id, token = _sign_in(first.url, "field1")
    ops = _part_ops(device_id, visit_id, 600)
    acknowledged = {"protocol": 1, "device_id": device_id, "ops": ops[:100]}
    status, answer = call(f"{first.url}/api/sync/push", "POST", acknowledged, token)
    assert status == 200 and {r["status"] for r in answer["results"]} == {"applied"}
    unacknowledged = {"protocol": 1, "device_id": device_id, "ops": ops[100:]}
    outcome: list = []
    sender = threading.Thread(
        target=lambda: outcome.append(
            _swallow(lambda: call(f"{first.url}/api/sync/push", "POST", unacknowledged, token))
        )
    )
    sender.start()
    deadline = time.monotonic() + 60
    while not marker.exists():  # the push is inside the store, all 500 ops written
        assert time.monotonic() < deadline, "the push never reached the store"
        assert sender.is_alive(), outcome
        time.sleep(0.02)
    assert marker.read_text() == "600"
    first.kill()
    sender.join(30)
    assert not sender.is_alive() and not isinstance(outcome[0], tuple), outcome
    db.session.expire_all()
    # The acknowledged ops survive; the killed push left nothing behind.
    assert db.session.scalar(select(func.count()).select_from(SyncOperation)) == 100
    assert db.session.scalar(select(func.count()).select_from(PartEvent)) == 100
    assert db.session.get(Device, device_id).last_seq == 100
    # The phone re-sends everything it holds (in pushes of at most 500), twice; nothing doubles.
    (second,) = servers(1)
    for first_time in (True, False):
        statuses: list[str] = []
        for batch in (ops[:500], ops[500:]):
            body = {"protocol": 1, "device_id": device_id, "ops": batch}
            status, answer = call(f"{second.url}/api/sync/push", "POST", body, token)
            assert status == 200
            statuses += [r["status"] for r in answer["results"]]
        fresh = ["applied"] * 500 if first_time else ["duplicate"] * 500
        assert statuses == ["duplicate"] * 100 + fresh
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(PartEvent)) == 600
    assert db.session.scalar(select(func.count()).select_from(SyncOperation)) == 600
    assert db.session.get(Device, device_id).last_seq == 600


def _swallow(fn):
    try:
        return fn()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        return exc
