"""Finance pages (handover, reconciliation): server-rendered, finance role only."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from marshmallow import ValidationError
from sqlalchemy import select

from ..auth import FINANCE_ROLES, FINANCE_SUPERVISOR_ROLES, current_user
from ..domain.charges import format_fen
from ..domain.statements import LAYOUTS, MAX_BYTES
from ..domain.timezone import COMPANY_TZ, business_day
from ..errors import ApiError
from ..extensions import db
from ..i18n import translate
from ..models import Role, StatementEntry, User
from ..models.finance import PAYMENT_METHODS
from ..models.types import utcnow
from ..schemas.finance import (
    AuditQuery,
    FeeRateCreateSchema,
    HandoverQuery,
    PartPriceCreateSchema,
    PeriodQuery,
    PromiseQuery,
    ReceiptQuery,
)
from ..schemas.guard import year_ok
from ..services import (
    finance_audit,
    finance_export,
    finance_handover,
    finance_prices,
    finance_promises,
    finance_receipts,
    finance_reconcile,
    finance_statements,
)
from ..services.finance_forms import duration_parts, parse_yuan, yuan_text
from ..services.visit_charges import ChargeFlag
from ._paging import paginate

bp = Blueprint("finance", __name__, url_prefix="/finance")

_period_query = PeriodQuery()
_handover_query = HandoverQuery()
_audit_query = AuditQuery()
_receipt_query = ReceiptQuery()
_promise_query = PromiseQuery()
_fee_schema = FeeRateCreateSchema()
_part_schema = PartPriceCreateSchema()


@bp.before_request
def _finance_only():
    user = current_user()
    if user is None:
        return redirect(url_for("home.login", next=request.path))
    if user.role not in FINANCE_ROLES:
        raise ApiError(403, "These pages are for finance staff.")
    return None


def _flag_text(flag: ChargeFlag) -> str:
    params = {
        k: format_fen(v) if k.endswith("_fen") and isinstance(v, int) else v
        for k, v in flag.params.items()
    }
    return translate(f"fin.flag.{flag.code}", **params)


# The office review shows the same price flags as finance, worded once.
bp.add_app_template_filter(_flag_text, "charge_flag")


def _held_text(since) -> str:
    if since is None:
        return ""
    days, hours, minutes = duration_parts(utcnow() - since)
    if days:
        return translate("fin.held.days", days=days, hours=hours)
    if hours:
        return translate("fin.held.hours", hours=hours, minutes=minutes)
    return translate("fin.held.minutes", minutes=minutes)


def _local(dt) -> str:
    return dt.astimezone(COMPANY_TZ).strftime("%Y-%m-%d %H:%M") if dt else ""


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "fen": format_fen,
        "yuan": yuan_text,
        "flag_text": _flag_text,
        "held_text": _held_text,
        "local_time": _local,
        "METHODS": PAYMENT_METHODS,
    }


def _engineers() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.role == Role.ENGINEER).order_by(User.display_name)
        )
    )


def _period() -> tuple[dict[str, Any], dict[str, Any]]:
    """Read from/to/engineer_id from the query string; errors are shown beside the fields."""
    raw = {k: v for k, v in request.args.items() if k in ("from", "to", "engineer_id") and v}
    try:
        return _period_query.load(raw), {}
    except ValidationError as exc:
        fields = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return _period_query.load({}), {
            ("from" if k == "from_" else k): v for k, v in fields.items()
        }


def _parse_day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(404, f"Not a day: {text!r}.") from None
    if not year_ok(day):
        raise ApiError(404, f"Not a day the books can hold: {text!r}.")
    return day


@bp.get("/assets/<path:filename>")
def asset(filename: str):
    """Serve the finance pages' stylesheet."""
    folder = Path(current_app.config["STATIC_DIR"]) / "finance"
    return send_from_directory(folder, filename, max_age=300)


@bp.get("/")
def index():
    """Overview: money in engineers' hands, days needing attention, missing receipts."""
    today = business_day(utcnow())
    return render_template(
        "finance/index.html",
        cash=finance_handover.cash_in_hand(),
        backlog=finance_reconcile.backlog(today),
        phones=finance_reconcile.engineer_phones(),
        register=finance_receipts.receipt_register(receipts=False),
        names={u.id: u.display_name for u in _engineers()},
        today=today,
    )


