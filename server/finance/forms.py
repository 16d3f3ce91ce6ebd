"""What the finance pages' forms accept: the shared form fields (web/forms.py), amounts in yuan
read by the one money rule (domain.charges.parse_yuan) and held in integer fen.
"""

from __future__ import annotations

from datetime import timedelta

from server.domain.statements import LAYOUTS
from server.finance.models import PAYMENT_METHODS
from server.finance.reconcile import STATUSES
from server.web.forms import FormSchema, TextList, Yuan, choice, date_field, integer, text

# A handover form has one amount field per payment method, named amount_<method>.
AMOUNT_FIELDS = tuple(f"amount_{method}" for method in PAYMENT_METHODS)


class _HandoverFields(FormSchema):
    engineer_id = integer(required=True)
    payment_ids = TextList(36)
    note = text(2000)


# The amount fields follow the payment methods: one list of methods, no field typed twice.
HandoverForm = _HandoverFields.from_dict(
    {name: Yuan() for name in AMOUNT_FIELDS}, name="HandoverForm"
)


def handover_data(form: dict) -> dict:
    """The handover operation's input from a loaded HandoverForm: amounts by method, in fen."""
    amounts = {m: form[f"amount_{m}"] for m in PAYMENT_METHODS if form.get(f"amount_{m}")}
    return {
        "engineer_id": form["engineer_id"],
        "amounts": amounts,
        "payment_ids": form["payment_ids"],
        "note": form.get("note") or "",
    }


class DayStatusForm(FormSchema):
    status = choice(STATUSES, required=True)
    note = text(2000)


class ReasonForm(FormSchema):
    reason = text(2000, required=True)


class FeeRateForm(FormSchema):
    effective_from = date_field(required=True)
    onsite_fee_fen = Yuan(required=True)
    note = text(2000)


class PartPriceForm(FormSchema):
    part_code = text(100, required=True)
    description = text(200)
    effective_from = date_field(required=True)
    unit_cost_fen = Yuan(required=True)


class TransferForm(FormSchema):
    amount_fen = Yuan(required=True, data_key="amount")
    received_on = date_field(required=True)
    reference = text(100)
    note = text(2000)


class StatementForm(FormSchema):
    layout = choice(LAYOUTS, required=True)


def duration_parts(delta: timedelta) -> tuple[int, int, int]:
    """Return (days, hours, minutes) of a non-negative duration, rounded down."""
    minutes = max(int(delta.total_seconds()) // 60, 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return days, hours, minutes
