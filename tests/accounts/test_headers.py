"""Security headers on pages and API answers; HSTS only over HTTPS; Secure cookies in production."""

from __future__ import annotations

import pytest

from server.config import Config


@pytest.mark.parametrize("path", ["/login", "/api/me", "/app/", "/office/", "/no-such-page"])
def test_every_answer_carries_the_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("style-src-attr")[0]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    camera = "camera=(self)" if path == "/app/" else "camera=()"
    assert camera in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_when_served_over_https(client):
    response = client.get("/login", base_url="https://onsite.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_inline_script_in_any_template():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pages = [*root.glob("server/*/templates/**/*.html"), root / "static/index.html"]
    assert len(pages) > 30, "the templates moved: point this test at them"
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), page
        assert not re.search(r"\son[a-z]+\s*=", text), page
        assert "<style" not in text, page


def test_cookies_are_secure_by_default_outside_development(monkeypatch):
    monkeypatch.setenv("ONSITE_ENV", "production")
    monkeypatch.delenv("ONSITE_SECURE_COOKIES", raising=False)
    assert Config().SESSION_COOKIE_SECURE is True
    monkeypatch.setenv("ONSITE_ENV", "development")
    assert Config().SESSION_COOKIE_SECURE is False


def test_the_session_cookie_lives_no_longer_than_a_session(make, client):
    import re

    from server.accounts.web_sessions import ABSOLUTE

    user = make.user("office")
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": user.username, "password": "pw", "csrf_token": token}
    )
    from datetime import UTC, datetime, timedelta
    from email.utils import parsedate_to_datetime

    cookie = response.headers["Set-Cookie"]
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert expires <= datetime.now(UTC) + ABSOLUTE + timedelta(minutes=1)
    assert "HttpOnly" in cookie
