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
import hashlib
import json
import statistics
import sys
import time
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


# A fixed piece of pure Python (JSON both ways, a hash, a sort), timed between the rounds. Its
# CPU tells how fast the machine runs Python at that moment: a shared machine's speed swings by
# a quarter within the hour, and other machines differ more. The cycle in these units compares
# across runs and machines where the microseconds alone do not.
_REFERENCE_DOC = {"ops": [{"seq": i, "kind": "part.add", "note": "螺絲 M3" * 4} for i in range(40)]}


def reference_us(repeat: int = 5) -> float:
    """CPU of one pass of the reference workload, in microseconds (median of `repeat`)."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(20):
            text = json.dumps(_REFERENCE_DOC, ensure_ascii=False)
            hashlib.sha256(text.encode()).hexdigest()
            sorted(json.loads(text)["ops"], key=lambda op: (op["note"], -op["seq"]))
        times.append((time.process_time() - started) * 1e6)
    return statistics.median(times)


def per_cycle_us(phone: Phone, meter: CpuMeter) -> tuple[float, float]:
    """Median CPU of a cycle over the rounds, and the median of the cycle in reference units.

    The reference runs between every 10 cycles, so both see the machine at the same speed.
    """
    rounds, relative = [], []
    for _ in range(ROUNDS):
        cycles = reference = 0.0
        for _ in range(PER_ROUND // 10):
            meter.cpu = 0.0
            for _ in range(10):
                phone.push(OPS_PER_PUSH)
                phone.pull()
            cycles += meter.cpu / 10 * 1e6
            reference += reference_us(repeat=3)
        rounds.append(cycles / (PER_ROUND // 10))
        relative.append(cycles / reference)
    return statistics.median(rounds), statistics.median(relative)


def run(db_url: str | None, big_rows: int) -> dict:
    with database(db_url) as url:
        meter, client, headers, device_id, visit_id, *_ = metered_field(url)
        phone = Phone(client, headers, device_id, visit_id)
        phone.pull()
        phone.push(OPS_PER_PUSH)
        phone.pull()
        few, few_units = per_cycle_us(phone, meter)
        phone.push(big_rows)
        phone.pull()
        many, _ = per_cycle_us(phone, meter)
        return {
            "cycle_us": round(few),
            "cycle_in_reference_units": round(few_units, 2),
            "reference_us": round(reference_us()),
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
        f"({figures['many_vs_few']}x); the cycle is {figures['cycle_in_reference_units']} times "
        f"the reference workload ({figures['reference_us']} µs on this machine now)"
    )


if __name__ == "__main__":
    main()
