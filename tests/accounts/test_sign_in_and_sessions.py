"""Sign-in throttling, sessions that end on the server, device tokens that follow the account.

Each test speaks HTTP to the app (the WSGI stack, cookies and headers as a browser sends them);
only the clock is frozen where lifetimes are checked.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from freezegun import freeze_time

from server import create_app
from server.accounts import auth, throttle, web_sessions
from server.accounts.security_models import SecurityAudit, SignInThrottle, WebSession
from server.config import TestConfig as OnsiteTestConfig
from server.db_types import utcnow
from server.extensions import db

PASSWORD = "pw"


def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _login(client, username: str, password: str = PASSWORD, **kw):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": _csrf(client)},
        headers={"Accept-Language": "en"},
        **kw,
    )


def _device_login(client, username: str, password: str = PASSWORD, device_id: str | None = None):
    import uuid

    return client.post(
        "/api/auth/device",
        json={
            "username": username,
            "password": password,
            "device_id": device_id or str(uuid.uuid4()),
            "device_name": "phone",
        },
    )


def _audit(action: str) -> list[SecurityAudit]:
    db.session.expire_all()
    return db.session.scalars(db.select(SecurityAudit).where(SecurityAudit.action == action)).all()


# --- throttling ------------------------------------------------------------------------------


def test_wrong_passwords_lock_the_account_even_against_the_right_one(make, client):
    user = make.user("office")
    limit = throttle.LIMITS["account"]
    for _ in range(limit - 1):
        assert _login(client, user.username, "wrong").status_code == 401
    locked = _login(client, user.username, "wrong")
    assert locked.status_code == 429
    wait = int(locked.headers["Retry-After"])
    assert 0 < wait <= throttle.LOCK.total_seconds()
    assert f"{int(throttle.LOCK.total_seconds() // 60)} min" in locked.get_data(as_text=True)

    right = _login(client, user.username)
    assert right.status_code == 429 and "Location" not in right.headers
    [entry] = _audit("sign_in.locked")
    assert entry.subject == f"account:{user.username}" and entry.details["failures"] == limit


def test_the_lock_runs_out(make, client):
    user = make.user("office")
    with freeze_time(utcnow()) as clock:
        for _ in range(throttle.LIMITS["account"]):
            _login(client, user.username, "wrong")
        assert _login(client, user.username).status_code == 429
        clock.tick(throttle.LOCK + timedelta(seconds=1))
        assert _login(client, user.username).status_code == 302


def test_device_sign_in_is_throttled_with_the_wait_in_the_answer(make, client):
    engineer = make.user("engineer")
    for _ in range(throttle.LIMITS["account"]):
        _device_login(client, engineer.username, "wrong")
    response = _device_login(client, engineer.username)
    assert response.status_code == 429
    body = response.get_json()
    assert body["error"] == "sign_in_locked" and body["status"] == 429
    assert 0 < body["retry_after"] <= throttle.LOCK.total_seconds()
    assert response.headers["Retry-After"] == str(body["retry_after"])


def test_the_count_is_shared_by_every_server_process(make, client, database_url):
    """A second app on the same database stands for a second process: it shares no memory."""
    user = make.user("office")
    other = create_app(OnsiteTestConfig(database_url=database_url))
    other_client = other.test_client()
    half = throttle.LIMITS["account"] // 2
    for _ in range(half):
        assert _login(client, user.username, "wrong").status_code == 401
    with other.app_context():
        for _ in range(throttle.LIMITS["account"] - half):
            _login(other_client, user.username, "wrong")
        other_answer = _login(other_client, user.username)
        db.session.remove()
    assert other_answer.status_code == 429
    assert _login(client, user.username).status_code == 429
    with other.app_context():
        db.engine.dispose()


def test_many_accounts_tried_from_one_address_lock_that_address(make, app):
    user = make.user("office")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for n in range(throttle.LIMITS["address"]):
        assert _login(attacker, f"guess{n}", "wrong").status_code in (401, 429)
    assert _login(attacker, user.username).status_code == 429
    # The account itself is not locked: its owner, elsewhere, signs in.
    colleague = app.test_client()
    colleague.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    assert _login(colleague, user.username).status_code == 302


def test_an_office_user_lifts_a_lock(make, client, login):
    user = make.user("engineer")
    for _ in range(throttle.LIMITS["account"]):
        _device_login(client, user.username, "wrong")
    assert _device_login(client, user.username).status_code == 429

    office = login(make.user("office"))
    page = office.get("/accounts/").get_data(as_text=True)
    assert f'data-lock="account:{user.username}"' in page
    lock = db.session.scalars(
        db.select(SignInThrottle).where(SignInThrottle.key == user.username)
    ).one()
    answer = office.client.post(
        f"/accounts/locks/{lock.id}/unlock", data={"csrf_token": office.csrf}
    )
    assert answer.status_code == 302
    assert _device_login(client, user.username).status_code == 201
    [entry] = _audit("sign_in.unlocked")
    assert entry.actor_id == office.user.id


def test_an_engineer_may_not_lift_a_lock(make, client, login, signed_device):
    user = make.user("office")
    for _ in range(throttle.LIMITS["account"]):
        _login(client, user.username, "wrong")
    lock = db.session.scalars(db.select(SignInThrottle)).first()
    phone = signed_device(make.user("engineer"))
    assert phone.post(f"/accounts/locks/{lock.id}/unlock").status_code in (401, 403)
    assert _login(client, user.username).status_code == 429


# --- what a sign-in answer gives away --------------------------------------------------------


def test_a_wrong_role_answers_as_a_wrong_password_at_device_sign_in(make, client):
    office = make.user("office")
    right_password = _device_login(client, office.username)
    wrong_password = _device_login(client, office.username, "wrong")
    unknown = _device_login(client, "nobody-here", "wrong")
    assert right_password.status_code == wrong_password.status_code == unknown.status_code == 401
    assert right_password.get_json() == wrong_password.get_json() == unknown.get_json()


def test_unknown_users_cost_as_much_as_known_ones(make, app, client, monkeypatch):
    """A missing user must not answer faster (it did: 4 ms against 80 ms): both paths verify one
    password hash of the same method and cost. Counted, not timed, so load cannot sway it."""
    app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:150000"
    verified: list[str] = []
    real = auth.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        verified.append(pwhash.split("$", 1)[0])  # the method and its cost, e.g. pbkdf2:sha256:N
        return real(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", counting)
    try:
        user = make.user("office", password="right")
        answers = []
        for username in (user.username, "ghost"):
            db.session.execute(db.delete(SignInThrottle))  # no lock may cut a try short
            db.session.commit()
            verified.clear()
            answers.append(_device_login(client, username, "wrong").get_json())
            assert verified == ["pbkdf2:sha256:150000"], (username, verified)
    finally:
        app.config["PASSWORD_HASH_METHOD"] = OnsiteTestConfig().PASSWORD_HASH_METHOD
    # And the two answers say the same thing.
    assert answers[0] == answers[1]


def test_the_cookie_holds_no_part_of_the_password_hash(make, app, client):
    user = make.user("office")
    assert _login(client, user.username).status_code == 302
    cookie = client.get_cookie("session").value
    data = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert "pw" not in data and "user_id" not in data
    hash_ = user.password_hash
    for value in data.values():
        text = str(value)
        assert not any(hash_[i : i + 8] in text for i in range(len(hash_) - 8))


# --- sessions end on the server --------------------------------------------------------------


def _copied(app, client):
    """A second browser holding a copy of the first one's cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_logout_ends_a_copied_cookie_too(make, app, client):
    user = make.user("office")
    _login(client, user.username)
    thief = _copied(app, client)
    assert thief.get("/api/me").status_code == 200
    client.post(
        "/logout", data={"csrf_token": client.get("/api/csrf-token").get_json()["csrf_token"]}
    )
    assert thief.get("/api/me").status_code == 401


