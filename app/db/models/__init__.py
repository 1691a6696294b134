"""Table models, one module per noun. API schemas live in app/schemas; these never leave the service
layer. Importing this package registers every table on `metadata` (Alembic compares them with it)."""

from app.db.models.audit import AuditEvent
from app.db.models.base import metadata, new_id, table_of, utcnow
from app.db.models.events import Event, EventDelivery, WebhookEndpoint
from app.db.models.gesdent import GesdentConnection
from app.db.models.idempotency import IdempotencyKey
from app.db.models.instances import Instance, InstanceSetting, Membership
from app.db.models.mappings import Mapping
from app.db.models.partners import ApiKey, Partner
from app.db.models.portal_searches import PortalSearchGeneration, PortalSearchOrder
from app.db.models.services import Service
from app.db.models.sync_data import (
    GesdentPatient,
    GesdentReservation,
    GesdentResource,
    GesdentSlot,
    SyncCursor,
)
from app.db.models.sync_health import SyncHealth
from app.db.models.sync_runs import SyncRejection, SyncRun
from app.db.models.webhooks import WebhookDelivery

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Event",
    "EventDelivery",
    "GesdentConnection",
    "GesdentPatient",
    "GesdentReservation",
    "GesdentResource",
    "GesdentSlot",
    "IdempotencyKey",
    "Instance",
    "InstanceSetting",
    "Mapping",
    "Membership",
    "Partner",
    "PortalSearchGeneration",
    "PortalSearchOrder",
    "Service",
    "SyncCursor",
    "SyncHealth",
    "SyncRejection",
    "SyncRun",
    "WebhookDelivery",
    "WebhookEndpoint",
    "metadata",
    "new_id",
    "table_of",
    "utcnow",
]
