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
from markupsafe import Markup
from marshmallow import ValidationError
from sqlalchemy import select

from server.accounts.auth import FINANCE_ROLES, FINANCE_SUPERVISOR_ROLES, current_user
from server.accounts.models import Role, User
from server.db_types import utcnow
from server.domain.charges import format_fen, yuan_text
from server.domain.statements import LAYOUTS, MAX_BYTES
from server.domain.timezone import COMPANY_TZ, business_day
from server.errors import ApiError
from server.extensions import db
from server.finance import (
    audit as finance_audit,
)
from server.finance import (
    export as finance_export,
)
from server.finance import (
    handover as finance_handover,
)
from server.finance import (
    prices as finance_prices,
)
from server.finance import (
    promises as finance_promises,
)
from server.finance import (
    receipts as finance_receipts,
)
from server.finance import (
    reconcile as finance_reconcile,
)
from server.finance import (
    statements as finance_statements,
)
from server.finance.charges import ChargeFlag
from server.finance.forms import (
    DayStatusForm,
    FeeRateForm,
    HandoverForm,
    PartPriceForm,
    ReasonForm,
    StatementForm,
    TransferForm,
    duration_parts,
    handover_data,
)
from server.finance.models import PAYMENT_METHODS, StatementEntry
from server.finance.schemas import (
    AuditQuery,
    FeeRateCreateSchema,
    HandoverQuery,
    PartPriceCreateSchema,
    PeriodQuery,
    PromiseQuery,
    ReceiptQuery,
)
from server.i18n import translate
from server.web.forms import FormState, submit
from server.web.guard import year_ok
from server.web.paging import paginate

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


def _money_cell(value: int, signed: bool = False) -> Markup:
    """A table cell of an amount in fen; `signed` marks a difference (+ when over, class by sign).

    A function, not a template macro: the reconciliation page draws thousands of these cells.
    """
    if not signed:
        return Markup('<td class="num">%s</td>') % format_fen(value)
    kind = "neg" if value < 0 else ("pos" if value > 0 else "zero")
    sign = "+" if value > 0 else ""
    return Markup('<td class="num %s">%s%s</td>') % (kind, sign, format_fen(value))


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "money": _money_cell,
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


