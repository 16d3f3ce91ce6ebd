"""The columns ops land in hold every value sync/limits.py lets through (issue 9, fault 1)."""

from __future__ import annotations

from sqlalchemy import Integer, String

from server.feed.models import SyncOperation
from server.syncing.store import ENTITY_MODELS, RENAMED
from sync import limits
from sync.engine import KIND_RECORD
from sync.ops import KINDS


def _column(model, name):
    return model.__table__.columns.get(name)


def test_every_op_field_fits_its_column():
    checked = 0
    for kind, entity in KIND_RECORD.items():
        model = ENTITY_MODELS[entity]
        renamed = RENAMED.get(entity, {})
        for name, longest in limits.TEXT_LIMITS.get(kind, {}).items():
            column = _column(model, renamed.get(name, name))
            assert column is not None, (kind, name)
            if isinstance(column.type, String) and column.type.length is not None:
                assert longest <= column.type.length, (kind, name, longest, column.type.length)
                checked += 1
        for name, (lo, hi) in limits.INT_LIMITS.get(kind, {}).items():
            column = _column(model, renamed.get(name, name))
            assert column is not None, (kind, name)
            assert isinstance(column.type, Integer), (kind, name)
            assert lo >= -limits.INT32_MAX - 1 and hi <= limits.INT32_MAX, (kind, name)
            checked += 1
    assert checked >= 20


def test_every_string_column_of_an_op_table_is_sized_by_a_limit_or_a_fixed_shape():
    """A String(n) column an op writes either has a limit in the table or a fixed-size value."""
    fixed = {
        "id",
        "op_id",
        "device_id",
        "hlc",
        "device_time",
        "visit_id",
        "state",
        "kind",
        "method",
        "currency",
        "signature_blob",
        "purchase_proof_blob",
        "warranty_card_blob",
        "digest",
        "server_digest",
        "signed_hlc",
        "device_hlc",
        "item_id",
        "payment_id",
        "reverses_id",
        "due_on",  # YYYY-MM-DD, checked by the op's validation
    }
    for kind, entity in KIND_RECORD.items():
        model = ENTITY_MODELS[entity]
        limited = set(limits.TEXT_LIMITS.get(kind, {}))
        for column in model.__table__.columns:
            if isinstance(column.type, String) and column.type.length is not None:
                assert column.key in limited or column.key in fixed, (entity, column.key)


def test_envelope_fields_fit_the_operation_log():
    for name in ("seq", "visit_id", "schema_version"):
        assert limits.int_limit("envelope", name)[1] <= limits.INT32_MAX
    for name in ("record_id", "hlc", "device_time"):
        assert limits.text_limit("envelope", name) <= _column(SyncOperation, name).type.length


def test_every_op_kind_but_a_transition_names_the_record_it_writes():
    """One table (sync.engine.KIND_RECORD) says which record a kind writes, for engine and store."""
    assert set(KIND_RECORD) == set(KINDS) - {"visit.transition"}
    assert set(KIND_RECORD.values()) <= set(ENTITY_MODELS)
