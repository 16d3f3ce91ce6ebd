"""The JSON behind the finance pages: finance and admin only, like the pages themselves."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_smorest import Blueprint

from server.accounts.auth import FINANCE_ROLES, current_user
from server.db_types import utcnow
from server.domain.statements import LAYOUTS, MAX_BYTES
from server.domain.timezone import business_day
from server.errors import ApiError
from server.extensions import db
from server.finance import (
    audit as finance_audit,
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
from server.finance.charges import explain_visit_charges
from server.finance.schemas import (
    AuditQuery,
    AuditSchema,
    CashInHandSchema,
    DayDetailSchema,
    DayReopenSchema,
    DayStatusSchema,
    FeeRateCreateSchema,
    FeeRateSchema,
    HandoverCreateSchema,
    HandoverQuery,
    HandoverSchema,
    HandoverVoidSchema,
    MissingReceiptsSchema,
    PartPriceCreateSchema,
    PartPriceSchema,
    PaymentSchema,
    PeriodQuery,
    PeriodSchema,
    PromiseLineSchema,
    PromiseQuery,
    ReceiptQuery,
    StatementDecisionSchema,
    StatementEntrySchema,
    StatementSchema,
    StatementViewSchema,
    TransferCreateSchema,
    TransferSchema,
    TransferVoidSchema,
    VisitChargesSchema,
)
from server.visits.models import Visit
from server.web.api_guard import RAW_BODY_ENDPOINTS
from server.web.api_schemas import page_of
from server.web.guard import year_ok
from server.web.paging import paginate

HandoverPage = page_of(HandoverSchema, "HandoverPage")
AuditPage = page_of(AuditSchema, "AuditPage")

blp = Blueprint(
    "api_finance", __name__, url_prefix="/api/finance", description="Finance (S23): finance role"
)


@blp.before_request
def _finance_only() -> None:
    user = current_user()
    if user is None:
        raise ApiError(401, "Sign in first.")
    if user.role not in FINANCE_ROLES:
        raise ApiError(403, "Finance data is for finance staff.")


def parse_day(text: str) -> date:
    """Return the date in a URL, or 404 for anything that is not one."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(404, f"Not a day: {text!r} (use YYYY-MM-DD).") from None
    if not year_ok(day):
        raise ApiError(404, f"Not a day the books can hold: {text!r}.")
    return day


@blp.route("/cash-in-hand", methods=["GET"])
@blp.response(200, CashInHandSchema(many=True))
def cash_in_hand():
    """Every engineer's money collected and not yet handed over, the longest-held first."""
    return finance_handover.cash_in_hand()


@blp.route("/reconciliation", methods=["GET"])
@blp.arguments(PeriodQuery, location="query")
@blp.response(200, PeriodSchema)
def reconciliation(args):
    """Owed, collected and handed over per engineer and business day, with period totals."""
    start, end = args["from_"], args["to"]
    days = list(finance_reconcile.compute_days(start, end, args["engineer_id"]).values())
    return {
        "from_": start,
        "to": end,
        "days": days,
        "totals": finance_reconcile.period_totals(days),
        "chart": finance_reconcile.chart_series(days, start, end),
    }


@blp.route("/reconciliation/<int:engineer_id>/<day>", methods=["GET"])
@blp.response(200, DayDetailSchema)
def reconciliation_day(engineer_id: int, day: str):
    """One engineer's day, down to each visit and receipt."""
    return finance_reconcile.day_figures(engineer_id, parse_day(day))


@blp.route("/reconciliation/<int:engineer_id>/<day>/status", methods=["POST"])
@blp.arguments(DayStatusSchema)
@blp.response(200, DayDetailSchema)
def set_day_status(data, engineer_id: int, day: str):
    """Mark a day reconciled (locks its figures), disputed, or open again."""
    fig = finance_reconcile.set_day_status(
        engineer_id, parse_day(day), data["status"], data["note"], current_user()
    )
    db.session.commit()
    return fig


@blp.route("/reconciliation/<int:engineer_id>/<day>/reopen", methods=["POST"])
@blp.arguments(DayReopenSchema)
@blp.response(200, DayDetailSchema)
def reopen_day(data, engineer_id: int, day: str):
    """Reopen a reconciled day (finance supervisor, with a reason) so it can be reconciled again."""
    fig = finance_reconcile.reopen_day(engineer_id, parse_day(day), data["reason"], current_user())
    db.session.commit()
    return fig


@blp.route("/handovers", methods=["GET"])
@blp.arguments(HandoverQuery, location="query")
@blp.response(200, HandoverPage)
def list_handovers(args):
    """Handovers, newest first, a page at a time; by engineer, method and the day made."""
    query = finance_handover.handovers_query(
        args["engineer_id"], args["method"], args["from_"], args["to"]
    )
    return paginate(query, args["page"], args["per_page"])


@blp.route("/handovers", methods=["POST"])
@blp.arguments(HandoverCreateSchema)
@blp.response(201, HandoverSchema)
def create_handover(data):
    """Record money an engineer handed over and the receipts it covers; returns the difference."""
    handover = finance_handover.record_handover(data, current_user())
    db.session.commit()
    return handover


@blp.route("/handovers/<int:handover_id>", methods=["GET"])
@blp.response(200, HandoverSchema)
def get_handover(handover_id: int):
    """One handover with its difference from the receipts it covers."""
    return finance_handover.get_handover(handover_id)


@blp.route("/handovers/<int:handover_id>/void", methods=["POST"])
@blp.arguments(HandoverVoidSchema)
@blp.response(200, HandoverSchema)
def void_handover(data, handover_id: int):
    """Void a handover recorded by mistake (the receipts count as in hand again)."""
    handover = finance_handover.void_handover(
        finance_handover.get_handover(handover_id), data["reason"], current_user()
    )
    db.session.commit()
    return handover


