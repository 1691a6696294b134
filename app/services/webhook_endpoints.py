"""Webhook endpoints of a partner: their URL (under the SSRF rules of GESDENT addresses), the
event types they take, their signing secret (encrypted at rest, shown once), their delivery log."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.crypto import SecretBox
from app.db.models import WebhookEndpoint, utcnow
from app.db.repositories import webhook_endpoints as repo
from app.db.repositories.pages import PageRequest
from app.domain import gesdent as address_rules
from app.domain.errors import NotFound, ValidationFailed
from app.domain.events import TEST_EVENT
from app.etags import check_if_match, etag_of
from app.events import emit
from app.schemas.webhook_endpoints import WebhookEndpointCreate, WebhookEndpointPatch
from app.services.gesdent import Safeguards, address_problem, new_webhook_secret
from app.services.instances import partner_of

# After a rotation the previous secret signs beside the new one this long (Standard Webhooks sends
# several signatures in one header), so that receivers can switch without losing a delivery.
PREVIOUS_SECRET_LIFETIME = timedelta(hours=24)


def etag(endpoint: WebhookEndpoint) -> str:
    return etag_of("webhook-endpoint", endpoint.id, endpoint.version)


async def _check_url(url: str, allow_private: bool) -> None:
    problem = (
        address_rules.base_url_problem(url)
        or address_rules.base_url_form_problem(url)
        or await address_problem(url, allow_private)
    )
    if problem:
        message = f"url {problem}"
        raise ValidationFailed(message, [{"field": "body.url", "message": message}])


async def create(
    session: AsyncSession, principal: Principal, data: WebhookEndpointCreate, guards: Safeguards
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the caller's partner, and its secret in clear (shown once)."""
    await _check_url(data.url, guards.allow_private)
    secret = new_webhook_secret()
    endpoint = WebhookEndpoint(
        partner_id=partner_of(principal),
        url=data.url,
        description=data.description,
        event_types=" ".join(dict.fromkeys(data.event_types)),
        secret=guards.box.encrypt(secret),
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def list_page(
    session: AsyncSession, principal: Principal, page: PageRequest
) -> tuple[list[WebhookEndpoint], str | None]:
    return await repo.list_page(session, partner_of(principal), page)


async def require(
    session: AsyncSession, principal: Principal, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint:
    """The caller's endpoint `endpoint_id`, or 404 (another partner's too)."""
    endpoint = await repo.of_partner(session, partner_of(principal), endpoint_id, lock=lock)
    if endpoint is None:
        raise NotFound(f"Webhook endpoint {endpoint_id} not found.")
    return endpoint


def _touch(endpoint: WebhookEndpoint) -> None:
    endpoint.version += 1
    endpoint.updated_at = utcnow()


async def update(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    data: WebhookEndpointPatch,
    if_match: str | None,
    guards: Safeguards,
) -> WebhookEndpoint:
    """Change the fields `data` sets (the endpoint was loaded locked)."""
    if data.url is not None:
        await _check_url(data.url, guards.allow_private)
    check_if_match(if_match, etag(endpoint))
    if data.url is not None:
        endpoint.url = data.url
    if data.event_types is not None:
        endpoint.event_types = " ".join(dict.fromkeys(data.event_types))
    if data.description is not None:
        endpoint.description = data.description
    if data.enabled is not None and data.enabled != endpoint.enabled:
        set_enabled(endpoint, data.enabled, None if data.enabled else "disabled by hand")
    _touch(endpoint)
    await session.flush()
    return endpoint


def set_enabled(endpoint: WebhookEndpoint, enabled: bool, reason: str | None) -> None:
    endpoint.enabled = enabled
    endpoint.disabled_reason = None if enabled else reason
    endpoint.disabled_at = None if enabled else utcnow()


async def delete(session: AsyncSession, endpoint: WebhookEndpoint, if_match: str | None) -> None:
    """Remove the endpoint and its deliveries (pending ones too)."""
    check_if_match(if_match, etag(endpoint))
    await session.delete(endpoint)
    await session.flush()


async def rotate(session: AsyncSession, endpoint: WebhookEndpoint, guards: Safeguards) -> str:
    """A new secret (returned in clear, once); the current one keeps signing beside it for
    PREVIOUS_SECRET_LIFETIME."""
    secret = new_webhook_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = utcnow() + PREVIOUS_SECRET_LIFETIME
    endpoint.secret = guards.box.encrypt(secret)
    _touch(endpoint)
    await session.flush()
    return secret


async def deliveries_page(
    session: AsyncSession, endpoint: WebhookEndpoint, page: PageRequest
) -> tuple[list[repo.DeliveryRow], str | None]:
    return await repo.deliveries_page(session, endpoint.id, page)


async def redeliver(session: AsyncSession, endpoint: WebhookEndpoint, delivery_id: str) -> repo.DeliveryRow:
    """Send delivery `delivery_id` again, from the start of the retry schedule: due now (after the
    endpoint's earlier pending deliveries of the same instance). One in flight is left to finish."""
    found = await repo.delivery(session, endpoint.id, delivery_id)
    if found is None:
        raise NotFound(f"Webhook endpoint {endpoint.id} has no delivery {delivery_id}.")
    delivery = found.delivery
    if delivery.status != "pending" or delivery.lease_expires_at is None:
        delivery.status = "pending"
        delivery.attempts = 0
        delivery.next_attempt_at = utcnow()
        delivery.lease_owner = delivery.lease_expires_at = None
        await session.flush()
    return found


async def send_test(session: AsyncSession, endpoint: WebhookEndpoint) -> repo.DeliveryRow:
    """Queue a `webhook.test` event to this endpoint only; its delivery."""
    data = {"endpoint_id": endpoint.id, "message": "A test event from Portico."}
    event_id = await emit(session, endpoint.partner_id, TEST_EVENT, data, endpoint_id=endpoint.id)
    found = await repo.delivery_of_event(session, endpoint.id, event_id)
    assert found is not None  # just written, in this transaction
    return found


def rotate_all_rows(rows: list[WebhookEndpoint], box: SecretBox) -> int:
    """Re-encrypt every endpoint's secrets under the first key (`portico rotate-secrets`)."""
    count = 0
    for row in rows:
        for column in ("secret", "previous_secret"):
            if getattr(row, column):
                setattr(row, column, box.rotate(getattr(row, column)))
                count += 1
    return count
