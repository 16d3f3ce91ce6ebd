"""Office pages (register, SLA board, dispatch, review, after the visit, reports).

Server-rendered, for office staff, supervisors and admins only. Views are thin: they load a
form through its schema, call one operation, commit, and redirect (post/redirect/get); a form
that fails is redrawn with the error beside the field, after a rollback, so nothing is half-saved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from marshmallow import ValidationError

from server.accounts.auth import OFFICE_ROLES, current_user
from server.accounts.models import Role, User
from server.aftercare import (
    complaints as office_complaints,
)
from server.aftercare import (
    escalations as office_escalations,
)
from server.aftercare import (
    follow_ups as office_followups,
)
from server.aftercare import (
    returned_parts as office_parts,
)
from server.aftercare.models import (
    Complaint,
    ComplaintStatus,
    FollowUp,
    FollowUpKind,
    PartDisposition,
)
from server.customers import operations as office_customers
from server.customers.models import Customer
from server.db_types import utcnow
from server.domain.aftercare import CALLBACK_DUE_HOURS
from server.domain.charges import format_fen
from server.domain.timezone import COMPANY_TZ
from server.errors import ApiError
from server.extensions import db
from server.i18n import translate as _
from server.office import reports as office_reports
from server.office import work as office_work
from server.register import (
    board as office_board,
)
from server.register import (
    dispatch,
)
from server.register import (
    office_entry as office_register,
)
from server.register import (
    operations as register,
)
from server.register.models import OPEN_STATUSES, Channel, Level, RequestStatus, ServiceRequest
from server.syncing.models import SyncOperation
from server.visits import review as office_review
from server.visits.field_models import Blob, Conflict
from server.visits.models import Visit
from server.web.forms import (
    COMPLAINT_CHANNELS,
    BoardFilter,
    BookForm,
    CallbackForm,
    ComplaintForm,
    CsvQuery,
    CustomerForm,
    EmptyForm,
    EventForm,
    FollowUpForm,
    FormState,
    NoteForm,
    OptionalNoteForm,
    PageQuery,
    PartHandleForm,
    RegisterForm,
    RegisterQuery,
    ReportQuery,
    ResultForm,
    ScheduleForm,
    TriageForm,
    VisitUpdateForm,
    form_input,
    localise_errors,
)
from sync.limits import storable

bp = Blueprint("office", __name__, url_prefix="/office")

SUPERVISOR_ROLES = (Role.SUPERVISOR, Role.ADMIN)
SHA256_RE = re.compile(r"[0-9a-f]{64}")
# Content types shown in the page; anything else a device uploaded is only offered as a download.
INLINE_TYPES = {
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "image/svg+xml",
    "application/pdf",
}
STEPS: dict[str, Callable] = {
    "phone-response": register.record_phone_response,
    "remote-consent": register.record_remote_consent,
    "remote-login": register.record_remote_login,
    "delay-notice": register.record_delay_notice,
}
PAGE_SIZE = 50
# Each line of the review queue runs the whole completeness check of its visit: a shorter page.
REVIEW_PAGE_SIZE = 25


@bp.before_request
def _office_only():
    user = current_user()
    if user is None:
        return redirect(url_for("home.login", next=request.path))
    if user.role not in OFFICE_ROLES:
        raise ApiError(403, "These pages are for office staff.")
    return None


# --- helpers shared by the views ---


def _local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Show a stored UTC time on the company's clock."""
    return value.astimezone(COMPANY_TZ).strftime(fmt) if value else ""


def _input_time(value: datetime | None) -> str:
    """Return a time as a datetime-local input wants it."""
    return _local(value, "%Y-%m-%dT%H:%M")


bp.add_app_template_filter(_local, "office_dt")
bp.add_app_template_filter(_input_time, "office_input_dt")
bp.add_app_template_filter(lambda fen: format_fen(fen) if fen is not None else "", "office_fen")


@bp.app_template_filter("office_json")
def _json_text(value: Any) -> str:
    """Show stored JSON readably (Chinese as itself); a plain string, so Jinja escapes it.

    Rows kept before the server cleaned what it stores (issue 9) may hold lone surrogates or NUL:
    they are shown replaced, so the page still renders.
    """
    return json.dumps(storable(value), ensure_ascii=False, indent=2, sort_keys=True, default=str)