def test_a_password_change_ends_other_sessions_and_device_sign_ins(
    make, app, client, signed_device
):
    engineer = make.user("engineer")
    phone = signed_device(engineer)
    _login(client, engineer.username)
    elsewhere = app.test_client()
    _login(elsewhere, engineer.username)
    answer = client.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": "a much longer one",
            "repeat": "a much longer one",
            "csrf_token": client.get("/api/csrf-token").get_json()["csrf_token"],
        },
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert client.get("/api/me").status_code == 200
    assert elsewhere.get("/api/me").status_code == 401
    refused = phone.get("/api/visits")
    assert refused.status_code == 401 and refused.get_json()["error"] == "device_signed_out"
    assert _audit("password.changed")


def test_deactivation_ends_sessions_and_revokes_devices(make, app, login, signed_device):
    engineer = make.user("engineer")
    phone = signed_device(engineer)
    browser = app.test_client()
    _login(browser, engineer.username)
    admin = login(make.user("admin"))
    answer = admin.client.post(
        f"/accounts/users/{engineer.id}/deactivate", data={"csrf_token": admin.csrf}
    )
    assert answer.status_code == 302
    assert browser.get("/api/me").status_code == 401
    refused = phone.get("/api/visits")
    assert refused.status_code == 401 and refused.get_json()["error"] == "device_revoked"
    assert _device_login(app.test_client(), engineer.username).status_code == 401