@bp.get("/reconciliation")
def reconciliation():
    """Per engineer and business day: owed, collected, handed over, difference; with a chart."""
    args, errors = _period()
    start, end = args["from_"], args["to"]
    days = list(finance_reconcile.compute_days(start, end, args["engineer_id"]).values())
    chart = finance_reconcile.chart_series(days, start, end)
    top = max([max(p["collected_fen"], p["handed_fen"]) for p in chart] + [1])
    return render_template(
        "finance/reconciliation.html",
        args=args,
        errors=errors,
        days=days,
        totals=finance_reconcile.period_totals(days),
        chart=chart,
        chart_top=top,
        engineers=_engineers(),
        names={u.id: u.display_name for u in _engineers()},
    )


def _render_day(engineer_id: int, day: date, errors=None, form=None, status=200):
    engineer = finance_reconcile.get_engineer(engineer_id)
    fig = finance_reconcile.day_figures(engineer_id, day)
    return (
        render_template(
            "finance/day.html",
            fig=fig,
            engineer=engineer,
            errors=errors or {},
            form=form or {},
            audit=finance_audit.recent_actions(50, subject=f"day:{engineer_id}:{day.isoformat()}"),
            phones=finance_reconcile.engineer_phones(engineer_id),
            not_sent=finance_reconcile.phones_not_sent(engineer_id, day),
            may_reopen=current_user().role in FINANCE_SUPERVISOR_ROLES,
            promised=finance_promises.promises_by_visit(
                [v.id for v, _ in fig.visits], business_day(utcnow())
            ),
        ),
        status,
    )


@bp.get("/reconciliation/<int:engineer_id>/<day>")
def reconciliation_day(engineer_id: int, day: str):
    """One engineer's day, down to each visit and receipt, with its status."""
    return _render_day(engineer_id, _parse_day(day))


@bp.post("/reconciliation/<int:engineer_id>/<day>")
def set_day_status(engineer_id: int, day: str):
    """Reconcile (lock), dispute or reopen a day."""
    the_day = _parse_day(day)
    form = {"status": request.form.get("status", ""), "note": request.form.get("note", "")}
    try:
        finance_reconcile.set_day_status(
            engineer_id, the_day, form["status"], form["note"], current_user()
        )
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        db.session.rollback()
        errors = exc.fields or {"status": [exc.message]}
        return _render_day(engineer_id, the_day, errors, form, exc.status)
    db.session.commit()
    return redirect(url_for("finance.reconciliation_day", engineer_id=engineer_id, day=day))


@bp.post("/reconciliation/<int:engineer_id>/<day>/reopen")
def reopen_day(engineer_id: int, day: str):
    """Reopen a reconciled day (finance supervisor, with a reason)."""
    the_day = _parse_day(day)
    reason = request.form.get("reason", "")
    try:
        finance_reconcile.reopen_day(engineer_id, the_day, reason, current_user())
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        db.session.rollback()
        errors = exc.fields or {"reason": [exc.message]}
        return _render_day(engineer_id, the_day, errors, {"reason": reason}, exc.status)
    db.session.commit()
    return redirect(url_for("finance.reconciliation_day", engineer_id=engineer_id, day=day))


def _list_args(schema) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Read a list page's filters: (loaded, errors by field, the raw ones to keep in links)."""
    keys = {f.data_key or name for name, f in schema.fields.items()}
    raw = {k: v for k, v in request.args.items() if v and k in keys}
    try:
        return schema.load(raw), {}, raw
    except ValidationError as exc:
        fields = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        kept = {k: v for k, v in raw.items() if k not in fields}
        return schema.load({}), fields, kept


class _Paged:
    """A page of handovers with each one's check, for the template."""

    def __init__(self, page: dict[str, Any]) -> None:
        self.meta = page["meta"]
        self.checked = [(h, finance_handover.check_handover(h)) for h in page["items"]]


