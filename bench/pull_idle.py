"""Server CPU of a pull with nothing new: the request every idle phone makes every 30 s.

    .venv/bin/python bench/pull_idle.py                 # SQLite in a temporary file
    .venv/bin/python bench/pull_idle.py --db postgresql://postgres@127.0.0.1:5432/postgres

CPU is measured around the app's WSGI call in this process (time.process_time), so the test
client's own work is not counted; on PostgreSQL the database server's CPU is not counted either.
Prints the median over rounds of the mean per pull, for a plain pull and for a conditional one
(If-None-Match with the cursor the last pull returned, answered 304).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sync_bench import build_app, database, setup_field

ROUNDS, PER_ROUND = 7, 300


class CpuMeter:
    """WSGI middleware adding up the CPU time spent inside the app."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app
        self.cpu = 0.0

    def __call__(self, environ, start_response):
        started = time.process_time()
        try:
            return list(self.wsgi_app(environ, start_response))
        finally:
            self.cpu += time.process_time() - started


def per_pull_us(client, meter: CpuMeter, headers: dict, cursor: str, conditional: bool) -> float:
    extra = {"If-None-Match": f'"{cursor}"'} if conditional else {}
    rounds = []
    for _ in range(ROUNDS):
        meter.cpu = 0.0
        for _ in range(PER_ROUND):
            r = client.get(
                "/api/sync/pull",
                headers={**headers, **extra},
                query_string={"cursor": cursor, "limit": 500},
            )
            assert r.status_code == (304 if conditional else 200), r.status_code
        rounds.append(meter.cpu / PER_ROUND * 1e6)
    return statistics.median(rounds)


def metered_field(url: str):
    """Build the app quiet (no request log) with a CpuMeter around it, and a signed-in phone.

    Returns (meter, client, headers, device_id, visit_id, ...) as setup_field gives them.
    """
    app = build_app(url)
    app.config["REQUEST_LOG"] = False
    logging.getLogger("onsite.request").disabled = True
    meter = CpuMeter(app.wsgi_app)
    app.wsgi_app = meter
    return (meter, *setup_field(app))


def run(db_url: str | None) -> dict:
    with database(db_url) as url:
        meter, client, headers, *_ = metered_field(url)
        cursor, has_more = "", True
        while has_more:
            body = client.get(
                "/api/sync/pull", headers=headers, query_string={"cursor": cursor, "limit": 500}
            ).get_json()
            cursor, has_more = body["cursor"], body["has_more"]
        plain = per_pull_us(client, meter, headers, cursor, conditional=False)
        try:
            conditional = per_pull_us(client, meter, headers, cursor, conditional=True)
        except AssertionError:
            conditional = None
        return {"plain_us": round(plain), "conditional_us": conditional and round(conditional)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="PostgreSQL server URL (default: SQLite)")
    args = parser.parse_args()
    figures = run(args.db)
    print(f"no-change pull, server CPU per request: plain {figures['plain_us']} µs", end="")
    if figures["conditional_us"] is not None:
        print(f", conditional (304) {figures['conditional_us']} µs")
    else:
        print(" (the server does not answer conditional pulls with 304)")


if __name__ == "__main__":
    main()