@bp.app_context_processor
def _office_globals() -> dict[str, Any]:
    user = current_user()
    return {
        "office_is_supervisor": bool(user and user.role in SUPERVISOR_ROLES),
        "office_user_names": _user_name,
    }


def _user_name(user_id: int | None) -> str:
    if user_id is None:
        return ""
    user = db.session.get(User, user_id)
    return user.display_name if user else f"#{user_id}"


def _now() -> datetime:
    """Return the current time; tests may pin it with ?now=ISO (only when TESTING)."""
    pinned = request.args.get("now")
    if pinned and current_app.config.get("TESTING"):
        try:
            value = datetime.fromisoformat(pinned)
        except ValueError:
            raise ApiError(400, "now must be an ISO 8601 time with offset.") from None
        if value.tzinfo is not None:
            return value
    return utcnow()


def _get(model, ident: Any, what: str):
    obj = db.session.get(model, ident)
    if obj is None:
        raise ApiError(404, f"No such {what}.")
    return obj


def _engineers() -> list[User]:
    return list(
        db.session.scalars(
            db.select(User)
            .where(User.role == Role.ENGINEER, User.is_active)
            .order_by(User.display_name, User.id)
        )
    )


def _submit(
    schema,
    prefix: str,
    action: Callable[[dict[str, Any]], Any],
    redraw: Callable[[FormState, int], Any],
    *,
    extra_errors: Callable[[ApiError], dict[str, Any]] | None = None,
):
    """Load a form, run one operation and commit; on bad input roll back and redraw the form."""
    values = form_input(request.form)
    try:
        data = schema.load(values)
        result = action(data)
        db.session.commit()
        return result
    except ValidationError as exc:
        db.session.rollback()
        return redraw(FormState(prefix, values, localise_errors(exc.messages)), 422)
    except ApiError as exc:
        db.session.rollback()
        if exc.status not in (409, 422):
            raise
        errors = localise_errors(exc.fields) if exc.fields else {"_schema": [exc.message]}
        # Said at the top of the page too: the form may not be drawn any more (already done).
        g.setdefault("office_alerts", []).extend(errors.get("_schema", []))
        state = FormState(prefix, values, errors)
        if extra_errors is not None:
            state.extra = extra_errors(exc)
        return redraw(state, exc.status)


def _done(message_key: str, target: str):
    flash(_(message_key), "ok")
    return redirect(target)


def _page_number() -> int:
    """Return the ?page= asked for; a bad one is a 422 naming the field."""
    values = {"page": request.args["page"]} if request.args.get("page") else {}
    try:
        return PageQuery().load(values)["page"]
    except ValidationError as exc:
        raise ApiError(422, "page must be a whole number from 1.", exc.messages) from None


def _paged(query, page: int) -> tuple[int, list]:
    """Count a query and return one page of it."""
    total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return total, list(items)


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


# --- assets and blobs ---


@bp.get("/assets/<path:filename>")
def assets(filename: str):
    """Serve the office pages' stylesheet and scripts."""
    folder = Path(current_app.config["STATIC_DIR"]) / "office"
    return send_from_directory(folder, filename, max_age=3600)