@bp.get("/handovers")
def handovers():
    """Cash in hand per engineer and the handovers recorded, filtered and a page at a time."""
    args, errors, raw = _list_args(_handover_query)
    query = finance_handover.handovers_query(
        args["engineer_id"], args["method"], args["from_"], args["to"]
    )
    return render_template(
        "finance/handovers.html",
        cash=finance_handover.cash_in_hand(),
        page=_Paged(paginate(query, args["page"], args["per_page"])),
        engineers=_engineers(),
        args=raw,
        errors=errors,
    )


def _render_new_handover(engineer_id: int | None, errors=None, form=None, status=200):
    engineer = None
    receipts = []
    if engineer_id is not None:
        engineer = db.session.get(User, engineer_id)
        if engineer is None or engineer.role != Role.ENGINEER:
            raise ApiError(404, "No such engineer.")
        receipts = finance_handover.uncovered_payments(engineer_id)
    return (
        render_template(
            "finance/handover_new.html",
            engineers=_engineers(),
            engineer=engineer,
            receipts=receipts,
            errors=errors or {},
            form=form or {},
        ),
        status,
    )


@bp.get("/handovers/new")
def new_handover():
    """Record a handover: choose the engineer, tick the receipts, type the amounts."""
    engineer_id = request.args.get("engineer_id", type=int)
    return _render_new_handover(engineer_id)


@bp.post("/handovers")
def create_handover():
    """Save a handover and show its difference at once."""
    engineer_id = request.form.get("engineer_id", type=int)
    form = {
        "amounts": {m: request.form.get(f"amount_{m}", "") for m in PAYMENT_METHODS},
        "payment_ids": request.form.getlist("payment_ids"),
        "note": request.form.get("note", ""),
    }
    errors: dict[str, list[str]] = {}
    amounts: dict[str, int] = {}
    for method, text in form["amounts"].items():
        try:
            fen = parse_yuan(text)
        except ValueError:
            errors[f"amount_{method}"] = [translate("fin.error.amount")]
            continue
        if fen:
            amounts[method] = fen
    if len(form["note"]) > 2000:
        errors["note"] = [translate("fin.error.too_long")]
    if not errors:
        try:
            handover = finance_handover.record_handover(
                {
                    "engineer_id": engineer_id,
                    "amounts": amounts,
                    "payment_ids": form["payment_ids"],
                    "note": form["note"],
                },
                current_user(),
            )
        except ApiError as exc:
            if exc.status != 422:
                raise
            db.session.rollback()
            errors = exc.fields or {"_schema": [exc.message]}
        else:
            db.session.commit()
            return redirect(url_for("finance.handover", handover_id=handover.id))
    if "engineer_id" in errors:
        engineer_id = None
    return _render_new_handover(engineer_id, errors, form, 422)


def _render_handover(handover_id: int, errors=None, status=200):
    handover = finance_handover.get_handover(handover_id)
    return (
        render_template(
            "finance/handover.html",
            h=handover,
            check=finance_handover.check_handover(handover),
            errors=errors or {},
            audit=finance_audit.recent_actions(50, subject=f"handover:{handover_id}"),
        ),
        status,
    )


@bp.get("/handovers/<int:handover_id>")
def handover(handover_id: int):
    """One handover: amounts by method beside its receipts, and the difference."""
    return _render_handover(handover_id)


@bp.post("/handovers/<int:handover_id>/void")
def void_handover(handover_id: int):
    """Void a handover recorded by mistake, with a reason."""
    try:
        finance_handover.void_handover(
            finance_handover.get_handover(handover_id),
            request.form.get("reason", "")[:2000],
            current_user(),
        )
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        db.session.rollback()
        return _render_handover(handover_id, exc.fields or {"reason": [exc.message]}, exc.status)
    db.session.commit()
    return redirect(url_for("finance.handover", handover_id=handover_id))


