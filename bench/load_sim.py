"""Load simulator: engineers' phones syncing every 30 s against gunicorn on PostgreSQL.

    .venv/bin/python bench/load_sim.py --db postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/load_sim.py --db ... --stages 250,500,1000,2000 --stage-seconds 40

A database of its own is made on that server (and dropped afterwards). Engineers are created with
one visit each (through the same services the office uses), each phone signs in for real
(POST /api/auth/device) and makes its first full pull; then stages of more and more engineers
run. Each engineer, at its own phase, every --period seconds: pushes 1-5 ops (part events) and
pulls conditionally (If-None-Match, as the app does), through a pool of keep-alive connections
to gunicorn (deploy/gunicorn.conf.py, its workers and threads as the recipe sets them unless
--workers or --threads say otherwise) on 127.0.0.1, as nginx's upstream pool would.

A stage is held when its p99 latency stays under --p99-ms with no errors and every cycle started
on time. Prints a line per stage (cycles/s, latency percentiles, errors, and CPU per cycle of the
app server, of this run's PostgreSQL backends when the server is on this machine, and of the
simulator itself: all three share the cores), and the highest number of engineers held. The run
is bounded: --stages, --stage-seconds and a timeout on every request. Loopback only. Where the
server runs with autovacuum off, each stage starts with an ANALYZE, as autovacuum would keep the
statistics of the growing tables (the run says so).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sync_bench import build_app, database  # noqa: E402

from sync import hlc  # noqa: E402

REQUEST_TIMEOUT_S = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- HTTP, minimal


class Pool:
    """Keep-alive HTTP/1.1 connections to one loopback address; a request waits for a free one."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self.free: asyncio.Queue = asyncio.Queue()
        for _ in range(size):
            self.free.put_nowait(None)  # opened lazily

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = await self.free.get()
        try:
            for attempt in range(2):
                if conn is None:
                    conn = await asyncio.open_connection("127.0.0.1", self.port)
                try:
                    answer = await asyncio.wait_for(
                        _exchange(conn, method, path, headers, body), REQUEST_TIMEOUT_S
                    )
                except (ConnectionError, asyncio.IncompleteReadError) as exc:
                    # The server closed an idle keep-alive connection: reconnect once. A push sent
                    # twice is harmless (ops are applied once by op_id).
                    conn[1].close()
                    conn = None
                    if attempt:
                        raise ConnectionError(str(exc)) from exc
                    continue
                if answer[1].get("connection", "").lower() == "close":
                    conn[1].close()
                    conn = None
                return answer
            raise AssertionError("unreachable")
        except BaseException:
            if conn is not None:
                conn[1].close()
            conn = None
            raise
        finally:
            self.free.put_nowait(conn)

    async def close(self) -> None:
        while not self.free.empty():
            conn = self.free.get_nowait()
            if conn is not None:
                conn[1].close()


async def _exchange(conn, method, path, headers, body):
    reader, writer = conn
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
    await writer.drain()
    status_line = await reader.readuntil(b"\r\n")
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    got: dict[str, str] = {}
    while True:
        line = await reader.readuntil(b"\r\n")
        if line == b"\r\n":
            break
        name, _, value = line.decode("latin-1").partition(":")
        got[name.strip().lower()] = value.strip()
    length = int(got.get("content-length", "0"))
    data = await reader.readexactly(length) if length else b""
    return status, got, data


# ----------------------------------------------------------------------------- the phones


@dataclass
class Phone:
    device_id: str
    token: str
    visit_id: int
    cursor: str | None = None
    seq: int = 0
    clock: str | None = None

    def ops(self, count: int) -> list[dict]:
        out = []
        for _ in range(count):
            self.seq += 1
            self.clock = hlc.tick(self.clock, int(time.time() * 1000), self.device_id)
            out.append(
                {
                    "op_id": str(uuid.uuid4()),
                    "seq": self.seq,
                    "kind": "part.add",
                    "record_id": str(uuid.uuid4()),
                    "visit_id": self.visit_id,
                    "hlc": self.clock,
                    "schema_version": 1,
                    "device_time": "2026-11-30T09:15:00+08:00",
                    "payload": {
                        "kind": "used",
                        "part_code": "SCREW",
                        "description": "螺絲 M3",
                        "qty": 1,
                        "unit_cost_fen": 150,
                        "reverses": None,
                    },
                }
            )
        return out