@bp.get("/blobs/<sha256>")
def blob(sha256: str):
    """Serve a signature or photo by its hash, with its content type; never as a web page."""
    if SHA256_RE.fullmatch(sha256) is None:
        raise ApiError(404, "No such file.")
    item = _get(Blob, sha256, "file")
    inline = item.content_type in INLINE_TYPES
    response = Response(
        item.data, mimetype=item.content_type if inline else "application/octet-stream"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A hostile SVG or HTML upload must not run script in the office's origin.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    )
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.set_etag(sha256)
    if not inline:
        response.headers["Content-Disposition"] = f'attachment; filename="{sha256[:12]}"'
    return response


# --- home ---


@bp.get("/")
def index():
    """The office home page: what needs attention now."""
    now = _now()
    rows = office_board.board_rows({}, now)
    counts = {
        "open": len(rows),
        "missed": sum(1 for r in rows if r.alarm == "missed"),
        "at_risk": sum(1 for r in rows if r.alarm == "at_risk"),
        "escalations": len(office_escalations.escalation_queue()),
        "complaints": db.session.scalar(
            db.select(db.func.count(Complaint.id)).where(
                Complaint.status != ComplaintStatus.RESOLVED
            )
        ),
        "parts": office_parts.count_returned_parts("pending"),
        "follow_ups": db.session.scalar(
            db.select(db.func.count()).select_from(
                office_followups.follow_ups_query("open").subquery()
            )
        ),
    }
    # Ops a restore from backup lost (sync rule R35): only the office can have them re-entered.
    restore_gaps = db.session.scalars(
        db.select(Conflict)
        .where(Conflict.entity == "device", Conflict.resolved_at.is_(None))
        .order_by(Conflict.created_at.desc())
        .limit(50)
    ).all()
    return render_template("office/index.html", counts=counts, restore_gaps=restore_gaps)


# --- my work: the day as queues ---


@bp.get("/work")
def my_work():
    """Every queue of the office's day with its count, oldest or most at risk first."""
    user = current_user()
    mine = request.args.get("mine") == "1"
    queues = office_work.my_work(_now(), owner_id=user.id if mine else None)
    return render_template(
        "office/work.html", queues=queues, mine=mine, total=sum(q.count for q in queues)
    )


# --- SLA board ---


def _board_filters() -> tuple[dict[str, Any], FormState]:
    values = {k: v for k, v in request.args.items() if v and k in BoardFilter().fields}
    try:
        return BoardFilter().load(values), FormState("board", values)
    except ValidationError as exc:
        return {}, FormState("board", values, localise_errors(exc.messages))


@bp.get("/board")
def board():
    """The SLA board: open requests, riskiest first, with their three clocks."""
    filters, state = _board_filters()
    now = _now()
    return render_template(
        "office/board.html",
        rows=office_board.board_rows(filters, now),
        f=state,
        now=now,
        engineers=_engineers(),
        statuses=sorted(str(s) for s in OPEN_STATUSES),
        channels=[str(c) for c in Channel],
        refresh_seconds=30,
    ), (422 if state.invalid else 200)


@bp.get("/board/rows")
def board_rows():
    """The board's rows alone, which the page fetches to refresh itself."""
    filters, _state = _board_filters()
    now = _now()
    return render_template(
        "office/_board_rows.html", rows=office_board.board_rows(filters, now), now=now
    )


# --- registering a request ---


def _register_page(state: FormState, status: int = 200):
    customer = None
    customer_id = state.value("customer_id") or request.args.get("customer_id")
    if customer_id and str(customer_id).isdigit():
        customer = db.session.get(Customer, int(customer_id))
    q = (request.args.get("q") or "").strip()[:100]
    found = office_register.search_customers(q) if q else []
    equipment = office_register.equipment_of(customer.id) if customer else []
    open_by_equipment = {
        e.id: office_register.open_requests_for(equipment_id=e.id) for e in equipment
    }
    customer_open = office_register.open_requests_for(customer_id=customer.id) if customer else []
    return render_template(
        "office/register_new.html",
        f=state,
        q=q,
        found=found,
        customer=customer,
        equipment=equipment,
        open_by_equipment=open_by_equipment,
        customer_open=customer_open,
        duplicates=state.extra.get("duplicates", []),
        channels=[str(c) for c in Channel],
        levels=[str(level) for level in Level],
    ), status


@bp.route("/requests/new", methods=["GET", "POST"])
def register_new():
    """Register a request (S10): find or create the customer, then the request itself."""
    if request.method == "GET":
        defaults = {
            "channel": "hotline",
            "severity": "normal",
            "urgency": "normal",
            "needs_visit": "on",
        }
        return _register_page(FormState("reg", defaults))
    user = current_user()
    result = _submit(
        RegisterForm(),
        "reg",
        lambda data: office_register.register_from_form(data, user),
        _register_page,
        extra_errors=lambda exc: {"duplicates": getattr(exc, "duplicates", [])},
    )
    if isinstance(result, ServiceRequest):
        flash(_("office.flash.registered", number=result.number), "ok")
        return redirect(url_for("office.request_detail", request_id=result.id))
    return result


@bp.get("/requests")
def register_list():
    """The service register: every request, newest first, searchable, exportable."""
    values = {k: v for k, v in request.args.items() if v and k in RegisterQuery().fields}
    try:
        args = RegisterQuery().load(values)
        state = FormState("reg-list", values)
    except ValidationError as exc:
        args, state = {"page": 1}, FormState("reg-list", values, localise_errors(exc.messages))
    query = db.select(ServiceRequest).order_by(
        ServiceRequest.received_at.desc(), ServiceRequest.id.desc()
    )
    if args.get("status"):
        query = query.where(ServiceRequest.status == args["status"])
    if args.get("channel"):
        query = query.where(ServiceRequest.channel == args["channel"])
    if args.get("q"):
        like = f"%{args['q']}%"
        query = query.where(
            ServiceRequest.problem.ilike(like)
            | ServiceRequest.contact_name.ilike(like)
            | ServiceRequest.customer_id.in_(
                db.select(Customer.id).where(Customer.name.ilike(like))
            )
        )
    page = args.get("page", 1)
    total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery()))
    items = db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template(
        "office/register_list.html",
        items=items,
        f=state,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
        statuses=[str(s) for s in RequestStatus],
        channels=[str(c) for c in Channel],
        csv=FormState("csv"),
    ), (422 if state.invalid else 200)


