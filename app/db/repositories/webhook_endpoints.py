"""Queries of webhook endpoints and of their delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Event, EventDelivery, WebhookEndpoint
from app.db.repositories.pages import PageRequest, entity, fetch_page


async def list_page(
    session: AsyncSession, partner_id: str, page: PageRequest
) -> tuple[list[WebhookEndpoint], str | None]:
    """The partner's endpoints, in order of creation."""
    return await fetch_page(
        session,
        select(WebhookEndpoint).where(col(WebhookEndpoint.partner_id) == partner_id),
        [col(WebhookEndpoint.id)],
        page,
        item=entity(WebhookEndpoint),
        key_of=lambda endpoint: [endpoint.id],
    )


async def of_partner(
    session: AsyncSession, partner_id: str, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint | None:
    stmt = select(WebhookEndpoint).where(
        col(WebhookEndpoint.id) == endpoint_id, col(WebhookEndpoint.partner_id) == partner_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalars().first()


@dataclass(frozen=True)
class DeliveryRow:
    delivery: EventDelivery
    event_type: str


def _delivery_row(row: Row[*tuple[Any, ...]]) -> DeliveryRow:
    return DeliveryRow(row[0], row[1])


async def deliveries_page(
    session: AsyncSession, endpoint_id: str, page: PageRequest
) -> tuple[list[DeliveryRow], str | None]:
    """The endpoint's deliveries, newest first."""
    stmt = (
        select(EventDelivery, col(Event.type))
        .join(Event, col(Event.id) == col(EventDelivery.event_id))
        .where(col(EventDelivery.endpoint_id) == endpoint_id)
    )
    return await fetch_page(
        session,
        stmt,
        [col(EventDelivery.id)],
        page,
        item=_delivery_row,
        key_of=lambda row: [row.delivery.id],
        descending=True,
    )


async def delivery(session: AsyncSession, endpoint_id: str, delivery_id: str) -> DeliveryRow | None:
    stmt = (
        select(EventDelivery, col(Event.type))
        .join(Event, col(Event.id) == col(EventDelivery.event_id))
        .where(col(EventDelivery.id) == delivery_id, col(EventDelivery.endpoint_id) == endpoint_id)
        .with_for_update(of=EventDelivery)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else DeliveryRow(row[0], row[1])


async def delivery_of_event(session: AsyncSession, endpoint_id: str, event_id: str) -> DeliveryRow | None:
    stmt = (
        select(EventDelivery, col(Event.type))
        .join(Event, col(Event.id) == col(EventDelivery.event_id))
        .where(col(EventDelivery.event_id) == event_id, col(EventDelivery.endpoint_id) == endpoint_id)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else DeliveryRow(row[0], row[1])


async def all_locked(session: AsyncSession) -> list[WebhookEndpoint]:
    """Every endpoint, locked until the transaction ends (to re-encrypt their secrets)."""
    return list((await session.execute(select(WebhookEndpoint).with_for_update())).scalars())


async def delivery_backlog(session: AsyncSession, now: datetime) -> tuple[int, datetime | None]:
    """Pending deliveries to enabled endpoints (due, in flight or waiting for a retry), and when the
    one due the longest fell due (None: none is due); one aggregate, for /metrics. A disabled
    endpoint's deliveries wait for it to be enabled again: they are nobody's backlog."""
    pending = col(EventDelivery.status) == literal_column("'pending'")  # as the partial indexes say
    due = case((col(EventDelivery.next_attempt_at) <= now, col(EventDelivery.next_attempt_at)))
    stmt = (
        select(func.count(), func.min(due))
        .select_from(EventDelivery)
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(EventDelivery.endpoint_id))
        .where(pending, col(WebhookEndpoint.enabled))
    )
    count, oldest = (await session.execute(stmt)).one()
    return int(count), oldest
