"""Webhook endpoints: where a partner's events are POSTed (Standard Webhooks), their delivery log,
redelivery and a test event."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from app.auth import WebhooksRead, WebhooksWrite
from app.db.models import WebhookEndpoint
from app.db.session import SessionDep
from app.domain.errors import NotFound
from app.openapi_contract import raises, sends
from app.pagination import Page, PageParams
from app.routers.common import IfMatch
from app.routers.lookups import Lookup, LookupRoute
from app.schemas.common import UUID_FORMAT, UUID_PATTERN
from app.schemas.webhook_endpoints import (
    EventDeliveryPublic,
    WebhookEndpointCreate,
    WebhookEndpointPatch,
    WebhookEndpointPublic,
    WebhookEndpointWithSecret,
)
from app.services import webhook_endpoints as service
from app.services.gesdent import Safeguards
from app.state import SecretBoxDep, SettingsDep

router = APIRouter(tags=["webhooks"], route_class=LookupRoute)
EndpointId = Annotated[str, Path(pattern=UUID_PATTERN, description="Webhook endpoint id.", **UUID_FORMAT)]
DeliveryId = Annotated[str, Path(pattern=UUID_PATTERN, description="Delivery id.", **UUID_FORMAT)]


# Lookups, run once the request is valid (app/routers/lookups.py): 401, 403, then 422, then 404.
@raises(NotFound)
async def _readable(
    principal: WebhooksRead, session: SessionDep, endpoint_id: EndpointId
) -> Lookup[WebhookEndpoint]:
    return Lookup(lambda: service.require(session, principal, endpoint_id))


@raises(NotFound)
async def _writable(
    principal: WebhooksWrite, session: SessionDep, endpoint_id: EndpointId
) -> Lookup[WebhookEndpoint]:
    return Lookup(lambda: service.require(session, principal, endpoint_id, lock=True))


EndpointToRead = Annotated[WebhookEndpoint, Depends(_readable)]
EndpointToWrite = Annotated[WebhookEndpoint, Depends(_writable)]


def _safeguards(settings: SettingsDep, box: SecretBoxDep) -> Safeguards:
    return Safeguards(box, allow_private=settings.gesdent_allow_private_networks)


SafeguardsDep = Annotated[Safeguards, Depends(_safeguards)]


def _with_secret(endpoint: WebhookEndpoint, secret: str, response: Response) -> WebhookEndpointWithSecret:
    response.headers["Cache-Control"] = "no-store"
    response.headers["ETag"] = service.etag(endpoint)
    public = WebhookEndpointPublic.build(endpoint)
    return WebhookEndpointWithSecret(**public.model_dump(), secret=secret)


@router.post(
    "/v1/webhook-endpoints",
    operation_id="webhook_endpoints_create",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookEndpointWithSecret,
)
@sends("Location", "ETag")
async def create_webhook_endpoint(
    principal: WebhooksWrite,
    session: SessionDep,
    guards: SafeguardsDep,
    body: WebhookEndpointCreate,
    response: Response,
) -> WebhookEndpointWithSecret:
    """Register an endpoint for the partner's events. The answer shows its signing secret, once; the
    URL must be on a public address unless PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS is on."""
    endpoint, secret = await service.create(session, principal, body, guards)
    response.headers["Location"] = f"/v1/webhook-endpoints/{endpoint.id}"
    return _with_secret(endpoint, secret, response)


@router.get(
    "/v1/webhook-endpoints",
    operation_id="webhook_endpoints_list",
    response_model=Page[WebhookEndpointPublic],
)
async def list_webhook_endpoints(
    principal: WebhooksRead, session: SessionDep, page: PageParams, response: Response
) -> Page[WebhookEndpointPublic]:
    """The partner's endpoints, in order of creation."""
    endpoints, cursor = await service.list_page(session, principal, page.request)
    return page.answer([WebhookEndpointPublic.build(e) for e in endpoints], cursor, response)


