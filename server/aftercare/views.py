"""Office pages after the visit: escalations (S30), returned parts (S31), complaints (S32),
follow-ups and return visits (S7, S33).
"""

from __future__ import annotations

import re
from typing import Any

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from server.accounts.auth import current_user
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
from server.aftercare.forms import (
    COMPLAINT_CHANNELS,
    BookForm,
    ComplaintForm,
    FollowUpForm,
    PartHandleForm,
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
from server.domain.timezone import COMPANY_TZ
from server.errors import ApiError
from server.extensions import db
from server.i18n import translate as _
from server.register import (
    office_entry as office_register,
)
from server.register.models import ServiceRequest
from server.web.forms import EmptyForm, FormState, NoteForm, submit
from server.web.office_pages import (
    PAGE_SIZE,
    active_engineers,
    bp,
    done,
    get_or_404,
    page_count,
    page_number,
    paged,
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
    result = submit(
        EmptyForm(),
        prefix,
        lambda _data: office_escalations.take_escalation(key, user),
        lambda state, status: _escalations_page({prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return done("office.flash.saved", url_for("office.escalations"))


@bp.post("/escalations/<kind>/<int:ident>/resolve")
def resolve_escalation(kind: str, ident: int):
    """The supervisor records how an escalation was resolved."""
    key = _escalation_key(kind, ident)
    user = current_user()
    prefix = key.replace(":", "")
    result = submit(
        NoteForm(),
        prefix,
        lambda data: office_escalations.resolve_escalation(key, data["note"], user),
        lambda state, status: _escalations_page({prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return done("office.flash.saved", url_for("office.escalations"))


# --- faulty parts brought back (S31) ---


def _parts_page(forms: dict[str, FormState] | None = None, status: int = 200):
    forms = forms or {}
    state = request.args.get("state") if request.args.get("state") in ("pending", "done") else None
    page = page_number()
    total = office_parts.count_returned_parts(state)
    return render_template(
        "office/parts.html",
        items=office_parts.returned_parts(state, PAGE_SIZE, (page - 1) * PAGE_SIZE),
        page=page,
        pages=page_count(total),
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
    result = submit(
        PartHandleForm(),
        prefix,
        lambda data: office_parts.mark_part_dealt_with(part_event_id, data, user),
        lambda state, status: _parts_page({prefix: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return done("office.flash.saved", url_for("office.parts"))


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
    page = page_number()
    total, items = paged(query, page)
    f = state or FormState("complaint", defaults)
    chosen = f.value("customer_id")
    customer = db.session.get(Customer, int(chosen)) if str(chosen).isdigit() else None
    q = (request.args.get("q") or "").strip()[:100]
    return render_template(
        "office/complaints.html",
        items=items,
        page=page,
        pages=page_count(total),
        total=total,
        show=show,
        f=f,
        customer=customer,
        q=q,
        found=office_customers.search_customers(q) if q else [],
        customer_requests=office_register.recent_requests(customer.id) if customer else [],
        channels=COMPLAINT_CHANNELS,
    ), status


@bp.route("/complaints", methods=["GET", "POST"])
def complaints():
    """Complaints: receive a new one, and list those still open."""
    if request.method == "GET":
        return _complaints_page()
    user = current_user()
    result = submit(
        ComplaintForm(),
        "complaint",
        lambda data: office_complaints.receive_complaint(data, user),
        _complaints_page,
    )
    if isinstance(result, Complaint):
        return done(
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
    return _complaint_page(get_or_404(Complaint, complaint_id, "complaint"))


@bp.post("/complaints/<int:complaint_id>/<action>")
def complaint_action(complaint_id: int, action: str):
    """Take a complaint in hand, note progress, or resolve it."""
    complaint = get_or_404(Complaint, complaint_id, "complaint")
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
    result = submit(
        schema,
        action,
        operation,
        lambda state, status: _complaint_page(complaint, {action: state}, status),
    )
    if isinstance(result, tuple):
        return result
    return done("office.flash.saved", url_for("office.complaint_detail", complaint_id=complaint.id))


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
    page = page_number()
    total, items = paged(office_followups.follow_ups_query(None if show == "all" else "open"), page)
    f = forms.get("followup") or FormState("followup", defaults)
    chosen = f.value("customer_id")
    customer = db.session.get(Customer, int(chosen)) if str(chosen).isdigit() else None
    q = (request.args.get("q") or "").strip()[:100]
    return render_template(
        "office/follow_ups.html",
        customer=customer,
        q=q,
        found=office_customers.search_customers(q) if q else [],
        customer_equipment=office_customers.equipment_of(customer.id) if customer else [],
        customer_requests=office_register.recent_requests(customer.id) if customer else [],
        items=items,
        page=page,
        pages=page_count(total),
        total=total,
        show=show,
        today=utcnow().astimezone(COMPANY_TZ).date(),
        f=f,
        form=lambda name: forms.get(name) or FormState(name),
        engineers=active_engineers(),
        kinds=[str(k) for k in FollowUpKind],
    ), status


@bp.route("/follow-ups", methods=["GET", "POST"])
def follow_ups():
    """Follow-ups and periodic return visits: plan one, and list those due."""
    if request.method == "GET":
        return _follow_ups_page()
    user = current_user()
    result = submit(
        FollowUpForm(),
        "followup",
        lambda data: office_followups.plan_follow_up(data, user),
        lambda state, status: _follow_ups_page({"followup": state}, status),
    )
    if isinstance(result, FollowUp):
        return done("office.flash.saved", url_for("office.follow_ups"))
    return result


@bp.post("/follow-ups/<int:follow_up_id>/<action>")
def follow_up_action(follow_up_id: int, action: str):
    """Book a follow-up's visit, record it done, or cancel it."""
    follow_up = get_or_404(FollowUp, follow_up_id, "follow-up")
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
    result = submit(
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
    return done("office.flash.saved", url_for("office.follow_ups"))