@bp.get("/receipts")
def receipts():
    """Every payment receipt per device: voids visible, missing numbers flagged."""
    args, _errors, raw = _list_args(_receipt_query)
    return render_template(
        "finance/receipts.html",
        register=finance_receipts.receipt_register(
            args["engineer_id"],
            args["from_"],
            args["to"],
            page=args["page"] or 1,  # the page lists a page of receipts; the gaps cover all
            per_page=args["per_page"],
        ),
        engineers=_engineers(),
        engineer_id=args["engineer_id"],
        args=raw,
    )


def _render_prices(errors=None, form=None, status=200):
    return (
        render_template(
            "finance/prices.html",
            fees=finance_prices.fee_rates(),
            parts=finance_prices.part_prices(),
            errors=errors or {},
            form=form or {},
            today=business_day(utcnow()),
        ),
        status,
    )


@bp.get("/prices")
def prices():
    """The on-site fee schedule and the part price list, each by the day it applies from."""
    return _render_prices()


def _price_form(kind: str, schema, amount_field: str):
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {k: v for k, v in form.items() if k != amount_field}
    try:
        fen = parse_yuan(form.get(amount_field))
    except ValueError:
        errors[amount_field] = [translate("fin.error.amount")]
        fen = None
    if fen is None and amount_field not in errors:
        errors[amount_field] = [translate("fin.error.required")]
    data[amount_field] = fen if fen is not None else 0
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        errors.update(exc.messages if isinstance(exc.messages, dict) else {})
    if errors:
        return None, {f"{kind}.{k}": v for k, v in errors.items()}, form
    return loaded, {}, form


@bp.post("/prices/fee")
def add_fee_rate():
    """Add an on-site fee from a day onwards."""
    data, errors, form = _price_form("fee", _fee_schema, "onsite_fee_fen")
    if data is not None:
        try:
            finance_prices.add_fee_rate(data, current_user())
        except ApiError as exc:
            if exc.status != 409:
                raise
            db.session.rollback()
            errors = {f"fee.{k}": v for k, v in (exc.fields or {}).items()}
        else:
            db.session.commit()
            return redirect(url_for("finance.prices"))
    return _render_prices(errors, {"fee": form}, 422)


@bp.post("/prices/part")
def add_part_price():
    """Add a part's cost price from a day onwards."""
    data, errors, form = _price_form("part", _part_schema, "unit_cost_fen")
    if data is not None:
        try:
            finance_prices.add_part_price(data, current_user())
        except ApiError as exc:
            if exc.status != 409:
                raise
            db.session.rollback()
            errors = {f"part.{k}": v for k, v in (exc.fields or {}).items()}
        else:
            db.session.commit()
            return redirect(url_for("finance.prices"))
    return _render_prices(errors, {"part": form}, 422)


def _render_promises(errors=None, form=None, status=200):
    args, _errors, _raw = _list_args(_promise_query)
    today = business_day(utcnow())
    return (
        render_template(
            "finance/promises.html",
            lines=finance_promises.promises(today, args["state"] or "outstanding"),
            names={u.id: u.display_name for u in _engineers()},
            state=args["state"] or "outstanding",
            errors=errors or {},
            form=form or {},
            today=today,
        ),
        status,
    )


@bp.get("/promises")
def promises():
    """Money customers promised to pay later: outstanding (overdue first), or settled."""
    return _render_promises()


@bp.post("/promises/<promise_id>/transfer")
def record_transfer(promise_id: str):
    """Record the transfer that settles (part of) a promise, as seen on the statement."""
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    errors: dict[str, list[str]] = {}
    try:
        amount = parse_yuan(form.get("amount"))
    except ValueError:
        amount = None
    if amount is None:
        errors["amount_fen"] = [translate("fin.error.amount")]
    try:
        received_on = date.fromisoformat(form.get("received_on", ""))
    except ValueError:
        received_on = None
    data = {
        "promise_id": promise_id,
        "amount_fen": amount,
        "received_on": received_on,
        "reference": form.get("reference", "")[:100],
        "note": form.get("note", "")[:2000],
    }
    if not errors:
        try:
            finance_promises.record_transfer(data, current_user(), business_day(utcnow()))
        except ApiError as exc:
            if exc.status != 422:
                raise
            db.session.rollback()
            errors = exc.fields or {}
        else:
            db.session.commit()
            return redirect(url_for("finance.promises"))
    return _render_promises({promise_id: errors}, {promise_id: form}, 422)


