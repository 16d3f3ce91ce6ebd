"""Office and finance pages with a year of a 50-engineer company behind them (PostgreSQL).

Run from the repository root in the project's environment:

    .venv/bin/python bench/office_pages.py --db postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/office_pages.py --db ... --scale 0.25 --repeat 10 --json

A database of its own is created on that server, brought to the latest migration, filled with
set-based bulk inserts (INSERT ... SELECT FROM generate_series, no row-by-row Python), and
dropped afterwards. At --scale 1: 60 000 requests and visits, 1 500 000 checklist rows, 400 000
feed changes, 360 000 sync operations, callbacks, complaints, follow-ups, parts and payments over
the 365 days before now, with the last day's work still open; each engineer's cash handed over
the next morning, and every day older than a week reconciled.

The stored figures are filled in as `onsite upgrade` does (the handovers and the locked days are
written after them, from the visits' stored business days), and the process freezes its start-up
heap as a serving process does. Each page is fetched once to warm up, then --repeat times through
the app's full request stack (signed in as an admin, who sees office and finance pages); the 95th
percentile of wall time, and of this process's CPU time, is reported per page. The last line
printed is a JSON object with `slowest_page` and `slowest_p95_ms`; with --json every page's
figures are in it too. The target is 300 ms at the 95th percentile.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import text
from sync_bench import database

ENGINEERS = 50
CLERKS = 4
ITEMS = [
    "dress-badge",
    "appointment",
    "kit",
    "on-time",
    "permission",
    "listen-advise",
    "fix-once",
    "hardware-damage",
    "equipment-receipt",
    "explain-unresolved",
    "fee-receipt",
    "handover-confirm",
    "farewell",
    "scope",
    "out-of-scope-explained",
    "conduct",
    "feedback-to-register",
    "escalate",
    "faulty-parts",
    "follow-up",
    # Items of an older template: still stored, so a visit carries 25 rows.
    "legacy-1",
    "legacy-2",
    "legacy-3",
    "legacy-4",
    "legacy-5",
]
TARGET_MS = 300


@contextmanager
def fresh_postgres(url: str, keep: str = ""):
    """Yield the URL of a fresh PostgreSQL database on the server `url` names; drop it after.

    With `keep`, the database of that name is used and left in place, so that a second run
    (profiling one page, say) skips the two minutes of loading.
    """
    if not re.match(r"^postgres(ql)?(\+\w+)?://", url):
        raise SystemExit("--db must name a PostgreSQL server")
    with database(url, keep) as fresh:
        yield fresh


def loaded(app) -> bool:
    from server.extensions import db

    with app.app_context():
        return bool(db.session.scalar(text("SELECT count(*) FROM service_request")))


def build_app(url: str):
    from flask_migrate import upgrade

    from server import create_app
    from server.config import TestConfig
    from server.feed.defaults import ensure_defaults

    app = create_app(TestConfig(database_url=url))
    # Each request is logged as a server logs it (the cost counts), to nowhere.
    for handler in logging.getLogger("onsite.request").handlers:
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the process)
    with app.app_context():
        upgrade()
        ensure_defaults()
    return app


# Each statement fills one table from generate_series; :n is the number of requests (= visits),
# :now the end of the year. Request i is received evenly over the year, the last ones today.
LOAD = [
    # Accounts: one admin (the bench signs in as it), clerks, engineers; one password hash.
    """INSERT INTO user_account (username, display_name, role, password_hash, is_active,
           is_demo, created_at)
       SELECT 'clerk' || g, '文员' || g, 'office', :hash, true, false, :now - interval '400 days'
       FROM generate_series(1, :clerks) g""",
    """INSERT INTO user_account (username, display_name, role, password_hash, is_active,
           is_demo, created_at)
       SELECT 'eng' || g, '工程师' || g, 'engineer', :hash, true, false,
              :now - interval '400 days'
       FROM generate_series(1, :engineers) g""",
    """INSERT INTO device (id, user_id, name, token_hash, receipt_prefix, created_at, expires_at,
           last_seq)
       SELECT md5('dev' || u.id)::uuid::text, u.id, 'phone', md5('tok' || u.id) || md5('x'),
              :prefix_of_u, :now - interval '400 days',
              :now + interval '30 days', 0
       FROM user_account u WHERE u.role = 'engineer'""",
    """INSERT INTO customer (name, contact_person, phone, address, created_at)
       SELECT '客户' || g || '有限公司', '联系人' || g, '029-' || lpad(g::text, 8, '0'),
              '西安市雁塔区科技路 ' || g || ' 号', :now - interval '400 days'
       FROM generate_series(1, :customers) g""",
    """INSERT INTO equipment (customer_id, brand, model, serial_number, acceptance_date,
           warranty_months, purchase_proof_on_file, warranty_card_on_file, created_at)
       SELECT 1 + (g % :customers), '华为', 'S5735-' || (g % 7), 'SN' || lpad(g::text, 7, '0'),
              (:now - ((g % 900) || ' days')::interval)::date, 12, false, false,
              :now - interval '400 days'
       FROM generate_series(1, :customers * 2) g""",
    """INSERT INTO service_request (customer_id, equipment_id, contact_name, contact_phone,
           address, problem, channel, severity, urgency, status, needs_visit, received_at,
           phone_response_at, first_arrival_at, result, resolved_at, closed_at, created_by_id,
           created_at, updated_at)
       SELECT e.customer_id, e.id, '联系人', '029-88000000', '西安市', '网络中断 ' || g,
              CASE WHEN g % 20 = 0 THEN 'fax' WHEN g % 20 = 1 THEN 'return_visit'
                   WHEN g % 20 = 2 THEN 'email' ELSE 'hotline' END,
              (ARRAY['low','normal','high','critical'])[1 + g % 4],
              (ARRAY['normal','high','low','critical'])[1 + g % 4],
              CASE WHEN g > :n - :open_n THEN
                   (ARRAY['registered','responded','scheduled','in_progress'])[1 + g % 4]
                   ELSE 'closed' END,
              true, r.at,
              CASE WHEN g > :n - :open_n AND g % 4 = 0 THEN NULL
                   ELSE r.at + ((g % 80) || ' minutes')::interval END,
              CASE WHEN g > :n - :open_n THEN NULL
                   ELSE r.at + ((40 + g % 130) || ' minutes')::interval END,
              CASE WHEN g > :n - :open_n THEN NULL ELSE '已修复' END,
              CASE WHEN g > :n - :open_n THEN NULL ELSE r.at + interval '4 hours' END,
              CASE WHEN g > :n - :open_n THEN NULL ELSE r.at + interval '2 days' END,
              2 + g % :clerks, r.at, r.at
       FROM generate_series(1, :n) g
       CROSS JOIN LATERAL (SELECT :now - ((:n - g) * interval '365 days' / :n)
                           - interval '5 minutes' AS at) r
       JOIN equipment e ON e.id = 1 + (g * 7919) % (:customers * 2)""",
    """INSERT INTO visit (request_id, visit_no, engineer_id, purpose, window_start, window_end,
           status, arrived_at, late_reason, permission_granted, outcome_summary, explanation,
           escalate, onsite_fee_fen, inspection_only, finished_at, reviewed_at, called_back_at,
           created_at, updated_at)
       SELECT s.id, 1, 2 + :clerks + s.id % :engineers,
              CASE WHEN s.channel = 'return_visit' THEN 'return_visit' ELSE 'repair' END,
              s.received_at + interval '30 minutes', s.received_at + interval '2 hours',
              CASE WHEN s.status <> 'closed' THEN 'scheduled'
                   WHEN s.id % 20 = 7 THEN 'not_fixed' ELSE 'completed' END,
              s.first_arrival_at,
              CASE WHEN s.id % 10 = 0 THEN '堵车' END, s.first_arrival_at IS NOT NULL,
              '更换电源', CASE WHEN s.id % 20 = 7 THEN '需返厂' END,
              s.id % 100 = 7, 30000, false,
              CASE WHEN s.status = 'closed' THEN s.received_at + interval '3 hours' END,
              CASE WHEN s.status = 'closed' AND s.received_at < :now - interval '2 days'
                   THEN s.received_at + interval '1 day' END,
              CASE WHEN s.status = 'closed' AND s.received_at < :now - interval '30 hours'
                   THEN s.received_at + interval '20 hours' END,
              s.received_at, s.received_at + interval '3 hours'
       FROM service_request s""",
    """INSERT INTO visit_assignment (visit_id, engineer_id, assigned_at)
       SELECT v.id, v.engineer_id, v.created_at FROM visit v""",
    """INSERT INTO checklist_entry (visit_id, item_id, state, note, device_id, user_id, op_id,
           hlc, device_time, received_at)
       SELECT v.id, i.item, CASE WHEN i.n % 9 = 0 THEN 'na' ELSE 'done' END, '',
              md5('dev' || v.engineer_id)::uuid::text, v.engineer_id,
              md5(v.id || ':' || i.item)::uuid::text,
              lpad((extract(epoch FROM v.arrived_at) * 1000)::bigint::text, 15, '0')
                || ':0000:' || md5('dev' || v.engineer_id)::uuid::text,
              NULL, v.arrived_at + (i.n || ' minutes')::interval
       FROM visit v CROSS JOIN unnest(CAST(:items AS text[])) WITH ORDINALITY AS i(item, n)
       WHERE v.arrived_at IS NOT NULL""",
    """INSERT INTO part_event (id, visit_id, kind, part_code, description, qty, unit_cost_fen,
           device_id, user_id, op_id, hlc, received_at)
       SELECT md5('part' || v.id)::uuid::text, v.id,
              CASE WHEN v.id % 60 = 0 THEN 'returned' ELSE 'used' END,
              'PSU-' || (v.id % 40), '电源 450W', 1, 5000,
              md5('dev' || v.engineer_id)::uuid::text, v.engineer_id,
              md5('partop' || v.id)::uuid::text, '0', v.arrived_at + interval '30 minutes'
       FROM visit v WHERE v.arrived_at IS NOT NULL""",
    # Each phone numbers its receipts one after another; one in 400 never reaches the server.
    """INSERT INTO payment (id, visit_id, method, amount_fen, currency, payer, receipt_no,
           device_id, user_id, op_id, hlc, received_at)
       SELECT md5('pay' || v.id)::uuid::text, v.id, 'cash', 35000, 'CNY', '周老师',
              'R-' || d.receipt_prefix || '-' || lpad((v.n + v.n / 400)::text, 6, '0'),
              d.id, v.engineer_id, md5('payop' || v.id)::uuid::text, '0',
              v.arrived_at + interval '1 hour'
       FROM (SELECT v.*, row_number() OVER (PARTITION BY v.engineer_id ORDER BY v.id) AS n
             FROM visit v WHERE v.arrived_at IS NOT NULL AND v.id % 2 = 0) v
       JOIN device d ON d.user_id = v.engineer_id""",
    """INSERT INTO feedback (id, visit_id, satisfaction, comments, device_id, user_id, op_id,
           hlc, received_at)
       SELECT md5('fb' || v.id)::uuid::text, v.id, 5, '满意',
              md5('dev' || v.engineer_id)::uuid::text, v.engineer_id,
              md5('fbop' || v.id)::uuid::text, '0', v.arrived_at + interval '2 hours'
       FROM visit v WHERE v.arrived_at IS NOT NULL""",
    """INSERT INTO sync_operation (op_id, device_id, user_id, seq, kind, record_id, visit_id,
           hlc, schema_version, raw, device_time, status, result, received_at)
       SELECT md5('op' || v.id || ':' || k)::uuid::text, md5('dev' || v.engineer_id)::uuid::text,
              v.engineer_id, v.id * 6 + k, 'checklist.set', v.id || ':' || :items_0, v.id, '0',
              1, '{}'::json, NULL,
              CASE WHEN v.id % 997 = 0 AND k = 1 THEN 'rejected' ELSE 'applied' END,
              '{}'::json, v.arrived_at + (k || ' minutes')::interval
       FROM visit v CROSS JOIN generate_series(1, 6) k WHERE v.arrived_at IS NOT NULL""",
    """INSERT INTO sync_change (position, entity, entity_id, op, visit_id, is_global, data,
           created_at)
       SELECT (SELECT value FROM sync_counter) + g,
              CASE WHEN g % 4 = 0 THEN 'visit' ELSE 'checklist_item' END,
              (1 + g % :n)::text, 'put', 1 + g % :n, false, '{}'::json,
              :now - ((:changes - g) * interval '365 days' / :changes)
       FROM generate_series(1, :changes) g""",
    "UPDATE sync_counter SET value = value + :changes",
    """INSERT INTO callback (request_id, called_at, called_by_id, reached, satisfied)
       SELECT v.request_id, v.called_back_at, 2 + v.id % :clerks, true, true
       FROM visit v WHERE v.called_back_at IS NOT NULL""",
    """INSERT INTO complaint (customer_id, request_id, received_at, channel, summary, status,
           created_by_id, created_at, resolved_at, resolution)
       SELECT s.customer_id, s.id, s.received_at + interval '1 day', 'hotline', '服务不满意',
              CASE WHEN s.received_at > :now - interval '20 days' THEN 'received'
                   ELSE 'resolved' END,
              2 + s.id % :clerks, s.received_at + interval '1 day',
              CASE WHEN s.received_at > :now - interval '20 days' THEN NULL
                   ELSE s.received_at + interval '3 days' END,
              CASE WHEN s.received_at > :now - interval '20 days' THEN NULL ELSE '已道歉' END
       FROM service_request s WHERE s.id % 40 = 3 AND s.received_at < :now - interval '1 day'""",
    # What a year of supervisors and clerks settled: escalations and returned parts older than
    # three weeks are dealt with, as they would be in a working office.
    """INSERT INTO escalation (key, request_id, visit_id, taken_by_id, taken_at, resolved_by_id,
           resolved_at, resolution, created_at)
       SELECT 'visit:' || v.id, v.request_id, v.id, 1, v.finished_at + interval '1 hour', 1,
              v.finished_at + interval '2 days', '二次上门已修复', v.finished_at
       FROM visit v
       WHERE (v.escalate OR v.status = 'not_fixed')
         AND v.finished_at < :now - interval '21 days'""",
    """INSERT INTO returned_part_handling (part_event_id, disposition, note, handled_by_id,
           handled_at)
       SELECT p.id, 'to_manufacturer', '返厂', 2, p.received_at + interval '3 days'
       FROM part_event p
       WHERE p.kind = 'returned' AND p.received_at < :now - interval '21 days'""",
    """INSERT INTO follow_up (customer_id, request_id, kind, due_on, reason, status,
           created_by_id, created_at)
       SELECT s.customer_id, s.id, CASE WHEN s.id % 2 = 0 THEN 'follow_up' ELSE 'return_visit' END,
              (s.received_at + interval '30 days')::date, '回访',
              CASE WHEN s.received_at > :now - interval '40 days' THEN 'planned' ELSE 'done' END,
              2 + s.id % :clerks, s.received_at
       FROM service_request s WHERE s.id % 20 = 5""",
]


# Each engineer hands the day's cash in the next morning; the last days' is still in hand. By
# the visits' stored business days, so these run after the stored figures are filled in.
HANDED_AFTER_DAYS = 2
HANDOVERS = [
    """INSERT INTO finance_handover (engineer_id, received_by_id, received_at, note)
       SELECT p.user_id, 1, timezone('Asia/Shanghai', (v.business_day + 1) + time '10:00'), ''
       FROM payment p JOIN visit v ON v.id = p.visit_id
       WHERE v.business_day < (now() AT TIME ZONE 'Asia/Shanghai')::date - :days
       GROUP BY p.user_id, v.business_day""",
    """INSERT INTO finance_handover_line (handover_id, method, amount_fen)
       SELECT h.id, p.method, sum(p.amount_fen)
       FROM finance_handover h
       JOIN payment p ON p.user_id = h.engineer_id
       JOIN visit v ON v.id = p.visit_id
            AND v.business_day = (h.received_at AT TIME ZONE 'Asia/Shanghai')::date - 1
       GROUP BY h.id, p.method""",
    """INSERT INTO finance_handover_receipt (handover_id, payment_id, live_payment_id)
       SELECT h.id, p.id, p.id
       FROM finance_handover h
       JOIN payment p ON p.user_id = h.engineer_id
       JOIN visit v ON v.id = p.visit_id
            AND v.business_day = (h.received_at AT TIME ZONE 'Asia/Shanghai')::date - 1""",
]

# A device's receipt prefix (4 characters of the receipt alphabet), unique per user id.
PREFIX_OF_U = "'Q' || " + " || ".join(
    f"substr(:alphabet, 1 + (u.id / {31**k}) % 31, 1)" for k in (2, 1, 0)
)


def load(app, scale: float) -> dict[str, int]:
    """Fill the year with set-based inserts; return the row counts and the time taken."""
    from server.accounts.operations import create_user
    from server.db_types import utcnow
    from server.extensions import db

    n = max(1000, int(60_000 * scale))
    params = {
        "n": n,
        "open_n": max(50, n // 200),
        "clerks": CLERKS,
        "engineers": ENGINEERS,
        "customers": max(300, n // 20),
        "changes": max(10_000, int(400_000 * scale)),
        "items": ITEMS,
        "items_0": ITEMS[0],
    }
    from server.domain.receipts import PREFIX_ALPHABET

    params["alphabet"] = PREFIX_ALPHABET
    with app.app_context():
        admin = create_user("bench-admin", "pw", "admin")
        db.session.commit()
        params["hash"] = admin.password_hash
        params["now"] = utcnow()
        with db.engine.begin() as conn:
            for statement in LOAD:
                conn.execute(text(statement.replace(":prefix_of_u", PREFIX_OF_U)), params)
        # The stored figures, as an upgraded database gets them (`onsite upgrade`).
        from server.cli import fill_stored_figures

        fill_stored_figures()
        with db.engine.begin() as conn:
            for statement in HANDOVERS:
                conn.execute(text(statement), {"days": HANDED_AFTER_DAYS})
        lock_days(LOCKED_AFTER_DAYS)
        # What autovacuum does to a table in service: the bulk load and the outcomes' updates
        # leave no dead rows or stale statistics behind.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        counts = {}
        for table in (
            "service_request",
            "visit",
            "checklist_entry",
            "sync_change",
            "sync_operation",
            "callback",
            "complaint",
            "follow_up",
            "finance_handover",
            "finance_day_reconciliation",
        ):
            counts[table] = db.session.scalar(text(f"SELECT count(*) FROM {table}"))
    return counts


# Finance reconciles a day within the week: every day older than this is locked.
LOCKED_AFTER_DAYS = 7


def lock_days(after_days: int) -> int:
    """Lock every engineer's day older than `after_days` with its figures, as finance would have.

    The figures are the day's own (`DayFigures.snapshot`, what locking stores); owed and
    collected differ (half the visits are paid later), so each is locked with a note.
    """
    from datetime import timedelta

    from server.accounts.models import User
    from server.db_types import utcnow
    from server.domain.timezone import business_day
    from server.extensions import db
    from server.finance.models import DayCheck, DayReconciliation
    from server.finance.reconcile import RECONCILED, compute_days

    admin = db.session.scalar(db.select(User).where(User.username == "bench-admin"))
    last = business_day(utcnow()) - timedelta(days=after_days)
    start = last - timedelta(days=365)
    locked = 0
    while start <= last:
        end = min(start + timedelta(days=30), last)
        days = compute_days(start, end)
        now = utcnow()
        db.session.execute(
            db.insert(DayReconciliation),
            [
                {
                    "engineer_id": e,
                    "business_day": d,
                    "status": RECONCILED,
                    "note": "现金次日交回",
                    "figures": fig.snapshot(),
                    "decided_by_id": admin.id,
                    "decided_at": now,
                }
                for (e, d), fig in days.items()
            ],
        )
        db.session.execute(
            db.update(DayCheck)
            .where(
                DayCheck.business_day >= start,
                DayCheck.business_day <= end,
                DayCheck.business_day.in_(
                    db.select(DayReconciliation.business_day).where(
                        DayReconciliation.engineer_id == DayCheck.engineer_id
                    )
                ),
            )
            .values(needs_attention=False)
        )
        db.session.commit()
        locked += len(days)
        start = end + timedelta(days=1)
    return locked


def pages(app) -> list[str]:
    """Return the office and finance pages to time, with ids taken from the loaded data."""
    from server.extensions import db

    with app.app_context():
        one = lambda sql: db.session.scalar(text(sql))  # noqa: E731
        request_id = one("SELECT max(id) FROM service_request WHERE status = 'closed'")
        visit_id = one("SELECT max(id) FROM visit WHERE status = 'completed'")
        complaint_id = one("SELECT max(id) FROM complaint")
        customer_id = one("SELECT customer_id FROM service_request ORDER BY id DESC LIMIT 1")
        engineer_id = one("SELECT min(id) FROM user_account WHERE role = 'engineer'")
        day = one("SELECT (max(arrived_at) AT TIME ZONE 'Asia/Shanghai')::date FROM visit")
    return [
        "/office/",
        "/office/work",
        "/office/work?mine=1",
        "/office/board",
        "/office/requests",
        "/office/requests?q=%E7%BD%91%E7%BB%9C",
        f"/office/requests/{request_id}",
        "/office/visits",
        "/office/visits?page=20",
        f"/office/visits/{visit_id}",
        "/office/escalations",
        "/office/complaints",
        "/office/complaints?show=all&page=10",
        f"/office/complaints/{complaint_id}",
        "/office/parts",
        "/office/follow-ups",
        "/office/follow-ups?show=all&page=10",
        "/office/reports",
        "/office/customers?q=%E5%AE%A2%E6%88%B7",
        f"/office/customers/{customer_id}",
        "/finance/",
        "/finance/reconciliation",
        f"/finance/reconciliation/{engineer_id}/{day}",
        "/finance/handovers",
        "/finance/receipts",
        "/finance/prices",
        "/finance/audit",
    ]


def sign_in(app):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(
        "/login", data={"username": "bench-admin", "password": "pw", "csrf_token": token}
    )
    assert answer.status_code == 302, answer.status_code
    return client


def p95(samples: list[float]) -> float:
    return (
        statistics.quantiles(samples, n=20, method="inclusive")[18]
        if len(samples) > 1
        else samples[0]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="PostgreSQL server URL")
    parser.add_argument("--json", action="store_true", help="put every page's figures in the JSON")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the year to load")
    parser.add_argument("--repeat", type=int, default=20, help="timed fetches per page")
    parser.add_argument(
        "--only",
        default="",
        help="time only the pages starting with this path (several: comma-separated)",
    )
    parser.add_argument(
        "--keep",
        default="",
        metavar="NAME",
        help="load into the database NAME and keep it; a later run with NAME reuses the data",
    )
    args = parser.parse_args(argv)

    with fresh_postgres(args.db, args.keep) as url:
        app = build_app(url)
        started = time.perf_counter()
        counts = {} if args.keep and loaded(app) else load(app, args.scale)
        load_s = time.perf_counter() - started
        print(f"loaded in {load_s:.1f} s: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        client = sign_in(app)
        # As a serving process does once the app is up (gunicorn's post_worker_init).
        from server import freeze_startup_heap

        freeze_startup_heap()
        results = {}
        prefixes = tuple(args.only.split(","))
        for path in [p for p in pages(app) if p.startswith(prefixes)]:
            first = client.get(path)
            if first.status_code != 200:
                raise SystemExit(f"{path} answered {first.status_code}")
            samples, cpu = [], []
            for _ in range(args.repeat):
                t, c = time.perf_counter(), time.process_time()
                client.get(path)
                samples.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
            results[path] = {
                "p50_ms": round(statistics.median(samples), 1),
                "p95_ms": round(p95(samples), 1),
                # This process's CPU (the app, not the database server): steadier than wall
                # time on a shared machine.
                "cpu_p95_ms": round(p95(cpu), 1),
            }
            flag = "" if results[path]["p95_ms"] <= TARGET_MS else f"  > {TARGET_MS} ms"
            print(
                f"{path:45} p50 {results[path]['p50_ms']:8.1f} ms  "
                f"p95 {results[path]['p95_ms']:8.1f} ms  "
                f"cpu p95 {results[path]['cpu_p95_ms']:7.1f} ms{flag}",
                flush=True,
            )
        slowest = max(results, key=lambda p: results[p]["p95_ms"])
        summary = {
            "slowest_page": slowest,
            "slowest_p95_ms": results[slowest]["p95_ms"],
            "target_ms": TARGET_MS,
            "scale": args.scale,
            "load_s": round(load_s, 1),
            "rows": counts,
        }
        if args.json:
            summary["pages"] = results
        print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
