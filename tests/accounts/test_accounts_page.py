"""The accounts page: users with roles, each engineer's devices with what they still hold, and a
revoked phone's unsent work listed as lost by its sequence numbers."""

from __future__ import annotations

import re

from server.accounts.models import Device, User
from server.accounts.security_models import SecurityAudit
from server.extensions import db
from tests.api.sync_http import HttpPhone, transition


def test_a_supervisor_creates_a_user_who_must_choose_a_password(make, login, app):
    supervisor = login(make.user("supervisor"))
    answer = supervisor.client.post(
        "/accounts/users",
        data={
            "username": "li",
            "display_name": "李工",
            "role": "engineer",
            "password": "temporary-123",
            "csrf_token": supervisor.csrf,
        },
    )
    assert answer.status_code == 302
    user = db.session.scalars(db.select(User).where(User.username == "li")).one()
    assert user.role == "engineer" and user.must_change_password
    assert (
        db.session.scalars(db.select(SecurityAudit).where(SecurityAudit.action == "user.created"))
        .one()
        .actor_id
        == supervisor.user.id
    )
    again = supervisor.client.post(
        "/accounts/users",
        data={
            "username": "li",
            "display_name": "x",
            "role": "engineer",
            "password": "temporary-123",
            "csrf_token": supervisor.csrf,
        },
    )
    assert again.status_code == 409
    short = supervisor.client.post(
        "/accounts/users",
        data={
            "username": "zhao",
            "display_name": "x",
            "role": "wizard",
            "password": "short",
            "csrf_token": supervisor.csrf,
        },
    )
    assert short.status_code == 422


def test_devices_show_last_sync_version_and_unsent_work_then_what_was_lost(
    make, login, signed_device
):
    engineer = make.user("engineer")
    visit = make.visit(make.request(), engineer=engineer)
    phone = HttpPhone(signed_device(engineer))
    phone.op("visit.transition", visit.id, transition("en_route"))
    phone.op("visit.transition", visit.id, transition("arrived", permission_granted=True))
    phone.op("checklist.set", visit.id, {"item_id": "kit", "state": "done", "note": ""})
    phone.push(phone.outbox[:1], report=True)  # the phone sends one; two stay unsent

    admin = login(make.user("admin"))
    page = admin.get("/accounts/").get_data(as_text=True)
    card = re.search(rf'data-device="{phone.device_id}".*?</div>', page, re.S).group(0)
    assert 'data-unsent="2"' in card and "data-lost" not in card

    answer = admin.client.post(
        f"/accounts/devices/{phone.device_id}/revoke", data={"csrf_token": admin.csrf}
    )
    assert answer.status_code == 302
    db.session.expire_all()
    assert db.session.get(Device, phone.device_id).revoked_reason == "revoked"
    page = admin.get("/accounts/").get_data(as_text=True)
    card = re.search(rf'data-device="{phone.device_id}".*?</div>', page, re.S).group(0)
    assert 'data-lost="2-3"' in card
    refused = phone.dev.get("/api/visits")
    assert refused.status_code == 401 and refused.get_json()["error"] == "device_revoked"


def test_a_phone_only_signed_out_loses_nothing(make, login, signed_device):
    """After a password change the phone signs in again and sends its work: nothing is lost."""
    from server.accounts.operations import change_password

    engineer = make.user("engineer")
    visit = make.visit(make.request(), engineer=engineer)
    phone = HttpPhone(signed_device(engineer))
    phone.op("visit.transition", visit.id, transition("en_route"))
    phone.op("visit.transition", visit.id, transition("arrived", permission_granted=True))
    phone.push(phone.outbox[:1], report=True)
    change_password(engineer, "a new long password")
    db.session.commit()

    admin = login(make.user("admin"))
    page = admin.get("/accounts/").get_data(as_text=True)
    card = re.search(rf'data-device="{phone.device_id}".*?</div>', page, re.S).group(0)
    assert 'data-revoked="password"' in card and "data-lost" not in card
    assert f"/accounts/devices/{phone.device_id}/revoke" in card  # may still be reported lost