def _render_day(engineer_id: int, day: date, state: FormState | None = None, status: int = 200):
    engineer = finance_reconcile.get_engineer(engineer_id)
    fig = finance_reconcile.day_figures(engineer_id, day)
    state = state or FormState("day")
    return (
        render_template(
            "finance/day.html",
            fig=fig,
            engineer=engineer,
            errors=state.errors,
            form=state.values,
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
    user = current_user()
    result = submit(
        DayStatusForm(),
        "day",
        lambda d: finance_reconcile.set_day_status(
            engineer_id, the_day, d["status"], d.get("note") or "", user
        ),
        lambda state, status: _render_day(engineer_id, the_day, state, status),
    )
    if isinstance(result, tuple):
        return result
    return redirect(url_for("finance.reconciliation_day", engineer_id=engineer_id, day=day))


@bp.post("/reconciliation/<int:engineer_id>/<day>/reopen")
def reopen_day(engineer_id: int, day: str):
    """Reopen a reconciled day (finance supervisor, with a reason)."""
    the_day = _parse_day(day)
    user = current_user()
    result = submit(
        ReasonForm(),
        "reopen",
        lambda d: finance_reconcile.reopen_day(engineer_id, the_day, d["reason"], user),
        lambda state, status: _render_day(engineer_id, the_day, state, status),
        shown=(403, 409, 422),
    )
    if isinstance(result, tuple):
        return result
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


def _render_new_handover(engineer_id: int | None, state: FormState | None = None, status=200):
    engineer = None
    receipts = []
    if engineer_id is not None:
        engineer = db.session.get(User, engineer_id)
        if engineer is None or engineer.role != Role.ENGINEER:
            raise ApiError(404, "No such engineer.")
        receipts = finance_handover.uncovered_payments(engineer_id)
    state = state or FormState("handover")
    return (
        render_template(
            "finance/handover_new.html",
            engineers=_engineers(),
            engineer=engineer,
            receipts=receipts,
            errors=state.errors,
            form=state.values,
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
    user = current_user()

    def redraw(state: FormState, status: int):
        chosen = state.values.get("engineer_id", "")
        engineer_id = (
            int(chosen) if chosen.isdigit() and "engineer_id" not in state.errors else None
        )
        if engineer_id is not None:
            engineer = db.session.get(User, engineer_id)
            if engineer is None or engineer.role != Role.ENGINEER:
                engineer_id = None
        return _render_new_handover(engineer_id, state, status)

    result = submit(
        HandoverForm(),
        "handover",
        lambda d: finance_handover.record_handover(handover_data(d), user),
        redraw,
        lists=("payment_ids",),
    )
    if isinstance(result, tuple):
        return result
    return redirect(url_for("finance.handover", handover_id=result.id))


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
    user = current_user()
    result = submit(
        ReasonForm(),
        "void",
        lambda d: finance_handover.void_handover(
            finance_handover.get_handover(handover_id), d["reason"], user
        ),
        lambda state, status: _render_handover(handover_id, state.errors, status),
    )
    if isinstance(result, tuple):
        return result
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


def _price_page(kind: str):
    """Redraw the prices page with one of its two forms (fee or part) showing its errors."""

    def redraw(state: FormState, status: int):
        errors = {f"{kind}.{name}": problems for name, problems in state.errors.items()}
        return _render_prices(errors, {kind: state.values}, status)

    return redraw


@bp.post("/prices/fee")
def add_fee_rate():
    """Add an on-site fee from a day onwards."""
    user = current_user()
    result = submit(
        FeeRateForm(),
        "fee",
        lambda d: finance_prices.add_fee_rate({"note": "", **d}, user),
        _price_page("fee"),
    )
    if isinstance(result, tuple):
        return result
    return redirect(url_for("finance.prices"))


@bp.post("/prices/part")
def add_part_price():
    """Add a part's cost price from a day onwards."""
    user = current_user()
    result = submit(
        PartPriceForm(),
        "part",
        lambda d: finance_prices.add_part_price({"description": "", **d}, user),
        _price_page("part"),
    )
    if isinstance(result, tuple):
        return result
    return redirect(url_for("finance.prices"))


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
    user = current_user()

    def action(d: dict[str, Any]):
        data = {"promise_id": promise_id, "reference": "", "note": "", **d}
        return finance_promises.record_transfer(data, user, business_day(utcnow()))

    result = submit(
        TransferForm(),
        "transfer",
        action,
        lambda state, status: _render_promises(
            {promise_id: state.errors}, {promise_id: state.values}, status
        ),
    )
    if isinstance(result, tuple):
        return result
    return redirect(url_for("finance.promises"))


@bp.post("/transfers/<int:transfer_id>/void")
def void_transfer(transfer_id: int):
    """Void a transfer recorded by mistake, with a reason; its promise is owed again."""
    user = current_user()
    result = submit(
        ReasonForm(),
        "void",
        lambda d: finance_promises.void_transfer(transfer_id, d["reason"], user),
        lambda state, status: _render_promises(
            {f"transfer-{transfer_id}": state.errors}, None, status
        ),
    )
    if isinstance(result, tuple):
        return result
    return redirect(url_for("finance.promises", state="outstanding" if result else None))


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
    user = current_user()

    def action(d: dict[str, Any]):
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            key = "fin.statement.choose_file"
            raise ApiError(422, translate(key), {"file": [key]})
        data = upload.read(MAX_BYTES + 1)
        return finance_statements.import_statement(data, d["layout"], upload.filename, user)

    result = submit(
        StatementForm(),
        "statement",
        action,
        lambda state, status: _render_statements(state.errors, status),
    )
    if isinstance(result, tuple):
        return result
    return redirect(url_for("finance.statement", statement_id=result.id))


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
        return _render_statement(row.statement_id, {entry_id: exc.text()}, exc.status)
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