@dataclass
class Stage:
    engineers: int
    push_ms: list[float] = field(default_factory=list)
    pull_ms: list[float] = field(default_factory=list)
    cycle_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    late: int = 0
    cycles: int = 0


async def pull_until_done(pool: Pool, phone: Phone, stage: Stage | None) -> None:
    for _ in range(100):
        query = f"?cursor={phone.cursor}&limit=500" if phone.cursor else "?limit=500"
        headers = {"Authorization": f"Bearer {phone.token}"}
        if phone.cursor:
            headers["If-None-Match"] = f'"{phone.cursor}"'
        started = time.perf_counter()
        status, _, body = await pool.request("GET", "/api/sync/pull" + query, headers)
        if stage is not None:
            stage.pull_ms.append((time.perf_counter() - started) * 1000)
        if status == 304:
            return
        if status != 200:
            raise RuntimeError(f"pull {status}: {body[:200]!r}")
        page = json.loads(body)
        phone.cursor = page["cursor"]
        if not page["has_more"]:
            return
    raise RuntimeError("pull did not finish in 100 pages")


async def cycle(pool: Pool, phone: Phone, stage: Stage, rng: random.Random) -> None:
    started = time.perf_counter()
    ops = phone.ops(rng.randint(1, 5))
    body = json.dumps({"protocol": 1, "device_id": phone.device_id, "ops": ops}).encode()
    headers = {"Authorization": f"Bearer {phone.token}", "Content-Type": "application/json"}
    status, _, answer = await pool.request("POST", "/api/sync/push", headers, body)
    stage.push_ms.append((time.perf_counter() - started) * 1000)
    if status != 200:
        raise RuntimeError(f"push {status}: {answer[:200]!r}")
    results = json.loads(answer)["results"]
    if any(r["status"] != "applied" for r in results):
        raise RuntimeError(f"push results {[r['status'] for r in results]}")
    await pull_until_done(pool, phone, stage)
    stage.cycle_ms.append((time.perf_counter() - started) * 1000)


async def run_stage(pool: Pool, phones: list[Phone], seconds: float, period: float) -> Stage:
    stage = Stage(len(phones))
    rng = random.Random(len(phones))
    begin = time.perf_counter() + 0.5
    end = begin + seconds

    async def engineer(phone: Phone, phase: float) -> None:
        due = begin + phase
        while due < end:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:
                stage.late += 1  # the simulator (or the server's backlog) fell behind
            try:
                await cycle(pool, phone, stage, rng)
            except Exception as exc:
                stage.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            stage.cycles += 1
            due += period

    await asyncio.wait_for(
        asyncio.gather(*(engineer(p, rng.uniform(0, period)) for p in phones)),
        seconds + period + 2 * REQUEST_TIMEOUT_S,
    )
    return stage


# ----------------------------------------------------------------------------- setup


