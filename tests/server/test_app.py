"""The app factory, configuration, health check, sign-in and landing pages."""

import pytest

from server import create_app
from server.config import Config


def test_healthz_reports_database_and_schema(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["schema"]["up_to_date"] is True
    assert body["schema"]["current"] == body["schema"]["head"]


def test_refuses_to_start_in_production_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("ONSITE_ENV", "production")
    monkeypatch.delenv("ONSITE_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="ONSITE_SECRET_KEY"):
        create_app(Config(), SQLALCHEMY_DATABASE_URI="sqlite://")


def test_starts_in_production_with_a_secret_key(monkeypatch):
    monkeypatch.setenv("ONSITE_ENV", "production")
    monkeypatch.setenv("ONSITE_SECRET_KEY", "x" * 40)
    app = create_app(Config(), SQLALCHEMY_DATABASE_URI="sqlite://")
    assert app.config["SECRET_KEY"] == "x" * 40


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        ("engineer", "/app/"),
        ("office", "/office/"),
        ("supervisor", "/office/"),
        ("finance", "/finance/"),
        ("admin", "/office/"),
    ],
)
def test_root_sends_each_role_to_its_place(make, login, role, landing):
    session = login(make.user(role))
    response = session.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(landing)


def test_root_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


def test_wrong_password_is_refused_with_a_message(client, make):
    make.user("office", username="clerk")
    page = client.get("/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": "clerk", "password": "nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(
        as_text=True
    ) or "用户名或密码错误" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, make):
    make.user("office", username="clerk")
    response = client.post("/login", data={"username": "clerk", "password": "pw"})
    assert response.status_code == 400


def test_login_never_redirects_off_site(client, make):
    make.user("office", username="clerk")
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login?next=https://evil.example/",
        data={"username": "clerk", "password": "pw", "csrf_token": token},
    )
    assert response.headers["Location"] == "/office/"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/office/", {"office", "supervisor", "admin"}), ("/finance/", {"finance", "admin"})],
)
@pytest.mark.parametrize("role", ["engineer", "office", "supervisor", "finance", "admin"])
def test_pages_are_only_for_their_roles(make, login, path, allowed, role):
    response = login(make.user(role)).get(path)
    assert response.status_code == (200 if role in allowed else 403)


def test_openapi_description_is_served(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/requests" in spec["paths"]
    assert "RequestCreate" in spec["components"]["schemas"]


@pytest.mark.parametrize(
    ("header", "expected"), [("en-US,en;q=0.9", "Sign in"), ("zh-TW", "登入"), ("zh-CN", "登录")]
)
def test_sign_in_page_speaks_the_browsers_language(client, header, expected):
    page = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert f"<h1>{expected}</h1>" in page


def test_every_catalogue_has_the_same_keys():
    from server.i18n import LOCALES, catalogue

    keys = {locale: set(catalogue(locale)) for locale in LOCALES}
    assert keys["en"], "the English catalogue is empty"
    for locale in LOCALES:
        assert keys[locale] == keys["en"], (locale, keys[locale] ^ keys["en"])


def test_language_links_keep_the_pages_other_parameters(make, login):
    page = login(make.user("office")).get("/office/?status=registered&lang=en")
    html = page.get_data(as_text=True)
    assert 'href="/office/?status=registered&amp;lang=zh-Hant"' in html


def test_language_chosen_before_signing_in_is_kept(client, make):
    import re

    make.user("office", username="clerk")
    page = client.get("/login?lang=en").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "clerk", "password": "pw", "csrf_token": token})
    assert "<h1>Office" in client.get("/office/").get_data(as_text=True)


def test_a_changed_secret_key_refuses_the_old_cookies_and_takes_them_back_when_restored(
    app, make, login
):
    """The session's signing serializer is kept per key (server/web/cookie_session.py): a new
    key must still be the one that checks every cookie."""
    office = login(make.user("office"))
    assert office.get("/api/customers").status_code == 200
    old = app.secret_key
    app.secret_key = "a different key for this test, long enough"
    try:
        assert office.get("/api/customers").status_code == 401
    finally:
        app.secret_key = old
    assert office.get("/api/customers").status_code == 200
