"""A transaction that loses to another at the same moment is told so with a 409, never a 500.

PostgreSQL ends the loser of a deadlock, of a serialization failure or of a lock it would not
wait for with an error: whatever route it came through, the client gets the one error shape
with status 409 and nothing of its request is saved. The lock order the first-time-fix
verdicts are decided under gives way the same way rather than risk a deadlock.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.orm import Session as OrmSession

from server.customers.models import Customer
from server.errors import ApiError
from server.extensions import db
from server.register import first_fix_store
from server.register.models import ServiceRequest


@pytest.fixture
def impatient(app):
    """Make every transaction the app begins wait at most 200 ms for a lock."""

    def short_wait(_session, _transaction, connection):
        connection.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")

    event.listen(OrmSession, "after_begin", short_wait)
    yield
    event.remove(OrmSession, "after_begin", short_wait)


def test_an_edit_that_cannot_get_its_row_in_time_is_a_409_and_saves_nothing(
    app, make, login, postgres_only, impatient
):
    office = login(make.user("office"))
    customer = make.customer(contact_person="周老师")
    with db.engine.connect() as other:  # another transaction holds the customer's row
        other.execute(select(Customer).where(Customer.id == customer.id).with_for_update())
        answer = office.patch(f"/api/customers/{customer.id}", json={"contact_person": "王工"})
        other.rollback()
    assert answer.status_code == 409, answer.get_json()
    body = answer.get_json()
    assert body["error"] == "conflict"
    assert body["message_key"] == "err.same_moment"
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).contact_person == "周老师"
    again = office.patch(f"/api/customers/{customer.id}", json={"contact_person": "王工"})
    assert again.status_code == 200, again.get_json()


def test_another_database_fault_is_still_a_500(app, make, login, monkeypatch):
    """Only a lost race is the client's to retry: a broken statement is a fault of ours."""
    from server.customers import api as customers_api

    office = login(make.user("office"))
    customer = make.customer()

    def broken(_user):
        db.session.execute(text("SELECT no_such_column FROM customer"))

    monkeypatch.setattr(customers_api.access, "require_writer", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    answer = office.patch(f"/api/customers/{customer.id}", json={"contact_person": "王工"})
    assert answer.status_code == 500
    assert answer.get_json()["error"] == "server_error"


def _staged_equipment_move(monkeypatch, request_id: int, to_equipment: int) -> None:
    """Move the request to other equipment, committed by another transaction, just after the
    first round of `_lock` took its keys: the second round then finds a key that sorts first."""
    original = first_fix_store._lock_keys
    rounds = []

    def keys(session, request_ids, equipment):
        if rounds:
            with db.engine.begin() as other:
                other.execute(
                    update(ServiceRequest)
                    .where(ServiceRequest.id == request_id)
                    .values(equipment_id=to_equipment)
                )
        rounds.append(1)
        return original(session, request_ids, equipment)

    monkeypatch.setattr(first_fix_store, "_lock_keys", keys)


def _held_keys() -> set[int]:
    return set(
        db.session.scalars(
            text(
                "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = :space"
                " AND pid = pg_backend_pid()"
            ),
            {"space": first_fix_store.EQUIPMENT_LOCK},
        )
    )


@pytest.mark.parametrize("other_holds_it", [True, False])
def test_a_key_that_turns_up_out_of_order_is_tried_not_waited_for(
    app, make, monkeypatch, postgres_only, impatient, other_holds_it
):
    """Waiting for a key that sorts before one already held is how two deciders deadlock. If
    another holds it, the decider gives way at once with a 409; if it is free, it is taken."""
    customer = make.customer()
    low, high = make.equipment(customer), make.equipment(customer)
    assert low.id < high.id
    request = make.request(customer, equipment_id=high.id)
    db.session.commit()
    _staged_equipment_move(monkeypatch, request.id, low.id)
    noted = first_fix_store._Noted(requests={request.id})
    with db.engine.connect() as holder:
        if other_holds_it:
            holder.execute(
                text("SELECT pg_advisory_xact_lock(:s, :k)"),
                {"s": first_fix_store.EQUIPMENT_LOCK, "k": low.id},
            )
            with pytest.raises(ApiError) as lost:
                first_fix_store._lock(db.session(), noted)
            assert (lost.value.status, lost.value.message) == (409, "err.same_moment")
        else:
            first_fix_store._lock(db.session(), noted)
            assert _held_keys() == {low.id, high.id}
        holder.rollback()
    db.session.rollback()