def make_field(app, count: int) -> list[tuple[str, int]]:
    """Create engineers with one assigned visit each; return (username, visit id)."""
    from server.accounts.operations import create_user
    from server.customers.models import Customer
    from server.dispatch.operations import schedule_visit
    from server.extensions import db
    from server.register.operations import register_request

    out = []
    with app.app_context():
        office = create_user("sim-office", "pw", "office")
        customers = []
        for i in range(max(1, count // 10)):
            customer = Customer(
                name=f"模擬客戶{i}", contact_person="周", phone=f"029-{i:06d}", address="西安"
            )
            db.session.add(customer)
            customers.append(customer)
        db.session.flush()
        for i in range(count):
            engineer = create_user(f"sim-eng{i}", "pw", "engineer")
            request = register_request(
                {
                    "customer_id": customers[i % len(customers)].id,
                    "equipment_id": None,
                    "problem": "模擬",
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
            out.append((engineer.username, visit.id))
            if i % 200 == 199:
                db.session.commit()
        db.session.commit()
    return out


async def sign_in_all(pool: Pool, field_: list[tuple[str, int]]) -> list[Phone]:
    async def one(username: str, visit_id: int) -> Phone:
        device_id = str(uuid.uuid4())
        body = json.dumps({"username": username, "password": "pw", "device_id": device_id})
        status, _, answer = await pool.request(
            "POST", "/api/auth/device", {"Content-Type": "application/json"}, body.encode()
        )
        if status != 201:
            raise RuntimeError(f"sign-in {status}: {answer[:200]!r}")
        phone = Phone(device_id, json.loads(answer)["token"], visit_id)
        await pull_until_done(pool, phone, None)
        return phone

    phones = []
    for start in range(0, len(field_), 200):
        phones += await asyncio.gather(*(one(u, v) for u, v in field_[start : start + 200]))
    return phones


def cpu_seconds(master_pid: int) -> float:
    """User + system CPU of the gunicorn master and its live workers."""
    return sum(_proc_cpu(pid) or 0.0 for pid in _gunicorn_pids(master_pid))


def _gunicorn_pids(master_pid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(stat.rsplit(")", 1)[1].split()[1])
        if pid == master_pid or ppid == master_pid:
            pids.append(pid)
    return pids


def _proc_cpu(pid: int) -> float | None:
    try:
        fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields_[11]) + int(fields_[12])) / CLK_TCK


class ProcessCpu:
    """CPU of a changing set of processes, sampled every second while a stage runs.

    A process that ends mid-stage (a gunicorn worker recycled after max_requests, a pooled
    database connection closed) loses at most its last second instead of taking all its CPU
    out of the sum; one that starts mid-stage counts from when it was first seen.
    """

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}

    def _pids(self) -> list[int]:
        raise NotImplementedError

    def sample(self) -> None:
        for pid in self._pids():
            cpu = _proc_cpu(pid)
            if cpu is not None:
                self.first.setdefault(pid, cpu)
                self.last[pid] = cpu

    def seconds(self) -> float | None:
        if not self.last:
            return None
        return sum(self.last[p] - self.first[p] for p in self.last)

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.sample)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
        await asyncio.to_thread(self.sample)


class AppCpu(ProcessCpu):
    """CPU of the gunicorn master and its workers."""

    def __init__(self, master_pid: int) -> None:
        super().__init__()
        self.master_pid = master_pid

    def _pids(self) -> list[int]:
        return _gunicorn_pids(self.master_pid)


class DbCpu(ProcessCpu):
    """CPU of this run's PostgreSQL backends, when the server runs on this machine.

    The database shares the cores with the app, so its CPU per cycle counts as much. Backends
    are found by database name; with a remote server there is nothing to read (None).
    """

    def __init__(self, app) -> None:
        super().__init__()
        self.app = app

    def _pids(self) -> list[int]:
        from sqlalchemy import text

        from server.extensions import db

        with self.app.app_context(), db.engine.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalars()
            )


def analyze_as_autovacuum_would(app) -> bool:
    """Refresh the planner's statistics when the server's autovacuum is off; return whether.

    A server in service analyzes a table once a tenth of it has changed. With autovacuum off
    (as on some test machines) the tables this run fills keep no statistics, and the plans
    each connection caches early, for nearly empty tables, stay in use as the tables grow.
    """
    from sqlalchemy import text

    from server.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if conn.scalar(text("SHOW autovacuum")) == "on":
            return False
        conn.execute(text("ANALYZE"))
        return True


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ----------------------------------------------------------------------------- main


