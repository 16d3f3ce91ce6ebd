"""All models, imported here so that Alembic and the app see one metadata."""

from .accounts import Device, Role, User
from .customers import Customer, Equipment
from .field import (
    Blob,
    ChargeWaiver,
    ChecklistEntry,
    Conflict,
    DamageRecord,
    EquipmentReceipt,
    Feedback,
    PartEvent,
    Payment,
    PaymentVoid,
    SignOff,
)
from .requests import OPEN_STATUSES, Callback, Channel, Level, RequestStatus, ServiceRequest
from .sync_state import ChecklistTemplate, ServerState, SyncChange, SyncCounter, SyncOperation
from .visits import Visit, VisitAssignment, VisitStatus

__all__ = [
    "OPEN_STATUSES",
    "Blob",
    "Callback",
    "Channel",
    "ChargeWaiver",
    "ChecklistEntry",
    "ChecklistTemplate",
    "Conflict",
    "Customer",
    "DamageRecord",
    "Device",
    "Equipment",
    "EquipmentReceipt",
    "Feedback",
    "Level",
    "PartEvent",
    "Payment",
    "PaymentVoid",
    "RequestStatus",
    "Role",
    "ServerState",
    "ServiceRequest",
    "SignOff",
    "SyncChange",
    "SyncCounter",
    "SyncOperation",
    "User",
    "Visit",
    "VisitAssignment",
    "VisitStatus",
]
