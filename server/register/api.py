"""The service register: requests, triage, the response steps, callbacks and results."""

from flask_smorest import Blueprint

from server.accounts.auth import current_user
from server.dispatch import operations as dispatch
from server.extensions import db
from server.register import access
from server.register import operations as register
from server.register.listing import requests_query
from server.register.models import ServiceRequest
from server.register.schemas import (
    CallbackSchema,
    RequestCreateSchema,
    RequestEventSchema,
    RequestQuery,
    RequestSchema,
    ResultSchema,
    TriageSchema,
)
from server.register.sla_view import with_sla
from server.visits.schemas import VisitCreateSchema, VisitSchema
from server.web.api_schemas import page_of
from server.web.paging import paginate

blp = Blueprint("api_requests", __name__, url_prefix="/api", description="Service register")

RequestPage = page_of(RequestSchema, "RequestPage")


def _load(request_id: int, write: bool = False) -> ServiceRequest:
    user = access.require_writer(current_user()) if write else access.require_user(current_user())
    return access.get_visible(access.requests_of(user), ServiceRequest, request_id, "request")


@blp.route("/requests", methods=["GET"])
@blp.arguments(RequestQuery, location="query")
@blp.response(200, RequestPage)
def list_requests(args):
    """List register entries, newest first, with their SLA clocks."""
    user = access.require_user(current_user())
    query = requests_query(args, base=access.requests_of(user))
    page = paginate(query, args["page"], args["per_page"])
    page["items"] = [with_sla(r) for r in page["items"]]
    return page


@blp.route("/requests", methods=["POST"])
@blp.arguments(RequestCreateSchema)
@blp.response(201, RequestSchema)
def create_request(data):
    """Register a request (S10)."""
    user = access.require_writer(current_user())
    request = register.register_request(data, user)
    db.session.commit()
    return with_sla(request)


@blp.route("/requests/<int:request_id>", methods=["GET"])
@blp.response(200, RequestSchema)
def get_request(request_id: int):
    """Return one register entry with its SLA clocks."""
    return with_sla(_load(request_id))


@blp.route("/requests/<int:request_id>/triage", methods=["POST"])
@blp.arguments(TriageSchema)
@blp.response(200, RequestSchema)
def triage(data, request_id: int):
    """Set severity, urgency and whether a visit is needed (S11)."""
    request = register.triage_request(_load(request_id, write=True), data)
    db.session.commit()
    return with_sla(request)


def _step(name: str, operation, doc: str) -> None:
    def view(data, request_id: int):
        request = operation(_load(request_id, write=True), data)
        db.session.commit()
        return with_sla(request)

    view.__name__ = f"record_{name.replace('-', '_')}"
    view.__doc__ = doc
    blp.route(f"/requests/<int:request_id>/{name}", methods=["POST"])(
        blp.arguments(RequestEventSchema)(blp.response(200, RequestSchema)(view))
    )


_step("phone-response", register.record_phone_response, "Record the first phone response (S5a).")
_step(
    "remote-consent",
    register.record_remote_consent,
    "Record that phone guidance failed and the customer consents to remote login (S5c).",
)
_step("remote-login", register.record_remote_login, "Record the remote login (S5c).")
_step(
    "delay-notice",
    register.record_delay_notice,
    "Record that the customer was told the request cannot be handled in time (S11).",
)


@blp.route("/requests/<int:request_id>/callbacks", methods=["POST"])
@blp.arguments(CallbackSchema)
@blp.response(201, CallbackSchema)
def add_callback(data, request_id: int):
    """Record the call back to the customer after the job (S12)."""
    request = _load(request_id, write=True)
    callback = register.add_callback(request, data, current_user())
    db.session.commit()
    return callback


@blp.route("/requests/<int:request_id>/result", methods=["POST"])
@blp.arguments(ResultSchema)
@blp.response(200, RequestSchema)
def record_result(data, request_id: int):
    """Write the result into the register (S29)."""
    request = register.record_result(_load(request_id, write=True), data)
    db.session.commit()
    return with_sla(request)


@blp.route("/requests/<int:request_id>/visits", methods=["POST"])
@blp.arguments(VisitCreateSchema)
@blp.response(201, VisitSchema)
def schedule_visit(data, request_id: int):
    """Schedule a visit and assign an engineer with an appointment window (S14)."""
    visit = dispatch.schedule_visit(_load(request_id, write=True), data)
    db.session.commit()
    return visit