async def simulate(args, app, port: int, master_pid: int, field_) -> None:
    pool = Pool(port, args.connections)
    try:
        t0 = time.perf_counter()
        phones = await sign_in_all(pool, field_)
        print(f"signed in {len(phones)} phones in {time.perf_counter() - t0:.1f} s", flush=True)
        held, failed = 0, False
        print(
            "engineers  cycles/s  push p50/p99 ms  pull p50/p99 ms  cycle p99 ms  errors  late"
            "  CPU/cycle ms: app  db  sim",
            flush=True,
        )
        for n in args.stages:
            if analyze_as_autovacuum_would(app) and n == args.stages[0]:
                print("autovacuum is off: ANALYZE before each stage", flush=True)
            sim0 = time.process_time()
            app_cpu, db_cpu, stop = AppCpu(master_pid), DbCpu(app), asyncio.Event()
            watchers = [asyncio.create_task(w.watch(stop)) for w in (app_cpu, db_cpu)]
            stage = await run_stage(pool, phones[:n], args.stage_seconds, args.period)
            stop.set()
            await asyncio.gather(*watchers)
            cpu = app_cpu.seconds() or 0.0
            sim = time.process_time() - sim0
            cycles = max(1, len(stage.cycle_ms))
            db_seconds = db_cpu.seconds()
            db_ms = "n/a" if db_seconds is None else f"{db_seconds * 1000 / cycles:.2f}"
            p99 = pct(stage.cycle_ms, 0.99)
            ok = not stage.errors and stage.late == 0 and p99 < args.p99_ms
            print(
                f"{n:9d}  {stage.cycles / args.stage_seconds:8.1f}  "
                f"{pct(stage.push_ms, 0.5):6.1f}/{pct(stage.push_ms, 0.99):7.1f}  "
                f"{pct(stage.pull_ms, 0.5):6.1f}/{pct(stage.pull_ms, 0.99):7.1f}  "
                f"{p99:12.1f}  {len(stage.errors):6d}  {stage.late:4d}  "
                f"{cpu * 1000 / cycles:8.2f} {db_ms:>5} {sim * 1000 / cycles:5.2f}"
                f"  {'held' if ok else 'NOT held'}",
                flush=True,
            )
            if stage.errors:
                print("  first errors:", statistics.multimode(stage.errors)[:3], flush=True)
            if not ok:
                failed = True
                if not args.keep_going:
                    break
            elif not failed:
                held = n
        print(f"highest number of engineers held (p99 < {args.p99_ms:.0f} ms, 0 errors): {held}")
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="PostgreSQL server URL")
    parser.add_argument("--stages", default="250,500,1000,1500,2000,3000,4000,5000")
    parser.add_argument("--stage-seconds", type=float, default=60.0)
    parser.add_argument("--period", type=float, default=30.0, help="seconds between syncs")
    parser.add_argument("--p99-ms", type=float, default=300.0)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    # The recipe's default (deploy/gunicorn.conf.py): one thread, gunicorn's sync worker, which
    # closes each connection, so every request is taken by whichever worker is free. With
    # threads > 1 (the gthread worker) a keep-alive connection stays with the worker that
    # accepted it, and one worker may hold most of the pool's: seen here, one of five workers
    # serving nearly every request, its one core the limit.
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument(
        "--keep-going", action="store_true", help="run every stage, even after one is not held"
    )
    parser.add_argument("--connections", type=int, default=32, help="keep-alive pool size")
    args = parser.parse_args()
    args.stages = [int(s) for s in args.stages.split(",")]
    with database(args.db) as url:
        app = build_app(url)
        t0 = time.perf_counter()
        field_ = make_field(app, max(args.stages))
        print(f"made {len(field_)} engineers with a visit each in {time.perf_counter() - t0:.1f} s")
        with gunicorn(url, args.workers, args.threads) as (port, pid):
            try:
                asyncio.run(simulate(args, app, port, pid, field_))
            finally:
                with app.app_context():
                    from server.extensions import db

                    db.engine.dispose()


@contextlib.contextmanager
def gunicorn(url: str, workers: int | None, threads: int):
    """Serve the app on a free loopback port as deploy/ does; yield (port, master pid)."""
    port = _free_port()
    env = {
        **os.environ,
        "ONSITE_ENV": "production",
        "ONSITE_SECRET_KEY": uuid.uuid4().hex * 2,
        "ONSITE_DATABASE_URL": url,
        "ONSITE_BIND": f"127.0.0.1:{port}",
        "ONSITE_THREADS": str(threads),
        "PROMETHEUS_MULTIPROC_DIR": f"/tmp/onsite-bench-metrics-{port}",
    }
    if workers:
        env["ONSITE_WORKERS"] = str(workers)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
