"""Customers and equipment."""

from flask_smorest import Blueprint

from server.accounts.auth import current_user
from server.customers.models import Customer, Equipment
from server.customers.schemas import CustomerQuery, CustomerSchema, EquipmentQuery, EquipmentSchema
from server.customers.warranty_view import with_warranty
from server.extensions import db
from server.register import access
from server.register.operations import get_customer
from server.web.api_schemas import page_of
from server.web.paging import paginate

blp = Blueprint("api_customers", __name__, url_prefix="/api", description="Customers and equipment")

CustomerPage = page_of(CustomerSchema, "CustomerPage")
EquipmentPage = page_of(EquipmentSchema, "EquipmentPage")


@blp.route("/customers", methods=["GET"])
@blp.arguments(CustomerQuery, location="query")
@blp.response(200, CustomerPage)
def list_customers(args):
    """List customers, searching by name, phone or address."""
    user = access.require_user(current_user())
    query = access.customers_of(user).order_by(Customer.name, Customer.id)
    if args.get("q"):
        like = f"%{args['q']}%"
        query = query.where(
            Customer.name.ilike(like)
            | Customer.phone.ilike(like)
            | Customer.address.ilike(like)
            | Customer.mobile.ilike(like)
            | Customer.contact_person.ilike(like)
        )
    return paginate(query, args["page"], args["per_page"])


@blp.route("/customers", methods=["POST"])
@blp.arguments(CustomerSchema)
@blp.response(201, CustomerSchema)
def create_customer(data):
    """Register a new customer."""
    access.require_writer(current_user())
    customer = Customer(**data)
    db.session.add(customer)
    db.session.commit()
    return customer


@blp.route("/customers/<int:customer_id>", methods=["GET"])
@blp.response(200, CustomerSchema)
def get_customer_view(customer_id: int):
    """Return one customer."""
    user = access.require_user(current_user())
    return access.get_visible(access.customers_of(user), Customer, customer_id, "customer")


@blp.route("/customers/<int:customer_id>", methods=["PATCH"])
@blp.arguments(CustomerSchema(partial=True))
@blp.response(200, CustomerSchema)
def update_customer(data, customer_id: int):
    """Change a customer's details."""
    user = access.require_writer(current_user())
    customer = access.get_visible(access.customers_of(user), Customer, customer_id, "customer")
    for key, value in data.items():
        setattr(customer, key, value)
    db.session.commit()
    return customer


@blp.route("/equipment", methods=["GET"])
@blp.arguments(EquipmentQuery, location="query")
@blp.response(200, EquipmentPage)
def list_equipment(args):
    """List equipment, optionally of one customer, with its warranty status today."""
    user = access.require_user(current_user())
    query = access.equipment_of(user).order_by(Equipment.id)
    if args.get("customer_id"):
        query = query.where(Equipment.customer_id == args["customer_id"])
    page = paginate(query, args["page"], args["per_page"])
    page["items"] = [with_warranty(e) for e in page["items"]]
    return page


@blp.route("/equipment", methods=["POST"])
@blp.arguments(EquipmentSchema)
@blp.response(201, EquipmentSchema)
def create_equipment(data):
    """Register equipment at a customer's site."""
    access.require_writer(current_user())
    get_customer(data["customer_id"])
    equipment = Equipment(**data)
    db.session.add(equipment)
    db.session.commit()
    return with_warranty(equipment)


@blp.route("/equipment/<int:equipment_id>", methods=["GET"])
@blp.response(200, EquipmentSchema)
def get_equipment(equipment_id: int):
    """Return one item of equipment with its warranty status today."""
    user = access.require_user(current_user())
    return with_warranty(
        access.get_visible(access.equipment_of(user), Equipment, equipment_id, "equipment")
    )


@blp.route("/equipment/<int:equipment_id>", methods=["PATCH"])
@blp.arguments(EquipmentSchema(partial=True))
@blp.response(200, EquipmentSchema)
def update_equipment(data, equipment_id: int):
    """Change an item of equipment (e.g. record the warranty card on file, S20)."""
    user = access.require_writer(current_user())
    equipment = access.get_visible(access.equipment_of(user), Equipment, equipment_id, "equipment")
    if "customer_id" in data and data["customer_id"] != equipment.customer_id:
        get_customer(data["customer_id"])
    for key, value in data.items():
        setattr(equipment, key, value)
    db.session.commit()
    return with_warranty(equipment)
