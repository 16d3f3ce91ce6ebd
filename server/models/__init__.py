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
from .office import (
    Complaint,
    ComplaintStatus,
    ComplaintUpdate,
    Escalation,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    PartDisposition,
    ReturnedPartHandling,
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
    "Complaint",
    "ComplaintStatus",
    "ComplaintUpdate",
    "Conflict",
    "Customer",
    "DamageRecord",
    "Device",
    "Equipment",
    "EquipmentReceipt",
    "Escalation",
    "Feedback",
    "FollowUp",
    "FollowUpKind",
    "FollowUpStatus",
    "Level",
    "PartDisposition",
    "PartEvent",
    "Payment",
    "PaymentVoid",
    "RequestStatus",
    "ReturnedPartHandling",
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
