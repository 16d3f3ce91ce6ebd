"""What the person on call sees: one JSON log line per request, and /metrics for Prometheus.

Metrics work under gunicorn's worker processes through prometheus_client's multiprocess mode:
when PROMETHEUS_MULTIPROC_DIR is set (deploy/gunicorn.conf.py sets it), every worker writes
its figures to files there and /metrics sums them, whichever worker answers.
"""

from __future__ import annotations

import collections
import hmac
import ipaddress
import json
import logging
import os
import sys
import time
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess
from sqlalchemy import inspect

from server.errors import ApiError

log = logging.getLogger("onsite.request")

# A command run beside the workers (`onsite upgrade`) may share their environment: give its
# (all zero) figures a folder rather than failing on a missing one.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# Buckets in seconds: a no-change pull answers in about a millisecond; a big push in a second.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_LATENCY = Histogram(
    "onsite_http_request_duration_seconds",
    "Time from the request reaching the app to its response, by route.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
REQUESTS = Counter(
    "onsite_http_requests_total",
    "Requests answered, by route and status.",
    ["method", "route", "status"],
)
SYNC_PUSHES = Counter(
    "onsite_sync_pushes_total", "Push requests answered, by HTTP status.", ["status"]
)
SYNC_OPS = Counter(
    "onsite_sync_ops_total",
    "Operations answered in pushes, by result (applied, duplicate, rejected, conflict, retry).",
    ["result"],
)
SYNC_PULLS = Counter(
    "onsite_sync_pulls_total",
    "Pull requests answered, by outcome (changes, empty, not_modified, resync).",
    ["outcome"],
)
FEED_LAG = Histogram(
    "onsite_sync_feed_lag_changes",
    "At each pull, how many feed positions the device's cursor was behind the feed head.",
    buckets=(0, 1, 10, 100, 1_000, 10_000, 100_000),
)
FEED_HEAD = Gauge(
    "onsite_sync_feed_head",
    "The pull feed's highest committed position, as last seen by a pull.",
    multiprocess_mode="max",
)

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def init_app(app: Flask) -> None:
    """Time and log every request, count sync traffic, and serve /metrics."""
    if app.config.get("REQUEST_LOG", True) and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    app.before_request(_start_timer)
    app.after_request(_finish)
    app.add_url_rule("/metrics", "metrics", metrics_view)
    _count_push_results(app)


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _identity(obj: Any) -> Any:
    """Return an ORM object's primary key without loading it (it may be expired by a commit)."""
    if obj is None:
        return None
    key = inspect(obj).identity
    return key[0] if key else None


def _finish(response: Response) -> Response:
    started = g.pop("request_started", None)
    if started is None:
        return response
    latency = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    REQUEST_LATENCY.labels(request.method, route).observe(latency)
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    if log.isEnabledFor(logging.INFO):
        signed = g.get("device_sign_in")
        log.info(
            json.dumps(
                {
                    "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "method": request.method,
                    "route": route,
                    "path": request.path,
                    "status": response.status_code,
                    "latency_ms": round(latency * 1000, 3),
                    "user": signed.user_id if signed else _identity(g.get("user")),
                    "device": signed.device_id if signed else None,
                    "client": request.remote_addr,
                    "scheme": request.scheme,
                    "bytes": response.calculate_content_length(),
                },
                separators=(",", ":"),
            )
        )
    return response


def _count_push_results(app: Flask) -> None:
    """Count each push's answer, and its op results as the view left them (note_op_results)."""
    view = app.view_functions.get("sync_api.push")
    if view is None:
        return

    def counted_push(*args: Any, **kwargs: Any) -> Any:
        response = current_app.make_response(view(*args, **kwargs))
        SYNC_PUSHES.labels(str(response.status_code)).inc()
        if response.status_code == 200:
            for status, count in collections.Counter(g.pop("op_results", ())).items():
                SYNC_OPS.labels(status).inc(count)
        return response

    app.view_functions["sync_api.push"] = counted_push


def note_op_results(statuses: list[str]) -> None:
    """Let the push's counter know the status of every op it answered."""
    g.op_results = statuses


def count_pull(outcome: str, head: int, position: int | None) -> None:
    """Record one pull: its outcome and how far behind the feed head the device was."""
    SYNC_PULLS.labels(outcome).inc()
    FEED_HEAD.set(head)
    FEED_LAG.observe(max(0, head - (position or 0)))


def _may_read_metrics() -> bool:
    """Let a caller with the operator's token, or a direct loopback caller, read /metrics.

    Without ONSITE_METRICS_TOKEN only a scraper on this machine talking to gunicorn directly
    may read: a request that came through the proxy carries X-Forwarded-For and is refused even
    though its socket peer is the proxy on 127.0.0.1.
    """
    token = current_app.config.get("METRICS_TOKEN")
    # HTTP Basic (Prometheus' basic_auth, any user name): a Bearer header would be taken for a
    # device's sign-in.
    offered = request.authorization.password if request.authorization else None
    if token and offered:
        return hmac.compare_digest(offered.encode(), token.encode())
    if "X-Forwarded-For" in request.headers:
        return False
    try:
        peer = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(peer in net for net in LOOPBACK)


def metrics_view() -> Response:
    """The figures in Prometheus' text format, summed over every worker process."""
    if not _may_read_metrics():
        raise ApiError(403, "Metrics are for the operator's scraper only.")
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