@router.get(
    "/v1/webhook-endpoints/{endpoint_id}",
    operation_id="webhook_endpoints_get",
    response_model=WebhookEndpointPublic,
)
@sends("ETag")
async def get_webhook_endpoint(endpoint: EndpointToRead, response: Response) -> WebhookEndpointPublic:
    """One endpoint: where it is, what it takes, whether it is enabled (and if not, why)."""
    response.headers["ETag"] = service.etag(endpoint)
    return WebhookEndpointPublic.build(endpoint)


@router.patch(
    "/v1/webhook-endpoints/{endpoint_id}",
    operation_id="webhook_endpoints_update",
    response_model=WebhookEndpointPublic,
)
@sends("ETag")
async def update_webhook_endpoint(
    endpoint: EndpointToWrite,
    session: SessionDep,
    guards: SafeguardsDep,
    body: WebhookEndpointPatch,
    response: Response,
    if_match: IfMatch = None,
) -> WebhookEndpointPublic:
    """Change the URL, the event types, the description, or disable (`enabled: false`) and enable
    the endpoint. A disabled endpoint is sent nothing; its pending deliveries wait and resume, in
    order, when it is enabled again."""
    updated = await service.update(session, endpoint, body, if_match, guards)
    response.headers["ETag"] = service.etag(updated)
    return WebhookEndpointPublic.build(updated)


@router.delete(
    "/v1/webhook-endpoints/{endpoint_id}",
    operation_id="webhook_endpoints_delete",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_webhook_endpoint(
    endpoint: EndpointToWrite, session: SessionDep, if_match: IfMatch = None
) -> Response:
    """Remove the endpoint, its delivery log and its pending deliveries."""
    await service.delete(session, endpoint, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
    operation_id="webhook_endpoints_rotate_secret",
    response_model=WebhookEndpointWithSecret,
)
@sends("ETag")
async def rotate_webhook_secret(
    endpoint: EndpointToWrite, session: SessionDep, guards: SafeguardsDep, response: Response
) -> WebhookEndpointWithSecret:
    """A new signing secret, shown once in this answer. For 24 hours the previous secret still signs
    too (two signatures in `webhook-signature`), so receivers can switch without missing an event."""
    secret = await service.rotate(session, endpoint, guards)
    return _with_secret(endpoint, secret, response)


@router.get(
    "/v1/webhook-endpoints/{endpoint_id}/deliveries",
    operation_id="webhook_deliveries_list",
    response_model=Page[EventDeliveryPublic],
)
async def list_webhook_deliveries(
    endpoint: EndpointToRead, session: SessionDep, page: PageParams, response: Response
) -> Page[EventDeliveryPublic]:
    """The endpoint's delivery log, newest first: each event's id and type, status, attempts, the
    last answer's status and error."""
    rows, cursor = await service.deliveries_page(session, endpoint, page.request)
    return page.answer([EventDeliveryPublic.build(r.delivery, r.event_type) for r in rows], cursor, response)


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    operation_id="webhook_deliveries_redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventDeliveryPublic,
)
@raises(NotFound)
async def redeliver_webhook_delivery(
    endpoint: EndpointToWrite, session: SessionDep, delivery_id: DeliveryId
) -> EventDeliveryPublic:
    """Send a delivery again (delivered or given up), from the start of the retry schedule."""
    row = await service.redeliver(session, endpoint, delivery_id)
    return EventDeliveryPublic.build(row.delivery, row.event_type)


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/test",
    operation_id="webhook_endpoints_test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventDeliveryPublic,
)
async def test_webhook_endpoint(endpoint: EndpointToWrite, session: SessionDep) -> EventDeliveryPublic:
    """Queue a `webhook.test` event to this endpoint only; follow it in the delivery log."""
    row = await service.send_test(session, endpoint)
    return EventDeliveryPublic.build(row.delivery, row.event_type)
