"""Finance on the wire: periods, day statuses, handovers, price lists, reconciliation figures."""

from __future__ import annotations

from datetime import timedelta

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_dump,
    post_load,
    validate,
    validates_schema,
)

from server.db_types import utcnow
from server.domain.timezone import business_day
from server.finance.models import PAYMENT_METHODS
from server.web.api_schemas import AwareDateTime, StrictSchema, one_of, text
from sync.limits import MAX_FEN


class PeriodQuery(StrictSchema):
    """A period of business days (Asia/Shanghai); the last 7 days by default."""

    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)
    engineer_id = fields.Integer(load_default=None, validate=validate.Range(min=1))

    @post_load
    def _defaults(self, data, **kwargs):
        today = business_day(utcnow())
        data["to"] = data["to"] or today
        data["from_"] = data["from_"] or data["to"] - timedelta(days=6)
        if data["to"] < data["from_"]:
            raise ValidationError("The period ends before it starts.", "to")
        if (data["to"] - data["from_"]).days > 366:
            raise ValidationError("Choose at most a year.", "to")
        return data


class PagedQuery(StrictSchema):
    """A page of a list, and the business days (Asia/Shanghai) it covers, both ends optional."""

    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ValidationError("The period ends before it starts.", "to")


class HandoverQuery(PagedQuery):
    engineer_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    method = fields.String(load_default=None, validate=validate.OneOf(PAYMENT_METHODS))


class AuditQuery(PagedQuery):
    action = fields.String(load_default=None, validate=validate.Length(max=40))
    subject = fields.String(load_default=None, validate=validate.Length(max=80))


class ReceiptQuery(StrictSchema):
    engineer_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)
    page = fields.Integer(load_default=None, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class PromiseQuery(StrictSchema):
    state = fields.String(
        load_default=None, validate=validate.OneOf(["outstanding", "overdue", "settled"])
    )


class TransferCreateSchema(StrictSchema):
    promise_id = fields.String(load_default=None, validate=validate.Length(max=36))
    visit_id = fields.Integer(load_default=None, strict=True)
    method = fields.String(load_default=None, validate=validate.OneOf(PAYMENT_METHODS))
    amount_fen = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=MAX_FEN)
    )
    received_on = fields.Date(required=True)
    reference = text(100, load_default="")
    note = text(2000, load_default="")


class TransferSchema(Schema):
    id = fields.Integer()
    visit_id = fields.Integer()
    promise_id = fields.String(allow_none=True)
    method = fields.String()
    amount_fen = fields.Integer()
    received_on = fields.Date()
    reference = fields.String()
    note = fields.String()
    recorded_by_id = fields.Integer()
    recorded_at = AwareDateTime()
    voided_at = AwareDateTime(allow_none=True)
    voided_by_id = fields.Integer(allow_none=True)
    void_reason = fields.String(allow_none=True)


class TransferVoidSchema(StrictSchema):
    reason = text(2000, required=True)


class PromiseLineSchema(Schema):
    id = fields.String(attribute="promise.id")
    visit_id = fields.Integer(attribute="promise.visit_id")
    engineer_id = fields.Integer(attribute="promise.user_id")
    method = fields.String(attribute="promise.method")
    amount_fen = fields.Integer(attribute="promise.amount_fen")
    payer = fields.String(attribute="promise.payer")
    due_on = fields.Date()
    note = fields.String(attribute="promise.note")
    received_fen = fields.Integer()
    outstanding_fen = fields.Integer()
    state = fields.String()
    transfers = fields.List(fields.Nested(TransferSchema))


class StatementDecisionSchema(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(["confirm", "assign", "unmatch"]))
    payment_id = fields.String(load_default=None, validate=validate.Length(max=36))


class StatementEntrySchema(Schema):
    id = fields.Integer()
    line_no = fields.Integer()
    day = fields.Date()
    amount_fen = fields.Integer()
    reference = fields.String()
    payer = fields.String()
    state = fields.String()
    payment_id = fields.String(allow_none=True)
    receipt_no = fields.Method("_receipt_no")
    handover_id = fields.Method("_handover_id")

    def _handover_id(self, entry):
        from server.finance.statements import statement_handover

        handover = statement_handover(entry.id) if entry.state == "confirmed" else None
        return handover.id if handover is not None else None

    def _receipt_no(self, entry):
        return entry.payment.receipt_no if entry.payment is not None else None


class StatementSchema(Schema):
    id = fields.Integer()
    layout = fields.String()
    filename = fields.String()
    skipped = fields.Integer()
    imported_by_id = fields.Integer()
    imported_at = AwareDateTime()
    line_count = fields.Method("_count")

    def _count(self, s):
        return len(s.lines)


class StatementViewSchema(Schema):
    statement = fields.Nested(StatementSchema)
    lines = fields.List(fields.Nested(StatementEntrySchema), attribute="statement.lines")
    unmatched_lines = fields.Method("_unmatched_lines")
    unmatched_receipts = fields.List(fields.Nested(lambda: PaymentSchema()))

    def _unmatched_lines(self, view):
        return [e.id for e in view.unmatched_lines]


