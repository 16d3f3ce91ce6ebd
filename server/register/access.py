"""Who may see what: engineers see only what their visits touch; office and finance see all."""

from __future__ import annotations

from sqlalchemy import Select, select

from server.accounts.models import Role, User
from server.customers.models import Customer, Equipment
from server.errors import ApiError
from server.extensions import db
from server.register.models import ServiceRequest
from server.visits.models import Visit

READ_ALL = {Role.OFFICE, Role.SUPERVISOR, Role.ADMIN, Role.FINANCE}
WRITE_REGISTER = {Role.OFFICE, Role.SUPERVISOR, Role.ADMIN}


def require_user(user: User | None) -> User:
    """Return the user, or refuse an anonymous caller."""
    if user is None:
        raise ApiError(401, "err.sign_in_first")
    return user


def require_writer(user: User | None) -> User:
    """Refuse anyone who may not change the register."""
    user = require_user(user)
    if user.role not in WRITE_REGISTER:
        raise ApiError(403, "err.register.writers_only")
    return user


def visits_of(user: User) -> Select:
    """Select the visits the user may see."""
    query = select(Visit)
    if user.role == Role.ENGINEER:
        query = query.where(Visit.engineer_id == user.id)
    elif user.role not in READ_ALL:
        query = query.where(False)
    return query


def requests_of(user: User) -> Select:
    """Select the register entries the user may see."""
    query = select(ServiceRequest)
    if user.role == Role.ENGINEER:
        query = query.where(
            ServiceRequest.id.in_(select(Visit.request_id).where(Visit.engineer_id == user.id))
        )
    elif user.role not in READ_ALL:
        query = query.where(False)
    return query


def customers_of(user: User) -> Select:
    """Select the customers the user may see."""
    query = select(Customer)
    if user.role == Role.ENGINEER:
        query = query.where(
            Customer.id.in_(
                select(ServiceRequest.customer_id)
                .join(Visit, Visit.request_id == ServiceRequest.id)
                .where(Visit.engineer_id == user.id)
            )
        )
    elif user.role not in READ_ALL:
        query = query.where(False)
    return query


def equipment_of(user: User) -> Select:
    """Select the equipment the user may see."""
    query = select(Equipment)
    if user.role == Role.ENGINEER:
        query = query.where(
            Equipment.customer_id.in_(customers_of(user).with_only_columns(Customer.id))
        )
    elif user.role not in READ_ALL:
        query = query.where(False)
    return query


def get_visible(query: Select, model, obj_id: int, what: str):
    """Return one row the user may see, or 404 (never 403, so ids of others do not leak)."""
    obj = db.session.scalar(query.where(model.id == obj_id))
    if obj is None:
        raise ApiError(404, f"err.not_visible.{what}")
    return obj
