"""R11: op validation names each bad field and refuses what it does not know."""

import pytest
from sync_helpers import DEV_A, DEV_B, Phone, checklist, payment

from sync import limits
from sync.ops import ValidationError, parse_op, read_envelope


def fields_of(raw, device=DEV_A):
    with pytest.raises(ValidationError) as err:
        parse_op(raw, device)
    return {e.field for e in err.value.errors}


def good(kind="payment.record", payload=None):
    return Phone(DEV_A).op(kind, payload or payment())


def test_r11_valid_op_parses_to_normalised_op():
    op = parse_op(good(), DEV_A)
    assert op.kind == "payment.record" and op.payload["amount_fen"] == 8000
    assert op.blob_refs() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount_fen": 12.5}, "payload.amount_fen"),
        ({"amount_fen": 0}, "payload.amount_fen"),
        ({"amount_fen": True}, "payload.amount_fen"),
        ({"amount_fen": "8000"}, "payload.amount_fen"),
        ({"currency": "USD"}, "payload.currency"),
        ({"method": "bitcoin"}, "payload.method"),
        ({"receipt_no": ""}, "payload.receipt_no"),
        ({"payer": "x" * (limits.SHORT + 1)}, "payload.payer"),
        ({"tip_fen": 100}, "payload.tip_fen"),
    ],
)
def test_r11_validation_names_each_field(change, field):
    raw = good()
    raw["payload"] = {**raw["payload"], **change}
    assert fields_of(raw) == {field}


def test_r11_missing_payload_field_is_named():
    raw = good()
    del raw["payload"]["receipt_no"]
    assert fields_of(raw) == {"payload.receipt_no"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"op_id": "not-a-uuid"}, "op_id"),
        ({"op_id": "A1B2C3D4-0000-4000-8000-00000000000A"}, "op_id"),
        ({"kind": "payment.delete"}, "kind"),
        ({"visit_id": "12"}, "visit_id"),
        ({"hlc": "yesterday"}, "hlc"),
        ({"device_time": "2026-11-28T09:15:00"}, "device_time"),
        ({"device_time": "soon"}, "device_time"),
        ({"record_id": "12"}, "record_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_r11_envelope_errors_are_named(change, field):
    assert field in fields_of({**good(), **change})


def test_r11_hlc_must_be_the_senders():
    assert fields_of(good(), device=DEV_B) == {"hlc"}


def test_r11_checklist_record_id_must_name_visit_and_item():
    raw = Phone(DEV_A).op("checklist.set", checklist("kit"))
    raw["record_id"] = "12:permission"
    assert fields_of(raw) == {"record_id"}


def test_r11_several_errors_are_all_reported():
    raw = good()
    raw["payload"] = {**raw["payload"], "amount_fen": -1, "currency": "HKD"}
    with pytest.raises(ValidationError) as err:
        parse_op(raw, DEV_A)
    assert "payload.amount_fen" in str(err.value) and "payload.currency" in str(err.value)


def test_r11_blob_refs_cover_every_blob_field():
    payload = {
        "equipment_id": 3,
        "brand": "HP",
        "model": "M404",
        "description": "",
        "warranty_claimed": True,
        "purchase_proof_blob": "11" * 32,
        "warranty_card_blob": None,
        "photo_blobs": ["22" * 32, "33" * 32],
    }
    op = parse_op(Phone(DEV_A).op("damage.record", payload), DEV_A)
    assert op.blob_refs() == ["11" * 32, "22" * 32, "33" * 32]
    too_many = {**payload, "photo_blobs": ["22" * 32] * (limits.MAX_PHOTOS + 1)}
    assert fields_of(Phone(DEV_A).op("damage.record", too_many)) == {"payload.photo_blobs"}


def test_r09_envelope_is_read_even_from_a_broken_op():
    env = read_envelope({"op_id": "x", "seq": 3, "schema_version": "1"})
    assert (env.op_id, env.seq, env.schema_version) == (None, 3, None)
    assert read_envelope(["not", "an", "op"]).seq is None