# --- customers (S10) ---


@bp.get("/customers")
def customers():
    """Find a customer by name, contact, phone or address, to open their details."""
    q = (request.args.get("q") or "").strip()[:100]
    return render_template(
        "office/customers.html", q=q, found=office_register.search_customers(q, 50) if q else []
    )


def _customer_page(customer: Customer, state: FormState | None = None, status: int = 200):
    values = {key: getattr(customer, key) for key in office_customers.EDITABLE}
    return render_template(
        "office/customer_edit.html",
        c=customer,
        f=state or FormState("customer", values),
        equipment=office_register.equipment_of(customer.id),
        requests=office_customers.recent_requests(customer.id),
    ), status


@bp.route("/customers/<int:customer_id>", methods=["GET", "POST"])
def customer_edit(customer_id: int):
    """A customer's details, editable; their equipment and latest requests beside them."""
    customer = _get(Customer, customer_id, "customer")
    if request.method == "GET":
        return _customer_page(customer)
    result = _submit(
        CustomerForm(),
        "customer",
        lambda data: office_customers.update_customer(customer, data),
        lambda state, status: _customer_page(customer, state, status),
    )
    if isinstance(result, tuple):
        return result
    return _done("office.flash.saved", url_for("office.customer_edit", customer_id=customer.id))


# --- one request: steps, dispatch, result, callback ---


def _request_page(
    req: ServiceRequest, forms: dict[str, FormState] | None = None, status: int = 200
):
    forms = forms or {}

    def form(name: str, defaults: dict[str, Any] | None = None) -> FormState:
        return forms.get(name) or FormState(name, defaults or {})

    return render_template(
        "office/request_detail.html",
        r=req,
        clocks=office_board.clocks_of(req, _now()),
        arrival=office_board.arrival_of(req),
        form=form,
        engineers=_engineers(),
        closed_visit=dispatch.CLOSED_VISIT,
        follow_ups=db.session.scalars(
            db.select(FollowUp).where(FollowUp.request_id == req.id).order_by(FollowUp.due_on)
        ).all(),
    ), status


@bp.get("/requests/<int:request_id>")
def request_detail(request_id: int):
    """One register entry: its clocks, the steps taken, its visits, result and callbacks."""
    return _request_page(_get(ServiceRequest, request_id, "request"))