class DayStatusSchema(StrictSchema):
    status = one_of(["open", "reconciled", "disputed"], required=True)
    note = text(2000, load_default="")


class DayReopenSchema(StrictSchema):
    reason = text(2000, required=True)


class HandoverCreateSchema(StrictSchema):
    engineer_id = fields.Integer(strict=True, required=True)
    amounts = fields.Dict(
        keys=fields.String(validate=validate.OneOf(PAYMENT_METHODS)),
        values=fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_FEN)),
        load_default=dict,
    )
    payment_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=36)),
        required=True,
        validate=validate.Length(min=1, max=1000, error="Choose the receipts it covers."),
    )
    note = text(2000, load_default="")


class HandoverVoidSchema(StrictSchema):
    reason = text(2000, required=True)


class FeeRateCreateSchema(StrictSchema):
    effective_from = fields.Date(required=True)
    onsite_fee_fen = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=0, max=MAX_FEN)
    )
    note = text(2000, load_default="")


class PartPriceCreateSchema(StrictSchema):
    part_code = text(100, required=True)
    description = text(200, load_default="")
    effective_from = fields.Date(required=True)
    unit_cost_fen = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=0, max=MAX_FEN)
    )

    @validates_schema
    def _code(self, data, **kwargs):
        if not (data.get("part_code") or "").strip():
            raise ValidationError("Must not be blank.", "part_code")


class FeeRateSchema(Schema):
    id = fields.Integer()
    effective_from = fields.Date()
    onsite_fee_fen = fields.Integer()
    currency = fields.String()
    note = fields.String()
    created_at = AwareDateTime()


class PartPriceSchema(Schema):
    id = fields.Integer()
    part_code = fields.String()
    description = fields.String()
    effective_from = fields.Date()
    unit_cost_fen = fields.Integer()
    currency = fields.String()
    created_at = AwareDateTime()


class PaymentSchema(Schema):
    id = fields.String()
    visit_id = fields.Integer()
    receipt_no = fields.String()
    method = fields.String()
    amount_fen = fields.Integer()
    currency = fields.String()
    payer = fields.String()
    user_id = fields.Integer()
    device_id = fields.String()
    received_at = AwareDateTime()
    device_time = fields.String(allow_none=True)


class HandoverSchema(Schema):
    id = fields.Integer()
    engineer_id = fields.Integer()
    engineer_name = fields.String(attribute="engineer.display_name")
    received_by_id = fields.Integer()
    received_at = AwareDateTime()
    note = fields.String()
    amounts = fields.Method("_amounts")
    total_fen = fields.Integer()
    receipts = fields.Method("_receipts")
    voided_at = AwareDateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)
    statement_entry_id = fields.Integer(allow_none=True)
    expected_fen = fields.Method("_expected")
    difference_fen = fields.Method("_difference")
    difference_by_method = fields.Method("_by_method")

    def _amounts(self, h):
        return {line.method: line.amount_fen for line in h.lines}

    def _receipts(self, h):
        return sorted(r.payment.receipt_no for r in h.receipts)

    def _check(self, h):
        from server.finance.handover import check_handover

        return check_handover(h)

    def _expected(self, h):
        return self._check(h).expected_fen

    def _difference(self, h):
        return self._check(h).difference_fen

    def _by_method(self, h):
        check = self._check(h)
        return {m: check.difference(m) for m in check.methods}


class CashInHandSchema(Schema):
    engineer_id = fields.Integer(attribute="engineer.id")
    engineer_name = fields.String(attribute="engineer.display_name")
    total_fen = fields.Integer()
    by_method = fields.Dict(keys=fields.String(), values=fields.Integer())
    receipts = fields.Method("_receipts")
    oldest_since = AwareDateTime(allow_none=True)
    held_seconds = fields.Method("_held")

    def _receipts(self, c):
        return [p.receipt_no for p in c.receipts]

    def _held(self, c):
        held = c.held_for(utcnow())
        return int(held.total_seconds()) if held is not None else None


class FlagSchema(Schema):
    code = fields.String()
    params = fields.Dict()


class PricedPartSchema(Schema):
    event_id = fields.String()
    kind = fields.String()
    part_code = fields.String()
    description = fields.String()
    qty = fields.Integer()
    phone_unit_fen = fields.Integer()
    list_unit_fen = fields.Integer(allow_none=True)
    unit_fen = fields.Integer()
    price_source = fields.String()
    counts = fields.Boolean()
    charged = fields.Boolean()
    line_fen = fields.Integer()


