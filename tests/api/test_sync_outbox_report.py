"""The phone tells the server what it still holds unsent, so nobody closes a day it has not sent."""

from __future__ import annotations

import pytest
from sync_http import HttpPhone, payment, transition

from server.accounts.models import Device
from server.extensions import db


@pytest.fixture
def phone_and_visit(make, signed_device):
    engineer = make.user("engineer")
    customer = make.customer()
    visit = make.visit(make.request(customer), engineer=engineer, onsite_fee_fen=30000)
    return HttpPhone(signed_device(engineer)), visit


def _device(phone: HttpPhone) -> Device:
    db.session.expire_all()
    return db.session.get(Device, phone.device_id)


def test_what_a_push_leaves_unsent_is_recorded_on_the_device(phone_and_visit):
    phone, visit = phone_and_visit
    phone.op("visit.transition", visit.id, transition("arrived", permission_granted=True))
    phone.op("payment.record", visit.id, payment(10000, phone.receipt_no()))
    phone.op("payment.record", visit.id, payment(5000, phone.receipt_no()))
    first = phone.outbox[:2]

    phone.push(first, report=True)  # the app sends its first round, the third op still waits

    device = _device(phone)
    assert device.last_seq == 2
    assert (device.outbox_high_seq, device.outbox_unsent_ops) == (3, 1)
    assert device.outbox_unsent_payments == 1
    assert device.outbox_reported_at is not None

    phone.push(report=True)
    device = _device(phone)
    assert (device.outbox_unsent_ops, device.outbox_unsent_payments) == (0, 0)


def test_a_push_without_a_report_keeps_the_last_one(phone_and_visit):
    phone, visit = phone_and_visit
    phone.op("payment.record", visit.id, payment(10000, phone.receipt_no()))
    phone.op("payment.record", visit.id, payment(5000, phone.receipt_no()))
    phone.push(phone.outbox[:1], report=True)
    phone.push(phone.outbox[:0])  # an older app: no report
    assert _device(phone).outbox_unsent_payments == 1


@pytest.mark.parametrize(
    ("report", "field"),
    [
        ({"high_seq": -1}, "high_seq"),
        ({"high_seq": 2**31}, "high_seq"),
        ({"high_seq": 1, "payment_seqs": [1.5]}, "payment_seqs"),
        ({"high_seq": 1, "payment_seqs": [0]}, "payment_seqs"),
        ({"payment_seqs": []}, "high_seq"),
        ({"high_seq": 1, "extra": 1}, "extra"),
    ],
)
def test_a_malformed_report_is_refused_with_its_field(phone_and_visit, report, field):
    phone, _ = phone_and_visit
    response = phone.dev.post(
        "/api/sync/push",
        json={"protocol": 1, "device_id": phone.device_id, "ops": [], "outbox": report},
    )
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["fields"]["outbox"]
