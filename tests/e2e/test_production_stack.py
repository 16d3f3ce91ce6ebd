"""The production recipe, run as the README gives it: nginx (TLS) in front of gunicorn workers.

A certificate made here with openssl, nginx from Debian's packages and gunicorn with two
worker processes, both bound to 127.0.0.1 on free ports, on the run's own database. Chromium
opens /app/ over HTTPS, the service worker takes control, and a checklist answer syncs through.
Where nginx is missing the test is skipped loudly, and fails under ONSITE_STRICT (CI).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path

import pytest
from playwright.sync_api import expect

from server.accounts.models import Device
from server.config import Config
from server.extensions import db
from server.visits.field_models import ChecklistEntry
from tests.e2e.pwa_helpers import PHONE, make_visit, sign_in, sync_now, wait_synced, wait_until

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HAVE_NGINX = os.access(NGINX, os.X_OK)

if not HAVE_NGINX and os.environ.get("ONSITE_STRICT"):
    raise pytest.UsageError(f"nginx not found ({NGINX}) and ONSITE_STRICT is set")
pytestmark = pytest.mark.skipif(
    not HAVE_NGINX, reason=f"PRODUCTION-STACK TEST SKIPPED: nginx not found at {NGINX}"
)

# The test's client does not check the self-made certificate.
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:3]} exited: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=1, context=INSECURE) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer: {log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Stack:
    """gunicorn + nginx as in the README's "Production" section, on loopback."""

    def __init__(self, tmp: Path, database_url: str) -> None:
        self.tmp = tmp
        self.metrics_token = secrets.token_hex(16)
        self.app_port, self.https_port = _free_port(), _free_port()
        self.url = f"https://127.0.0.1:{self.https_port}"
        cert, key = tmp / "cert.pem", tmp / "key.pem"
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
                *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
                *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
            ],
            check=True,
            capture_output=True,
        )
        self.env = {
            **os.environ,
            "ONSITE_ENV": "production",
            "ONSITE_SECRET_KEY": secrets.token_hex(32),
            "ONSITE_DATABASE_URL": database_url,
            "ONSITE_PROXY_COUNT": "1",
            "ONSITE_METRICS_TOKEN": self.metrics_token,
            "ONSITE_BIND": f"127.0.0.1:{self.app_port}",
            "ONSITE_WORKERS": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
            "ONSITE_TLS_CERT": str(cert),
            "ONSITE_TLS_KEY": str(key),
            "ONSITE_SERVER_NAME": "localhost",
            "ONSITE_HTTPS_LISTEN": f"127.0.0.1:{self.https_port}",
            "ONSITE_HTTP_LISTEN": "",
            "ONSITE_NGINX_RUN_DIR": str(tmp / "run"),
            "ONSITE_NGINX_LOG_DIR": str(tmp),
            # As root, nginx's workers would otherwise become `nobody` and could not write
            # request bodies into this test's folder.
            "ONSITE_NGINX_USER": "root" if os.geteuid() == 0 else "",
        }
        self.env.pop("ONSITE_TEST_POSTGRES", None)
        self.app_log = tmp / "gunicorn.log"
        self.procs: list[subprocess.Popen] = []

    def start(self) -> Stack:
        bin_dir = Path(sys.executable).parent
        # The migration step, once per release, before the workers start.
        migrated = subprocess.run(
            [str(bin_dir / "onsite"), "upgrade"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
        )
        assert migrated.returncode == 0, migrated.stderr.decode(errors="replace")[-2000:]
        conf = self.tmp / "nginx.conf"
        subprocess.run(
            [sys.executable, "deploy/render.py", "--out", str(conf)],
            cwd=ROOT,
            env=self.env,
            check=True,
        )
        self.nginx_conf = conf.read_text()
        with self.app_log.open("wb") as log:
            app = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(app)
        _wait_http(f"http://127.0.0.1:{self.app_port}/healthz", app, self.app_log)
        nginx_log = self.tmp / "nginx.out"
        with nginx_log.open("wb") as log:
            proxy = subprocess.Popen(
                [NGINX, "-c", str(conf), "-p", str(self.tmp), "-g", "daemon off;"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proxy)
        _wait_http(f"{self.url}/healthz", proxy, nginx_log)
        return self

    def stop(self) -> None:
        for proc in reversed(self.procs):
            _stop(proc)

    def get(self, path: str, headers: dict | None = None, data: bytes | None = None):
        """One HTTPS call through nginx: (status, headers, body bytes)."""
        request = urllib.request.Request(
            self.url + path, data=data, headers=headers or {}, method="POST" if data else "GET"
        )
        try:
            with urllib.request.urlopen(request, timeout=30, context=INSECURE) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def request_log(self) -> list[dict]:
        lines = self.app_log.read_text(errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture
def stack(app, database_url, tmp_path):
    running = Stack(tmp_path, database_url)
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture
def https_browser(browser_type, browser_type_launch_args):
    """Chromium that accepts the self-made certificate (TESTING.md, "HTTPS in a browser test")."""
    args = [*browser_type_launch_args.get("args", []), "--ignore-certificate-errors"]
    browser = browser_type.launch(**{**browser_type_launch_args, "args": args})
    try:
        yield browser
    finally:
        browser.close()


def _metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}{{{re.escape(want)}}} (\S+)$" if labels else rf"^{name} (\S+)$"
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


def test_the_app_over_https_behind_nginx_and_gunicorn_syncs(stack, https_browser, make, fresh):
    engineer = make.user("engineer", username="li")
    visit = make_visit(make, engineer)
    visit_id, engineer_id = visit.id, engineer.id

    context = https_browser.new_context(viewport=PHONE, locale="en-US", ignore_https_errors=True)
    page = context.new_page()
    try:
        # Signs in over HTTPS, waits for the service worker to control the page and a first sync.
        sign_in(page, stack.url, "li")
        assert page.evaluate("location.protocol") == "https:"
        assert page.evaluate("typeof crypto.randomUUID") == "function"
        page.goto(f"{stack.url}/app/#/visit/{visit_id}/before")
        page.wait_for_selector("#checklist")
        page.click("[data-item=kit] [data-value=done]")
        expect(page.locator("[data-item=kit]")).to_have_attribute("data-state", "done")
        sync_now(page)
        wait_synced(page)

        def stored():
            fresh()
            entry = db.session.get(ChecklistEntry, (visit_id, "kit"))
            return entry is not None and entry.state == "done"

        wait_until(page, stored, what="the checklist answer to reach the server")
        sync_now(page)  # an idle cycle: the pull is conditional and answered 304
        device_id = db.session.scalars(db.select(Device.id).filter_by(user_id=engineer_id)).one()
    finally:
        context.close()

    # One JSON line per request, with the real client, the scheme the proxy saw, user and device.
    log = stack.request_log()
    pushes = [e for e in log if e["route"] == "/api/sync/push" and e["status"] == 200]
    assert pushes, log[-5:]
    assert pushes[-1]["user"] == engineer_id
    assert pushes[-1]["device"] == device_id
    assert pushes[-1]["scheme"] == "https"
    assert pushes[-1]["client"] == "127.0.0.1"
    assert pushes[-1]["latency_ms"] > 0
    pulls = [e for e in log if e["route"] == "/api/sync/pull"]
    assert 304 in {e["status"] for e in pulls}

    # /metrics through the proxy: refused without the operator's token, summed over workers with it.
    status, _, _ = stack.get("/metrics")
    assert status == 403
    status, _, body = stack.get(
        "/metrics",
        headers={
            "Authorization": "Basic "
            + b64encode(f"prometheus:{stack.metrics_token}".encode()).decode()
        },
    )
    assert status == 200
    text = body.decode()
    assert _metric(text, "onsite_sync_ops_total", result="applied") >= 1
    assert _metric(text, "onsite_sync_pulls_total", outcome="not_modified") >= 1
    assert _metric(text, "onsite_sync_pushes_total", status="200") >= 1
    assert "onsite_http_request_duration_seconds_bucket" in text
    assert "onsite_sync_feed_lag_changes_bucket" in text


def test_the_proxy_compresses_passes_cache_headers_and_limits_bodies(stack):
    limit = Config().MAX_CONTENT_LENGTH
    # The limit nginx enforces is the app's own setting, rendered into its configuration.
    assert f"client_max_body_size {limit};" in stack.nginx_conf

    status, headers, _ = stack.get("/app/js/sync.js", headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "no-cache" in headers["Cache-Control"]
    status, headers, _ = stack.get("/app/sw.js")
    assert "no-cache" in headers["Cache-Control"]

    status, headers, body = stack.get(
        "/api/sync/push",
        headers={"Content-Type": "application/json"},
        data=b"[" + b" " * limit + b"]",
    )
    assert status == 413
    assert headers["Content-Type"].startswith("application/json")
    answer = json.loads(body)
    assert answer["status"] == 413 and answer["error"] == "too_large"
    assert answer["fields"] == {"body": ["Too large."]}

    # The app logs the phone's address, not the proxy's, and a forged header does not change it:
    # this call comes from 127.0.0.2 while nginx reaches gunicorn from 127.0.0.1.
    conn = http.client.HTTPSConnection(
        "127.0.0.1", stack.https_port, source_address=("127.0.0.2", 0), context=INSECURE
    )
    conn.request("GET", "/healthz?from=elsewhere", headers={"X-Forwarded-For": "6.6.6.6"})
    assert conn.getresponse().status == 200
    conn.close()
    (line,) = [e for e in stack.request_log() if e["route"] == "/healthz"][-1:]
    assert line["client"] == "127.0.0.2"
    assert line["scheme"] == "https"

    # Plain HTTP to the TLS port is refused, not served.
    with pytest.raises((urllib.error.URLError, ConnectionError)) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{stack.https_port}/healthz", timeout=5)
    assert "400" in str(refused.value) or isinstance(refused.value, ConnectionError)