class VisitChargesSchema(Schema):
    visit_id = fields.Integer()
    business_day = fields.Date()
    in_warranty = fields.Boolean()
    warranty_reason = fields.String()
    inspection_only = fields.Boolean()
    charges = fields.Method("_charges")
    parts = fields.List(fields.Nested(PricedPartSchema))
    fee_source = fields.String()
    schedule_fee_fen = fields.Integer(allow_none=True)
    visit_fee_fen = fields.Integer(allow_none=True)
    waivers = fields.Method("_waivers")
    flags = fields.List(fields.Nested(FlagSchema))
    phone_total_fen = fields.Integer()

    def _charges(self, vc):
        return vc.charges.as_dict()

    def _waivers(self, vc):
        return [{"id": i, "amount_fen": a, "reason": r} for i, a, r in vc.waivers]


class FiguresSchema(Schema):
    owed_fen = fields.Integer()
    collected_fen = fields.Integer()
    handed_fen = fields.Integer()
    transferred_fen = fields.Integer()
    promised_fen = fields.Integer()


class AdjustmentSchema(Schema):
    kind = fields.String()
    ref = fields.String()
    owed_fen = fields.Integer()
    collected_fen = fields.Integer()
    handed_fen = fields.Integer()
    transferred_fen = fields.Integer()
    promised_fen = fields.Integer()
    moved_to_day = fields.Date(allow_none=True)
    moved_to_engineer_id = fields.Integer(allow_none=True)

    @post_dump
    def _only_when_moved(self, data, **kwargs):
        # Where a receipt went is said only for a receipt that moved.
        if data.get("moved_to_day") is None:
            data.pop("moved_to_day", None)
            data.pop("moved_to_engineer_id", None)
        return data


class DaySummarySchema(Schema):
    engineer_id = fields.Integer()
    day = fields.Date()
    status = fields.String()
    locked = fields.Boolean()
    shown = fields.Nested(FiguresSchema)
    current = fields.Nested(FiguresSchema)
    collected_minus_owed = fields.Integer()
    handed_minus_collected = fields.Integer()
    adjustments = fields.List(fields.Nested(AdjustmentSchema))
    adjustment_totals = fields.Nested(FiguresSchema)
    flag_count = fields.Integer()
    note = fields.String(attribute="record.note", allow_none=True)


class ReceiptLineSchema(Schema):
    payment = fields.Nested(PaymentSchema)
    day = fields.Date()
    voided = fields.Method("_voided")
    void_reason = fields.String(attribute="void.reason", allow_none=True)
    counted_fen = fields.Integer()
    handed_fen = fields.Integer()
    handover_ids = fields.List(fields.Integer())

    def _voided(self, line):
        return line.void is not None


class DayDetailSchema(DaySummarySchema):
    visits = fields.Method("_visits")
    receipts = fields.List(fields.Nested(ReceiptLineSchema))
    allocations = fields.Method("_allocations")
    decided_at = AwareDateTime(attribute="record.decided_at", allow_none=True)
    decided_by_id = fields.Integer(attribute="record.decided_by_id", allow_none=True)

    def _visits(self, fig):
        return [VisitChargesSchema().dump(vc) for _, vc in fig.visits]

    def _allocations(self, fig):
        return [
            {
                "handover_id": a.handover_id,
                "method": a.method,
                "fen": a.fen,
                "payment_id": a.payment_id,
            }
            for a in fig.allocations
        ]


class PeriodTotalsSchema(Schema):
    owed_fen = fields.Integer()
    collected_fen = fields.Integer()
    handed_fen = fields.Integer()
    transferred_fen = fields.Integer()
    promised_fen = fields.Integer()
    adjusted_owed_fen = fields.Integer()
    adjusted_collected_fen = fields.Integer()
    adjusted_handed_fen = fields.Integer()
    adjusted_transferred_fen = fields.Integer()
    adjusted_promised_fen = fields.Integer()
    collected_minus_owed = fields.Integer()
    handed_minus_collected = fields.Integer()
    days = fields.Integer()
    reconciled = fields.Integer()
    disputed = fields.Integer()


class ChartPointSchema(Schema):
    day = fields.Date()
    collected_fen = fields.Integer()
    handed_fen = fields.Integer()


class PeriodSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    days = fields.List(fields.Nested(DaySummarySchema))
    totals = fields.Nested(PeriodTotalsSchema)
    chart = fields.List(fields.Nested(ChartPointSchema))


class MissingReceiptsSchema(Schema):
    prefix = fields.String()
    engineer_id = fields.Integer(attribute="engineer.id", allow_none=True)
    issued = fields.Method("_issued")
    highest = fields.Integer()
    missing = fields.Method("_missing")
    missing_count = fields.Integer()
    voided = fields.Method("_voided")

    def _missing(self, d):
        return [{"first": g.first, "last": g.last, "count": g.count} for g in d.missing]

    def _issued(self, d):
        return len(d.receipts)

    def _voided(self, d):
        return [
            {"receipt_no": p.receipt_no, "reason": v.reason} for p, v in d.receipts if v is not None
        ]


class AuditSchema(Schema):
    id = fields.Integer()
    at = AwareDateTime()
    user_id = fields.Integer()
    user_name = fields.String(attribute="user.display_name")
    action = fields.String()
    subject = fields.String()
    details = fields.Dict()
