"""Visits: list, read, reassign, reschedule, cancel."""

from flask_smorest import Blueprint

from server.accounts.auth import current_user
from server.dispatch import operations as dispatch
from server.extensions import db
from server.register import access
from server.visits.models import Visit
from server.visits.schemas import VisitQuery, VisitSchema, VisitUpdateSchema
from server.web.api_schemas import StrictSchema, page_of, text
from server.web.paging import paginate

blp = Blueprint("api_visits", __name__, url_prefix="/api", description="Visits")

VisitPage = page_of(VisitSchema, "VisitPage")


class CancelSchema(StrictSchema):
    reason = text(2000, required=True)


@blp.route("/visits", methods=["GET"])
@blp.arguments(VisitQuery, location="query")
@blp.response(200, VisitPage)
def list_visits(args):
    """List visits; an engineer sees only their own."""
    user = access.require_user(current_user())
    query = access.visits_of(user).order_by(
        Visit.window_start.is_(None), Visit.window_start, Visit.id
    )
    for key in ("status", "engineer_id", "request_id"):
        if args.get(key) is not None:
            query = query.where(getattr(Visit, key) == args[key])
    return paginate(query, args["page"], args["per_page"])


@blp.route("/visits/<int:visit_id>", methods=["GET"])
@blp.response(200, VisitSchema)
def get_visit(visit_id: int):
    """Return one visit."""
    user = access.require_user(current_user())
    return access.get_visible(access.visits_of(user), Visit, visit_id, "visit")


@blp.route("/visits/<int:visit_id>", methods=["PATCH"])
@blp.arguments(VisitUpdateSchema)
@blp.response(200, VisitSchema)
def update_visit(data, visit_id: int):
    """Reassign or reschedule a visit."""
    user = access.require_writer(current_user())
    visit = dispatch.update_visit(
        access.get_visible(access.visits_of(user), Visit, visit_id, "visit"), data
    )
    db.session.commit()
    return visit


@blp.route("/visits/<int:visit_id>/cancel", methods=["POST"])
@blp.arguments(CancelSchema)
@blp.response(200, VisitSchema)
def cancel_visit(data, visit_id: int):
    """Cancel a visit that has not finished."""
    user = access.require_writer(current_user())
    visit = dispatch.cancel_visit(
        access.get_visible(access.visits_of(user), Visit, visit_id, "visit"), data["reason"]
    )
    db.session.commit()
    return visit
