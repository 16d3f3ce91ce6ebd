"""Office pages reviewing finished visits: the queue, one visit, its conflicts and refused ops."""

from __future__ import annotations

from flask import (
    render_template,
    url_for,
)

from server.accounts.auth import current_user
from server.errors import ApiError
from server.feed.models import SyncOperation
from server.review import operations as office_review
from server.visits.field_models import Conflict
from server.visits.models import Visit
from server.web.forms import FormState, NoteForm, OptionalNoteForm, submit
from server.web.office_pages import (
    bp,
    done,
    get_or_404,
    page_number,
)

# Each line of the review queue runs the whole completeness check of its visit: a shorter page.
REVIEW_PAGE_SIZE = 25


# --- visit review ---


@bp.get("/visits")
def review_queue():
    """Finished visits not yet reviewed, the longest waiting first, a page at a time."""
    page = page_number()
    total, items = office_review.visits_to_review(page, REVIEW_PAGE_SIZE)
    pages = max(1, -(-total // REVIEW_PAGE_SIZE))
    return render_template(
        "office/review_queue.html", items=items, page=page, pages=pages, total=total
    )


def _review_page(visit: Visit, forms: dict[str, FormState] | None = None, status: int = 200):
    forms = forms or {}
    return render_template(
        "office/visit_review.html",
        v=visit,
        rv=office_review.review_visit(visit),
        form=lambda name: forms.get(name) or FormState(name),
    ), status


@bp.get("/visits/<int:visit_id>")
def visit_review(visit_id: int):
    """Everything the field synced for a visit, on one page."""
    return _review_page(get_or_404(Visit, visit_id, "visit"))


@bp.post("/visits/<int:visit_id>/reviewed")
def mark_reviewed(visit_id: int):
    """Take a finished visit off the review queue (with a note if it still lacks something)."""
    visit = get_or_404(Visit, visit_id, "visit")
    user = current_user()
    result = submit(
        OptionalNoteForm(),
        "reviewed",
        lambda data: office_review.mark_visit_reviewed(visit, user, data.get("note")),
        lambda state, status: _review_page(visit, {"reviewed": state}, status),
    )
    if isinstance(result, tuple):
        return result
    return done("office.flash.saved", url_for("office.review_queue"))


@bp.post("/conflicts/<int:conflict_id>/resolve")
def resolve_conflict(conflict_id: int):
    """Mark a sync conflict resolved, with a note of what was decided."""
    conflict = get_or_404(Conflict, conflict_id, "conflict")
    if conflict.visit_id is None:
        raise ApiError(404, "err.review.conflict_no_visit")
    visit = get_or_404(Visit, conflict.visit_id, "visit")
    prefix = f"conflict{conflict.id}"
    user = current_user()
    result = submit(
        NoteForm(),
        prefix,
        lambda data: office_review.resolve_conflict(conflict, data["note"], user),
        lambda state, status: _review_page(visit, {prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return done(
        "office.flash.saved", url_for("office.visit_review", visit_id=visit.id) + "#conflicts"
    )


@bp.post("/operations/<int:operation_id>/reviewed")
def review_operation(operation_id: int):
    """Mark an operation the server refused (or found in conflict) as reviewed."""
    operation = get_or_404(SyncOperation, operation_id, "operation")
    if operation.visit_id is None:
        raise ApiError(404, "err.review.operation_no_visit")
    visit = get_or_404(Visit, operation.visit_id, "visit")
    prefix = f"op{operation.id}"
    user = current_user()
    result = submit(
        OptionalNoteForm(),
        prefix,
        lambda data: office_review.mark_operation_reviewed(operation, user, data.get("note")),
        lambda state, status: _review_page(visit, {prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return done(
        "office.flash.saved", url_for("office.visit_review", visit_id=visit.id) + "#operations"
    )
