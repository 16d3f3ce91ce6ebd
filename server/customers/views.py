"""Office pages for customer details (S10): search and edit."""

from __future__ import annotations

from flask import (
    render_template,
    request,
    url_for,
)

from server.customers import operations as office_customers
from server.customers.forms import CustomerForm
from server.customers.models import Customer
from server.register import (
    office_entry as office_register,
)
from server.web.forms import FormState, submit
from server.web.office_pages import (
    bp,
    done,
    get_or_404,
)

# --- customers (S10) ---


@bp.get("/customers")
def customers():
    """Find a customer by name, contact, phone or address, to open their details."""
    q = (request.args.get("q") or "").strip()[:100]
    return render_template(
        "office/customers.html", q=q, found=office_customers.search_customers(q, 50) if q else []
    )


def _customer_page(customer: Customer, state: FormState | None = None, status: int = 200):
    values = {key: getattr(customer, key) for key in office_customers.EDITABLE}
    return render_template(
        "office/customer_edit.html",
        c=customer,
        f=state or FormState("customer", values),
        equipment=office_customers.equipment_of(customer.id),
        requests=office_register.recent_requests(customer.id),
    ), status


@bp.route("/customers/<int:customer_id>", methods=["GET", "POST"])
def customer_edit(customer_id: int):
    """A customer's details, editable; their equipment and latest requests beside them."""
    customer = get_or_404(Customer, customer_id, "customer")
    if request.method == "GET":
        return _customer_page(customer)
    result = submit(
        CustomerForm(),
        "customer",
        lambda data: office_customers.update_customer(customer, data),
        lambda state, status: _customer_page(customer, state, status),
    )
    if isinstance(result, tuple):
        return result
    return done("office.flash.saved", url_for("office.customer_edit", customer_id=customer.id))
