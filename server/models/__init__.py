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
from .finance import (
    DayReconciliation,
    FeeRate,
    FinanceAudit,
    Handover,
    HandoverLine,
    HandoverReceipt,
    PartPrice,
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
    "DayReconciliation",
    "Device",
    "Equipment",
    "EquipmentReceipt",
    "FeeRate",
    "Feedback",
    "FinanceAudit",
    "Handover",
    "HandoverLine",
    "HandoverReceipt",
    "Level",
    "PartEvent",
    "PartPrice",
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
