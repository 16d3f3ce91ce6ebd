"""Server CPU of one phone's sync cycle: a push of 3 part events, then the pull that follows.

    .venv/bin/python bench/sync_cycle.py                 # SQLite in a temporary file
    .venv/bin/python bench/sync_cycle.py --db postgresql://postgres@127.0.0.1:5432/postgres

It is the cycle `load_sim.py` makes each simulated engineer run every 30 s, in process, so that
the app's CPU is measured around its WSGI call (time.process_time; the test client and, on
PostgreSQL, the database server are not counted). Prints the median over rounds of the mean per
cycle on a visit with a few part events, and again once the visit holds --big-rows of them (the
aim: the same, since a push's cost follows its ops, not the rows the visit already has).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pull_idle import CpuMeter, metered_field
from sync_bench import BATCH, database, make_ops

ROUNDS, PER_ROUND, OPS_PER_PUSH = 5, 60, 3


class Phone:
    """One signed-in phone pushing part events to its visit and pulling after each push."""

    def __init__(self, client, headers, device_id: str, visit_id: int) -> None:
        self.client, self.headers = client, headers
        self.device_id, self.visit_id = device_id, visit_id
        self.seq, self.cursor = 0, ""

    def push(self, count: int) -> None:
        ops = make_ops(self.device_id, self.visit_id, count, start_seq=self.seq + 1)
        self.seq += count
        for i in range(0, count, BATCH):
            answer = self.client.post(
                "/api/sync/push",
                headers=self.headers,
                json={"protocol": 1, "device_id": self.device_id, "ops": ops[i : i + BATCH]},
            )
            assert answer.status_code == 200, answer.get_json()

    def pull(self) -> None:
        has_more = True
        while has_more:
            answer = self.client.get(
                "/api/sync/pull",
                headers={**self.headers, "If-None-Match": f'"{self.cursor}"'},
                query_string={"cursor": self.cursor, "limit": 500},
            )
            if answer.status_code == 304:
                return
            body = answer.get_json()
            self.cursor, has_more = body["cursor"], body["has_more"]


def per_cycle_us(phone: Phone, meter: CpuMeter) -> float:
    rounds = []
    for _ in range(ROUNDS):
        meter.cpu = 0.0
        for _ in range(PER_ROUND):
            phone.push(OPS_PER_PUSH)
            phone.pull()
        rounds.append(meter.cpu / PER_ROUND * 1e6)
    return statistics.median(rounds)


def run(db_url: str | None, big_rows: int) -> dict:
    with database(db_url) as url:
        meter, client, headers, device_id, visit_id, *_ = metered_field(url)
        phone = Phone(client, headers, device_id, visit_id)
        phone.pull()
        phone.push(OPS_PER_PUSH)
        phone.pull()
        few = per_cycle_us(phone, meter)
        phone.push(big_rows)
        phone.pull()
        many = per_cycle_us(phone, meter)
        return {
            "cycle_us": round(few),
            f"cycle_us_at_{big_rows}_part_events": round(many),
            "many_vs_few": round(many / few, 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--big-rows", type=int, default=5000, help="part events for the 2nd run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = run(args.db, args.big_rows)
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"sync cycle (push {OPS_PER_PUSH} part events, then pull), server CPU: "
        f"{figures['cycle_us']} µs; with {args.big_rows} part events on the visit "
        f"{figures[f'cycle_us_at_{args.big_rows}_part_events']} µs "
        f"({figures['many_vs_few']}x)"
    )


if __name__ == "__main__":
    main()
