"""Request logs (one JSON line per request) and /metrics (Prometheus text), and who may read it."""

from __future__ import annotations

import json
import logging
import re
from base64 import b64encode

import pytest

from tests.api.sync_http import HttpPhone, payment


def _value(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    found = re.search(rf"^{re.escape(name)}{{{re.escape(want)}}} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.fixture
def request_log():
    """Collect the request log's lines, parsed."""
    lines: list[dict] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(record.getMessage()))

    logger = logging.getLogger("onsite.request")
    handler = Collect()
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def test_each_request_logs_one_json_line_with_route_user_device_status_latency(
    make, signed_device, request_log
):
    engineer = make.user("engineer")
    visit = make.visit(engineer=engineer)
    phone = HttpPhone(signed_device(engineer))
    request_log.clear()
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    phone.push()
    phone.dev.get("/api/sync/pull", query_string={"cursor": "bad"})
    push, bad_pull = request_log
    assert push["route"] == "/api/sync/push" and push["method"] == "POST"
    assert push["status"] == 200
    assert push["user"] == engineer.id
    assert push["device"] == phone.device_id
    assert push["latency_ms"] > 0
    assert push["client"] == "127.0.0.1"
    assert bad_pull["route"] == "/api/sync/pull" and bad_pull["status"] == 400


def test_metrics_count_pushes_ops_by_result_pulls_and_latency(client, make, signed_device):
    engineer = make.user("engineer")
    visit = make.visit(engineer=engineer)
    phone = HttpPhone(signed_device(engineer))
    before = client.get("/metrics").get_data(as_text=True)
    phone.pull_all()
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    phone.op("payment.record", visit.id, payment(-5, phone.receipt_no()))  # refused
    body = phone.push()
    rejected = sum(r["status"] == "rejected" for r in body["results"])
    phone.pull_all()
    phone.dev.get(
        "/api/sync/pull",
        query_string={"cursor": phone.cursor},
        headers={"If-None-Match": f'"{phone.cursor}"'},
    )
    after = client.get("/metrics")
    assert after.status_code == 200
    assert after.mimetype == "text/plain"
    text = after.get_data(as_text=True)

    def grew(name: str, **labels: str) -> float:
        return _value(text, name, **labels) - _value(before, name, **labels)

    assert grew("onsite_sync_pushes_total", status="200") == 1
    assert grew("onsite_sync_ops_total", result="applied") == 1
    assert rejected == 1 and grew("onsite_sync_ops_total", result="rejected") == 1
    assert grew("onsite_sync_pulls_total", outcome="not_modified") == 1
    assert grew("onsite_sync_pulls_total", outcome="changes") >= 2
    assert (
        grew("onsite_http_request_duration_seconds_count", method="POST", route="/api/sync/push")
        == 1
    )
    assert "onsite_sync_feed_lag_changes_bucket" in text
    assert "onsite_sync_feed_head " in text


def test_metrics_are_not_public(app, client):
    app.config["METRICS_TOKEN"] = "s3cret-token"
    try:
        # Loopback straight to the app server: allowed (a scraper on the same machine).
        assert client.get("/metrics").status_code == 200
        # Through the proxy (it adds X-Forwarded-For): refused without the token ...
        via_proxy = {"X-Forwarded-For": "203.0.113.9"}
        refused = client.get("/metrics", headers=via_proxy)
        assert refused.status_code == 403
        wrong = b64encode(b"prometheus:guess").decode()
        assert (
            client.get(
                "/metrics", headers={**via_proxy, "Authorization": f"Basic {wrong}"}
            ).status_code
            == 403
        )
        right = b64encode(b"prometheus:s3cret-token").decode()
        allowed = client.get("/metrics", headers={**via_proxy, "Authorization": f"Basic {right}"})
        assert allowed.status_code == 200
        # ... and from another machine without the token.
        outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "198.51.100.7"})
        assert outside.status_code == 403
    finally:
        app.config["METRICS_TOKEN"] = None
