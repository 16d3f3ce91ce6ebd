"""gunicorn settings for Onsite: `gunicorn -c deploy/gunicorn.conf.py` (see README, "Production").

Every value can be set from the environment. Workers are separate processes sharing nothing but
the database, so any number of them can serve one port.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("ONSITE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("ONSITE_WORKERS", 2 * multiprocessing.cpu_count() + 1))
# Threads > 1 makes gunicorn use its gthread worker; nginx in front buffers slow phones.
threads = int(os.environ.get("ONSITE_THREADS", 1))
wsgi_app = "server:create_app()"
timeout = 120
graceful_timeout = 30
keepalive = 5
# A fresh process now and then bounds any slow leak. Not too often: a new worker spends about a
# second of CPU starting, and the requests queued on it wait; at 5,000 phones (about 330
# requests a second) 20,000 requests a worker meant a restart a minute, each one a latency spike
# (bench/load_sim.py). Now about one worker in an hour at that load, spread by the jitter.
max_requests = 200_000
max_requests_jitter = 20_000
# The app writes one JSON line per request; gunicorn's own access log would repeat it.
accesslog = None
errorlog = "-"

# prometheus_client's multiprocess mode: each worker writes its figures to files here and
# /metrics sums them. Set before any worker imports prometheus_client.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str(Path(tempfile.gettempdir()) / f"onsite-metrics-{os.getuid()}")
)


def on_starting(server) -> None:
    """Start from an empty metrics folder: files of a previous run would be summed in."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def post_worker_init(worker) -> None:
    """Keep the app's start-up objects out of the collector's full passes (see the function)."""
    from server import freeze_startup_heap

    freeze_startup_heap()


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges from the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
