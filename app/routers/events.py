"""The outbound events in the spec's `webhooks`: what Portico POSTs to a partner's endpoints, one
operation per event type, each with its body's schema. Nothing here is served."""

from __future__ import annotations

from fastapi import APIRouter, Body

from app.domain.events import EVENT_TYPES, EventType
from app.schemas import events as schemas

webhooks = APIRouter(tags=["webhooks"])

SIGNED = (
    " Signed per Standard Webhooks: headers `webhook-id` (the event's id, the same on every attempt), "
    "`webhook-timestamp` and `webhook-signature`. Answer 2xx within 10 s; 410 Gone disables the "
    "endpoint; anything else is retried."
)


@webhooks.post(EventType.SYNC_RUN_SUCCEEDED, operation_id="event_sync_run_succeeded")
def sync_run_succeeded(body: schemas.SyncRunSucceeded = Body()) -> None:
    pass


@webhooks.post(EventType.SYNC_RUN_PARTIAL, operation_id="event_sync_run_partial")
def sync_run_partial(body: schemas.SyncRunPartial = Body()) -> None:
    pass


@webhooks.post(EventType.SYNC_RUN_FAILED, operation_id="event_sync_run_failed")
def sync_run_failed(body: schemas.SyncRunFailed = Body()) -> None:
    pass


@webhooks.post(EventType.SYNC_HEALTH_CHANGED, operation_id="event_sync_health_changed")
def sync_health_changed(body: schemas.SyncHealthChanged = Body()) -> None:
    pass


@webhooks.post(EventType.PORTAL_READINESS_CHANGED, operation_id="event_portal_readiness_changed")
def portal_readiness_changed(body: schemas.PortalReadinessChanged = Body()) -> None:
    pass


@webhooks.post(EventType.WEBHOOK_TEST, operation_id="event_webhook_test")
def webhook_test(body: schemas.WebhookTest = Body()) -> None:
    pass


for route in webhooks.routes:  # the catalogue's words, and how every event is signed
    route.description = EVENT_TYPES[route.path] + SIGNED  # type: ignore[attr-defined]
    route.summary = route.path  # type: ignore[attr-defined]