@bp.post("/transfers/<int:transfer_id>/void")
def void_transfer(transfer_id: int):
    """Void a transfer recorded by mistake, with a reason; its promise is owed again."""
    reason = request.form.get("reason", "")[:2000]
    try:
        transfer = finance_promises.void_transfer(transfer_id, reason, current_user())
    except ApiError as exc:
        if exc.status != 422:
            raise
        db.session.rollback()
        return _render_promises({f"transfer-{transfer_id}": exc.fields or {}}, None, 422)
    db.session.commit()
    return redirect(url_for("finance.promises", state="outstanding" if transfer else None))


def _render_statements(errors=None, status=200):
    return (
        render_template(
            "finance/statements.html",
            statements=finance_statements.list_statements(),
            layouts=LAYOUTS,
            errors=errors or {},
        ),
        status,
    )


@bp.get("/statements")
def statements():
    """Import a statement file; the statements imported so far."""
    return _render_statements()


@bp.post("/statements")
def import_statement():
    """Import a WeChat Pay, Alipay or bank statement and match its lines to receipts."""
    upload = request.files.get("file")
    layout = request.form.get("layout", "")
    if upload is None or not upload.filename:
        return _render_statements({"file": [translate("fin.statement.choose_file")]}, 422)
    if layout not in LAYOUTS:
        return _render_statements({"layout": [translate("fin.statement.choose_layout")]}, 422)
    try:
        statement = finance_statements.import_statement(
            upload.read(MAX_BYTES + 1), layout, upload.filename, current_user()
        )
    except ApiError as exc:
        if exc.status != 422:
            raise
        db.session.rollback()
        return _render_statements(exc.fields, 422)
    db.session.commit()
    return redirect(url_for("finance.statement", statement_id=statement.id))


def _render_statement(statement_id: int, errors=None, status=200):
    return (
        render_template(
            "finance/statement.html",
            view=finance_statements.statement_view(statement_id),
            errors=errors or {},
        ),
        status,
    )


@bp.get("/statements/<int:statement_id>")
def statement(statement_id: int):
    """A statement's lines with what each pays in; unmatched lines and receipts side by side."""
    return _render_statement(statement_id)


@bp.post("/statement-lines/<int:entry_id>")
def decide_statement_line(entry_id: int):
    """Confirm, assign by hand, or undo the match of one statement line."""
    action = request.form.get("action", "")
    payment_id = request.form.get("payment_id") or None
    try:
        entry = finance_statements.decide(entry_id, action, current_user(), payment_id)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        db.session.rollback()
        row = db.session.get(StatementEntry, entry_id)
        return _render_statement(row.statement_id, {entry_id: exc.message}, exc.status)
    statement_id = entry.statement_id
    db.session.commit()
    return redirect(url_for("finance.statement", statement_id=statement_id))


@bp.get("/audit")
def audit():
    """Every finance action, who and when, newest first, filtered and a page at a time."""
    args, errors, raw = _list_args(_audit_query)
    query = finance_audit.audit_query(args["action"], args["subject"], args["from_"], args["to"])
    return render_template(
        "finance/audit.html",
        page=paginate(query, args["page"], args["per_page"]),
        actions=finance_audit.ACTIONS,
        args=raw,
        errors=errors,
    )


def _csv_response(text: str, name: str, start: date, end: date) -> Response:
    filename = f"{name}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/export/<kind>.csv")
def export(kind: str):
    """CSV of payments, handovers or reconciliation for a period."""
    makers = {
        "payments": finance_export.payments_csv,
        "handovers": finance_export.handovers_csv,
        "transfers": finance_export.transfers_csv,
        "reconciliation": finance_export.reconciliation_csv,
    }
    if kind not in makers:
        raise ApiError(404, f"No export {kind!r}.")
    args, errors = _period()
    if errors:
        raise ApiError(422, "Check the period.", errors)
    start, end = args["from_"], args["to"]
    return _csv_response(makers[kind](start, end, args["engineer_id"]), kind, start, end)