def _on_request(request_id: int, prefix: str, schema, action, message: str, anchor: str = ""):
    req = _get(ServiceRequest, request_id, "request")
    result = _submit(
        schema,
        prefix,
        lambda data: action(req, data),
        lambda state, status: _request_page(req, {prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return _done(message, url_for("office.request_detail", request_id=req.id) + anchor)


@bp.post("/requests/<int:request_id>/steps/<step>")
def record_step(request_id: int, step: str):
    """Record the phone response, the remote consent or login, or a delay notice (S5, S11)."""
    if step == "fax-call":
        user = current_user()
        return _on_request(
            request_id,
            step,
            EventForm(),
            lambda req, data: register.record_fax_call(req, data, user),
            "office.flash.saved",
            "#fax-call",
        )
    operation = STEPS.get(step)
    if operation is None:
        raise ApiError(404, "No such step.")
    return _on_request(request_id, step, EventForm(), operation, "office.flash.saved", "#steps")


@bp.post("/requests/<int:request_id>/triage")
def retriage(request_id: int):
    """Re-triage a request by severity and urgency (S11), from its page."""
    return _on_request(
        request_id, "triage", TriageForm(), register.triage_request, "office.flash.saved", "#triage"
    )


@bp.post("/requests/<int:request_id>/visits")
def schedule_visit(request_id: int):
    """Dispatch: schedule a visit with an engineer and an appointment window (S14)."""
    return _on_request(
        request_id,
        "schedule",
        ScheduleForm(),
        dispatch.schedule_visit,
        "office.flash.scheduled",
        "#visits",
    )


@bp.post("/visits/<int:visit_id>/update")
def update_visit(visit_id: int):
    """Reassign or reschedule a visit; the phones learn of it at their next pull."""
    visit = _get(Visit, visit_id, "visit")
    prefix = f"visit{visit.id}"

    def action(data: dict[str, Any]) -> Visit:
        # The form shows every field: a blank one means "none", not "unchanged".
        for key in ("engineer_id", "window_start", "window_end", "onsite_fee_fen", "notes"):
            data.setdefault(key, None)
        return dispatch.update_visit(visit, data)

    result = _submit(
        VisitUpdateForm(),
        prefix,
        action,
        lambda state, status: _request_page(visit.request, {prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return _done(
        "office.flash.saved",
        url_for("office.request_detail", request_id=visit.request_id) + "#visits",
    )


@bp.post("/requests/<int:request_id>/result")
def record_result(request_id: int):
    """Write the result into the register (S29)."""
    return _on_request(
        request_id, "result", ResultForm(), register.record_result, "office.flash.saved", "#result"
    )


@bp.post("/requests/<int:request_id>/callbacks")
def add_callback(request_id: int):
    """Record the call back to the customer after the job (S12)."""
    user = current_user()

    def action(req: ServiceRequest, data: dict[str, Any]):
        satisfied = {"yes": True, "no": False}.get(data.get("satisfied", "unknown"))
        return register.add_callback(
            req,
            {
                "called_at": data.get("called_at"),
                "reached": data["reached"] == "yes",
                "satisfied": satisfied,
                "notes": data.get("notes"),
            },
            user,
        )

    return _on_request(
        request_id, "callback", CallbackForm(), action, "office.flash.saved", "#callbacks"
    )


# --- visit review ---


@bp.get("/visits")
def review_queue():
    """Finished visits not yet reviewed, the longest waiting first, a page at a time."""
    page = _page_number()
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
    return _review_page(_get(Visit, visit_id, "visit"))


@bp.post("/visits/<int:visit_id>/reviewed")
def mark_reviewed(visit_id: int):
    """Take a finished visit off the review queue (with a note if it still lacks something)."""
    visit = _get(Visit, visit_id, "visit")
    user = current_user()
    result = _submit(
        OptionalNoteForm(),
        "reviewed",
        lambda data: office_review.mark_visit_reviewed(visit, user, data.get("note")),
        lambda state, status: _review_page(visit, {"reviewed": state}, status),
    )
    if isinstance(result, tuple):
        return result
    return _done("office.flash.saved", url_for("office.review_queue"))


@bp.post("/conflicts/<int:conflict_id>/resolve")
def resolve_conflict(conflict_id: int):
    """Mark a sync conflict resolved, with a note of what was decided."""
    conflict = _get(Conflict, conflict_id, "conflict")
    if conflict.visit_id is None:
        raise ApiError(404, "This conflict belongs to no visit.")
    visit = _get(Visit, conflict.visit_id, "visit")
    prefix = f"conflict{conflict.id}"
    user = current_user()
    result = _submit(
        NoteForm(),
        prefix,
        lambda data: office_review.resolve_conflict(conflict, data["note"], user),
        lambda state, status: _review_page(visit, {prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return _done(
        "office.flash.saved", url_for("office.visit_review", visit_id=visit.id) + "#conflicts"
    )


@bp.post("/operations/<int:operation_id>/reviewed")
def review_operation(operation_id: int):
    """Mark an operation the server refused (or found in conflict) as reviewed."""
    operation = _get(SyncOperation, operation_id, "operation")
    if operation.visit_id is None:
        raise ApiError(404, "This operation belongs to no visit.")
    visit = _get(Visit, operation.visit_id, "visit")
    prefix = f"op{operation.id}"
    user = current_user()
    result = _submit(
        OptionalNoteForm(),
        prefix,
        lambda data: office_review.mark_operation_reviewed(operation, user, data.get("note")),
        lambda state, status: _review_page(visit, {prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return _done(
        "office.flash.saved", url_for("office.visit_review", visit_id=visit.id) + "#operations"
    )


# --- escalations (S30) ---


def _escalations_page(forms: dict[str, FormState] | None = None, status: int = 200):
    forms = forms or {}
    return render_template(
        "office/escalations.html",
        items=office_escalations.escalation_queue() + office_escalations.recently_resolved(),
        form=lambda name: forms.get(name) or FormState(name),
    ), status


@bp.get("/escalations")
def escalations():
    """The supervisor's queue of faults not fixed or not fully fixed."""
    return _escalations_page()


def _escalation_key(kind: str, ident: int) -> str:
    if kind not in ("visit", "request"):
        raise ApiError(404, "No such escalation.")
    return f"{kind}:{ident}"


@bp.post("/escalations/<kind>/<int:ident>/take")
def take_escalation(kind: str, ident: int):
    """The supervisor takes an escalation in hand."""
    key = _escalation_key(kind, ident)
    user = current_user()
    prefix = key.replace(":", "")
    result = _submit(
        EmptyForm(),
        prefix,
        lambda _data: office_escalations.take_escalation(key, user),
        lambda state, status: _escalations_page({prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return _done("office.flash.saved", url_for("office.escalations"))


@bp.post("/escalations/<kind>/<int:ident>/resolve")
def resolve_escalation(kind: str, ident: int):
    """The supervisor records how an escalation was resolved."""
    key = _escalation_key(kind, ident)
    user = current_user()
    prefix = key.replace(":", "")
    result = _submit(
        NoteForm(),
        prefix,
        lambda data: office_escalations.resolve_escalation(key, data["note"], user),
        lambda state, status: _escalations_page({prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return _done("office.flash.saved", url_for("office.escalations"))


# --- faulty parts brought back (S31) ---


def _parts_page(forms: dict[str, FormState] | None = None, status: int = 200):
    forms = forms or {}
    state = request.args.get("state") if request.args.get("state") in ("pending", "done") else None
    page = _page_number()
    total = office_parts.count_returned_parts(state)
    return render_template(
        "office/parts.html",
        items=office_parts.returned_parts(state, PAGE_SIZE, (page - 1) * PAGE_SIZE),
        page=page,
        pages=_pages(total),
        total=total,
        state=state,
        dispositions=[str(d) for d in PartDisposition],
        form=lambda name: forms.get(name) or FormState(name),
    ), status


@bp.get("/parts")
def parts():
    """Faulty parts engineers brought back, and whether each is dealt with."""
    return _parts_page()


@bp.post("/parts/<part_event_id>/handle")
def handle_part(part_event_id: str):
    """Record how a returned part was dealt with."""
    user = current_user()
    prefix = "part-" + re.sub(r"[^0-9a-f-]", "", part_event_id.lower())[:36]
    result = _submit(
        PartHandleForm(),
        prefix,
        lambda data: office_parts.mark_part_dealt_with(part_event_id, data, user),
        lambda state, status: _parts_page({prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return _done("office.flash.saved", url_for("office.parts"))


# --- complaints (S32) ---


def _complaints_page(state: FormState | None = None, status: int = 200):
    show = request.args.get("show", "open")
    query = db.select(Complaint).order_by(Complaint.received_at.desc(), Complaint.id.desc())
    if show != "all":
        query = query.where(Complaint.status != ComplaintStatus.RESOLVED)
    defaults = {}
    if request.args.get("customer_id", "").isdigit():
        defaults["customer_id"] = request.args["customer_id"]
    if request.args.get("request_id", "").isdigit():
        defaults["request_id"] = request.args["request_id"]
    page = _page_number()
    total, items = _paged(query, page)
    f = state or FormState("complaint", defaults)
    chosen = f.value("customer_id")
    customer = db.session.get(Customer, int(chosen)) if str(chosen).isdigit() else None
    q = (request.args.get("q") or "").strip()[:100]
    return render_template(
        "office/complaints.html",
        items=items,
        page=page,
        pages=_pages(total),
        total=total,
        show=show,
        f=f,
        customer=customer,
        q=q,
        found=office_register.search_customers(q) if q else [],
        customer_requests=office_customers.recent_requests(customer.id) if customer else [],
        channels=COMPLAINT_CHANNELS,
    ), status


@bp.route("/complaints", methods=["GET", "POST"])
def complaints():
    """Complaints: receive a new one, and list those still open."""
    if request.method == "GET":
        return _complaints_page()
    user = current_user()
    result = _submit(
        ComplaintForm(),
        "complaint",
        lambda data: office_complaints.receive_complaint(data, user),
        _complaints_page,
    )
    if isinstance(result, Complaint):
        return _done(
            "office.flash.saved", url_for("office.complaint_detail", complaint_id=result.id)
        )
    return result


def _complaint_page(
    complaint: Complaint, forms: dict[str, FormState] | None = None, status: int = 200
):
    forms = forms or {}
    return render_template(
        "office/complaint_detail.html",
        c=complaint,
        form=lambda name: forms.get(name) or FormState(name),
    ), status


@bp.get("/complaints/<int:complaint_id>")
def complaint_detail(complaint_id: int):
    """One complaint with its history from receipt to resolution."""
    return _complaint_page(_get(Complaint, complaint_id, "complaint"))


@bp.post("/complaints/<int:complaint_id>/<action>")
def complaint_action(complaint_id: int, action: str):
    """Take a complaint in hand, note progress, or resolve it."""
    complaint = _get(Complaint, complaint_id, "complaint")
    user = current_user()
    operations = {
        "take": (EmptyForm(), lambda _d: office_complaints.take_complaint(complaint, user)),
        "note": (
            NoteForm(),
            lambda d: office_complaints.note_complaint(complaint, d["note"], user),
        ),
        "resolve": (
            NoteForm(),
            lambda d: office_complaints.resolve_complaint(complaint, d["note"], user),
        ),
    }
    if action not in operations:
        raise ApiError(404, "No such action.")
    schema, operation = operations[action]
    result = _submit(
        schema,
        action,
        operation,
        lambda state, status: _complaint_page(complaint, {action: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return _done(
        "office.flash.saved", url_for("office.complaint_detail", complaint_id=complaint.id)
    )


# --- follow-ups and return visits (S7, S33) ---


def _follow_ups_page(forms: dict[str, FormState] | None = None, status: int = 200):
    forms = forms or {}
    show = request.args.get("show", "open")
    defaults: dict[str, Any] = {"kind": "follow_up"}
    for key in ("customer_id", "request_id", "equipment_id"):
        if request.args.get(key, "").isdigit():
            defaults[key] = request.args[key]
    if "request_id" in defaults and "customer_id" not in defaults:
        req = db.session.get(ServiceRequest, int(defaults["request_id"]))
        if req is not None:
            defaults["customer_id"] = str(req.customer_id)
            if req.equipment_id:
                defaults.setdefault("equipment_id", str(req.equipment_id))
    page = _page_number()
    total, items = _paged(
        office_followups.follow_ups_query(None if show == "all" else "open"), page
    )
    f = forms.get("followup") or FormState("followup", defaults)
    chosen = f.value("customer_id")
    customer = db.session.get(Customer, int(chosen)) if str(chosen).isdigit() else None
    q = (request.args.get("q") or "").strip()[:100]
    return render_template(
        "office/follow_ups.html",
        customer=customer,
        q=q,
        found=office_register.search_customers(q) if q else [],
        customer_equipment=office_register.equipment_of(customer.id) if customer else [],
        customer_requests=office_customers.recent_requests(customer.id) if customer else [],
        items=items,
        page=page,
        pages=_pages(total),
        total=total,
        show=show,
        today=_now().astimezone(COMPANY_TZ).date(),
        f=f,
        form=lambda name: forms.get(name) or FormState(name),
        engineers=_engineers(),
        kinds=[str(k) for k in FollowUpKind],
    ), status


@bp.route("/follow-ups", methods=["GET", "POST"])
def follow_ups():
    """Follow-ups and periodic return visits: plan one, and list those due."""
    if request.method == "GET":
        return _follow_ups_page()
    user = current_user()
    result = _submit(
        FollowUpForm(),
        "followup",
        lambda data: office_followups.plan_follow_up(data, user),
        lambda state, status: _follow_ups_page({"followup": state}, status),
    )
    if isinstance(result, FollowUp):
        return _done("office.flash.saved", url_for("office.follow_ups"))
    return result


@bp.post("/follow-ups/<int:follow_up_id>/<action>")
def follow_up_action(follow_up_id: int, action: str):
    """Book a follow-up's visit, record it done, or cancel it."""
    follow_up = _get(FollowUp, follow_up_id, "follow-up")
    user = current_user()
    operations = {
        "book": (BookForm(), lambda d: office_followups.book_follow_up(follow_up, d, user)),
        "done": (
            NoteForm(),
            lambda d: office_followups.complete_follow_up(follow_up, d["note"], user),
        ),
        "cancel": (
            NoteForm(),
            lambda d: office_followups.cancel_follow_up(follow_up, d["note"], user),
        ),
    }
    if action not in operations:
        raise ApiError(404, "No such action.")
    schema, operation = operations[action]
    prefix = f"fu{follow_up.id}-{action}"
    result = _submit(
        schema,
        prefix,
        operation,
        lambda state, status: _follow_ups_page({prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    if isinstance(result, ServiceRequest):
        flash(_("office.flash.registered", number=result.number), "ok")
        return redirect(url_for("office.request_detail", request_id=result.id))
    return _done("office.flash.saved", url_for("office.follow_ups"))


# --- reports ---


def _report_periods() -> tuple[str, list, FormState, int]:
    """Read which periods the report covers; a bad query is redrawn with the field at fault."""
    fields = ("period", "weeks", "count", "from", "to")
    values = {k: v for k, v in request.args.items() if v and k in fields}
    try:
        args = ReportQuery().load(values)
        state, status = FormState("report", values), 200
    except ValidationError as exc:
        args = {"period": "week"}
        state, status = FormState("report", values, localise_errors(exc.messages)), 422
    kind = args["period"]
    now = _now()
    if args.get("start") or args.get("end"):
        last = args.get("end") or now.astimezone(COMPANY_TZ).date()
        first = args.get("start") or last
        starts = office_reports.periods_between(kind, first, last)
    else:
        count = args.get("count") or args.get("weeks") or 8
        starts = office_reports.last_periods(kind, now, count)
    return kind, starts, state, status


@bp.get("/reports")
def reports():
    """SLA, first-time fix, call backs and complaints by week, month or quarter, with bars."""
    kind, starts, state, status = _report_periods()
    report = office_reports.period_report(kind, starts, _now())
    return render_template(
        "office/reports.html",
        report=report,
        sla_weeks=report.sla,
        fix_weeks=report.fix,
        f=state,
        csv=FormState("csv"),
        weeks=len(starts),
        kinds=office_reports.PERIOD_KINDS,
        callback_hours=CALLBACK_DUE_HOURS,
    ), status


@bp.get("/reports/figures.csv")
def report_figures_csv():
    """The reports page's figures, one row per period, as CSV."""
    kind, starts, state, status = _report_periods()
    if status != 200:
        raise ApiError(422, "Check the report's period and days.", state.errors)
    body = office_reports.report_csv(office_reports.period_report(kind, starts, _now()))
    name = f"report-{kind}-{starts[0]}-{starts[-1]}.csv"
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/reports/register.csv")
def register_csv():
    """Export the register (requests received between two days) as CSV."""
    values = {k: v for k, v in request.args.items() if v and k in ("from", "to")}
    try:
        args = CsvQuery().load(values)
    except ValidationError as exc:
        return render_template(
            "office/reports.html",
            report=None,
            sla_weeks=[],
            fix_weeks=[],
            f=FormState("report"),
            csv=FormState("csv", values, localise_errors(exc.messages)),
            weeks=8,
            kinds=office_reports.PERIOD_KINDS,
        ), 422
    body = office_reports.register_csv(args.get("start"), args.get("end"), _now())
    stamp = _now().astimezone(COMPANY_TZ).strftime("%Y%m%d-%H%M")
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="register-{stamp}.csv"'},
    )