def test_sign_out_everywhere(make, app, login, signed_device):
    engineer = make.user("engineer")
    phone = signed_device(engineer)
    browser = app.test_client()
    _login(browser, engineer.username)
    supervisor = login(make.user("supervisor"))
    supervisor.client.post(
        f"/accounts/users/{engineer.id}/sign-out", data={"csrf_token": supervisor.csrf}
    )
    assert browser.get("/api/me").status_code == 401
    assert phone.get("/api/visits").get_json()["error"] == "device_signed_out"
    # Signing in again on the same phone works, and keeps its id and receipt prefix.
    again = _device_login(app.test_client(), engineer.username, device_id=phone.device_id)
    assert again.status_code == 201
    assert again.get_json()["device"]["receipt_prefix"] == phone.receipt_prefix


@pytest.mark.parametrize(
    ("role", "idle"),
    [("finance", web_sessions.IDLE["finance"]), ("office", web_sessions.IDLE["office"])],
)
def test_office_and_finance_sessions_end_when_idle(make, client, role, idle):
    user = make.user(role)
    with freeze_time(utcnow()) as clock:
        _login(client, user.username)
        clock.tick(idle - timedelta(seconds=5))
        assert client.get("/api/me").status_code == 200  # activity keeps it alive
        clock.tick(idle - timedelta(seconds=5))
        assert client.get("/api/me").status_code == 200
        clock.tick(idle + timedelta(seconds=1))
        assert client.get("/api/me").status_code == 401
    assert idle <= timedelta(minutes=30)
    assert db.session.scalar(db.select(db.func.count()).select_from(WebSession)) == 0


def test_a_session_ends_after_a_working_day_however_active(make, client):
    user = make.user("office")
    with freeze_time(utcnow()) as clock:
        _login(client, user.username)
        elapsed = timedelta()
        while elapsed < web_sessions.ABSOLUTE - timedelta(minutes=20):
            clock.tick(timedelta(minutes=20))
            elapsed += timedelta(minutes=20)
            assert client.get("/api/me").status_code == 200
        clock.tick(timedelta(minutes=21))
        assert client.get("/api/me").status_code == 401


def test_a_reset_password_must_be_changed_at_next_sign_in(make, app, login, signed_device):
    office = make.user("office")
    phone_user = make.user("engineer")
    phone = signed_device(phone_user)
    admin = login(make.user("admin"))
    for user in (office, phone_user):
        answer = admin.client.post(
            f"/accounts/users/{user.id}/reset",
            data={"password": "temporary-123", "csrf_token": admin.csrf},
        )
        assert answer.status_code == 302
    assert phone.get("/api/visits").status_code == 401
    refused = _device_login(app.test_client(), phone_user.username, "temporary-123")
    assert refused.status_code == 403 and refused.get_json()["error"] == "password_change_required"

    browser = app.test_client()
    answer = _login(browser, office.username, "temporary-123")
    assert answer.headers["Location"].endswith("/account/password")
    assert browser.get("/office/").headers["Location"].endswith("/account/password")
    assert browser.get("/api/me").get_json()["error"] == "password_change_required"
    token = browser.get("/api/csrf-token").get_json()["csrf_token"]
    short = browser.post(
        "/account/password",
        data={"current": "temporary-123", "new": "short", "repeat": "short", "csrf_token": token},
    )
    assert short.status_code == 422
    done = browser.post(
        "/account/password",
        data={
            "current": "temporary-123",
            "new": "my own secret",
            "repeat": "my own secret",
            "csrf_token": token,
        },
    )
    assert done.status_code == 302
    assert browser.get("/office/").status_code == 200
    assert _audit("password.reset") and _audit("password.changed")


def test_an_office_user_may_not_manage_accounts(make, login):
    engineer = make.user("engineer")
    office = login(make.user("office"))
    answer = office.client.post(
        f"/accounts/users/{engineer.id}/deactivate", data={"csrf_token": office.csrf}
    )
    assert answer.status_code == 403
    db.session.expire_all()
    assert engineer.is_active
    assert 'action="/accounts/users"' not in office.get("/accounts/").get_data(as_text=True)


def test_simultaneous_failures_are_all_counted_and_lock_once(make, app):
    """Eight wrong passwords at once (a barrier starts them together): none is lost to a race."""
    import threading

    user = make.user("office")
    attempts = 8
    barrier = threading.Barrier(attempts)
    answers: list[int] = []

    username = user.username

    def attempt() -> None:
        client = app.test_client()
        barrier.wait()
        answers.append(_device_login(client, username, "wrong").status_code)

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == attempts and set(answers) <= {401, 429} and 429 in answers
    db.session.expire_all()
    rows = {r.scope: r for r in db.session.scalars(db.select(SignInThrottle))}
    refused_before_counting = answers.count(429) - 1  # the one that set the lock was counted
    assert rows["account"].failures == attempts - refused_before_counting
    assert rows["address"].failures == attempts - refused_before_counting
    assert len(_audit("sign_in.locked")) == 1
