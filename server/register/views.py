"""Office pages of the service register: the SLA board, registering, one request, dispatch, CSV."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from marshmallow import ValidationError
from sqlalchemy.orm import selectinload

from server.accounts.auth import current_user
from server.aftercare.models import (
    FollowUp,
)
from server.customers import operations as office_customers
from server.customers.models import Customer
from server.db_types import utcnow
from server.dispatch import operations as dispatch
from server.domain.timezone import COMPANY_TZ
from server.errors import ApiError
from server.extensions import db
from server.i18n import translate as _
from server.office import reports as office_reports
from server.register import (
    board as office_board,
)
from server.register import (
    office_entry as office_register,
)
from server.register import (
    operations as register,
)
from server.register.forms import (
    BoardFilter,
    CallbackForm,
    CsvQuery,
    EventForm,
    RegisterForm,
    RegisterQuery,
    ResultForm,
    ScheduleForm,
    TriageForm,
    VisitUpdateForm,
)
from server.register.listing import requests_query
from server.register.models import OPEN_STATUSES, Channel, Level, RequestStatus, ServiceRequest
from server.visits.models import Visit
from server.web.forms import FormState, localise_errors, submit
from server.web.office_pages import (
    active_engineers,
    bp,
    done,
    get_or_404,
    page_count,
    paged,
)

STEPS: dict[str, Callable] = {
    "phone-response": register.record_phone_response,
    "remote-consent": register.record_remote_consent,
    "remote-login": register.record_remote_login,
    "delay-notice": register.record_delay_notice,
}


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
    now = utcnow()
    return render_template(
        "office/board.html",
        rows=office_board.board_rows(filters, now),
        f=state,
        now=now,
        engineers=active_engineers(),
        statuses=sorted(str(s) for s in OPEN_STATUSES),
        channels=[str(c) for c in Channel],
        refresh_seconds=30,
    ), (422 if state.invalid else 200)


@bp.get("/board/rows")
def board_rows():
    """The board's rows alone, which the page fetches to refresh itself."""
    filters, _state = _board_filters()
    now = utcnow()
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
    found = office_customers.search_customers(q) if q else []
    equipment = office_customers.equipment_of(customer.id) if customer else []
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
    result = submit(
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
    query = requests_query(args)
    page = args.get("page", 1)
    total, items = paged(query.options(selectinload(ServiceRequest.customer)), page)
    return render_template(
        "office/register_list.html",
        items=items,
        f=state,
        page=page,
        pages=page_count(total),
        total=total,
        statuses=[str(s) for s in RequestStatus],
        channels=[str(c) for c in Channel],
        csv=FormState("csv"),
    ), (422 if state.invalid else 200)


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
        clocks=office_board.clocks_of(req, utcnow()),
        arrival=office_board.arrival_of(req),
        form=form,
        engineers=active_engineers(),
        closed_visit=dispatch.CLOSED_VISIT,
        follow_ups=db.session.scalars(
            db.select(FollowUp).where(FollowUp.request_id == req.id).order_by(FollowUp.due_on)
        ).all(),
    ), status


@bp.get("/requests/<int:request_id>")
def request_detail(request_id: int):
    """One register entry: its clocks, the steps taken, its visits, result and callbacks."""
    return _request_page(get_or_404(ServiceRequest, request_id, "request"))


def _on_request(request_id: int, prefix: str, schema, action, message: str, anchor: str = ""):
    req = get_or_404(ServiceRequest, request_id, "request")
    result = submit(
        schema,
        prefix,
        lambda data: action(req, data),
        lambda state, status: _request_page(req, {prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return done(message, url_for("office.request_detail", request_id=req.id) + anchor)


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
        raise ApiError(404, "err.register.no_step")
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
    visit = get_or_404(Visit, visit_id, "visit")
    prefix = f"visit{visit.id}"

    def action(data: dict[str, Any]) -> Visit:
        # The form shows every field: a blank one means "none", not "unchanged".
        for key in ("engineer_id", "window_start", "window_end", "onsite_fee_fen", "notes"):
            data.setdefault(key, None)
        return dispatch.update_visit(visit, data)

    result = submit(
        VisitUpdateForm(),
        prefix,
        action,
        lambda state, status: _request_page(visit.request, {prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return done(
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
    body = office_reports.register_csv(args.get("start"), args.get("end"), utcnow())
    stamp = utcnow().astimezone(COMPANY_TZ).strftime("%Y%m%d-%H%M")
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="register-{stamp}.csv"'},
    )