@blp.route("/engineers/<int:engineer_id>/uncovered", methods=["GET"])
@blp.response(200, PaymentSchema(many=True))
def uncovered(engineer_id: int):
    """The engineer's receipts not yet in a handover (and not voided)."""
    finance_reconcile.get_engineer(engineer_id)
    return finance_handover.uncovered_payments(engineer_id)


@blp.route("/receipts", methods=["GET"])
@blp.arguments(ReceiptQuery, location="query")
@blp.response(200, MissingReceiptsSchema(many=True))
def receipts(args):
    """Receipts per device (of the business days asked), voided ones, and missing number ranges."""
    return finance_receipts.receipt_register(args["engineer_id"], args["from_"], args["to"]).devices


@blp.route("/promises", methods=["GET"])
@blp.arguments(PromiseQuery, location="query")
@blp.response(200, PromiseLineSchema(many=True))
def promises(args):
    """Money customers promised to pay later, soonest due first; outstanding, overdue, settled."""
    return finance_promises.promises(business_day(utcnow()), args["state"])


@blp.route("/transfers", methods=["POST"])
@blp.arguments(TransferCreateSchema)
@blp.response(201, TransferSchema)
def record_transfer(data):
    """Record money that reached the company for a visit, settling a promise if named."""
    transfer = finance_promises.record_transfer(data, current_user(), business_day(utcnow()))
    db.session.commit()
    return transfer


@blp.route("/transfers/<int:transfer_id>/void", methods=["POST"])
@blp.arguments(TransferVoidSchema)
@blp.response(200, TransferSchema)
def void_transfer(data, transfer_id: int):
    """Void a transfer recorded by mistake, with a reason (audited); its promise is owed again."""
    transfer = finance_promises.void_transfer(transfer_id, data["reason"], current_user())
    db.session.commit()
    return transfer


@blp.route("/statements", methods=["GET"])
@blp.response(200, StatementSchema(many=True))
def statements():
    """Imported statements, newest first."""
    return finance_statements.list_statements()


@blp.route("/statements", methods=["POST"])
@blp.response(201, StatementViewSchema)
def import_statement():
    """Import a statement file (multipart: `file`, `layout` wechat|alipay|bank) and match it."""
    upload = request.files.get("file")
    layout = request.form.get("layout", "")
    fields_at_fault: dict[str, list[str]] = {}
    if upload is None:
        fields_at_fault["file"] = ["Choose the statement file."]
    if layout not in LAYOUTS:
        fields_at_fault["layout"] = [f"One of {', '.join(LAYOUTS)}."]
    if fields_at_fault:
        raise ApiError(422, "Choose a file and its layout.", fields_at_fault)
    data = upload.read(MAX_BYTES + 1)
    statement = finance_statements.import_statement(
        data, layout, upload.filename or "", current_user()
    )
    db.session.commit()
    return finance_statements.statement_view(statement.id)


# The statement arrives as a multipart file upload, not as JSON.
RAW_BODY_ENDPOINTS.add("api_finance.import_statement")


@blp.route("/statements/<int:statement_id>", methods=["GET"])
@blp.response(200, StatementViewSchema)
def statement(statement_id: int):
    """A statement's lines, what each pays in, and the receipts no line pays in."""
    return finance_statements.statement_view(statement_id)


@blp.route("/statement-lines/<int:entry_id>", methods=["POST"])
@blp.arguments(StatementDecisionSchema)
@blp.response(200, StatementEntrySchema)
def decide_statement_line(data, entry_id: int):
    """Confirm a suggested match, assign a receipt by hand, or undo the match."""
    entry = finance_statements.decide(entry_id, data["action"], current_user(), data["payment_id"])
    db.session.commit()
    return entry


@blp.route("/visits/<int:visit_id>/charges", methods=["GET"])
@blp.response(200, VisitChargesSchema)
def visit_charges(visit_id: int):
    """What a visit owes by the rules, line by line, with its flags."""
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        raise ApiError(404, f"No visit {visit_id}.")
    return explain_visit_charges(visit)


@blp.route("/fee-rates", methods=["GET"])
@blp.response(200, FeeRateSchema(many=True))
def fee_rates():
    """The on-site fee schedule, newest first."""
    return finance_prices.fee_rates()


@blp.route("/fee-rates", methods=["POST"])
@blp.arguments(FeeRateCreateSchema)
@blp.response(201, FeeRateSchema)
def add_fee_rate(data):
    """Set the on-site fee from a day onwards."""
    rate = finance_prices.add_fee_rate(data, current_user())
    db.session.commit()
    return rate


@blp.route("/part-prices", methods=["GET"])
@blp.response(200, PartPriceSchema(many=True))
def part_prices():
    """The part price list."""
    return finance_prices.part_prices()


@blp.route("/part-prices", methods=["POST"])
@blp.arguments(PartPriceCreateSchema)
@blp.response(201, PartPriceSchema)
def add_part_price(data):
    """Set a part's cost price from a day onwards."""
    price = finance_prices.add_part_price(data, current_user())
    db.session.commit()
    return price


@blp.route("/audit", methods=["GET"])
@blp.arguments(AuditQuery, location="query")
@blp.response(200, AuditPage)
def audit(args):
    """The finance audit log, newest first, a page at a time; by action, subject and day."""
    query = finance_audit.audit_query(args["action"], args["subject"], args["from_"], args["to"])
    return paginate(query, args["page"], args["per_page"])
