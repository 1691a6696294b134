"""The outbox: an event is a row written in the transaction of the change it tells of, with one
delivery per enabled endpoint of the partner that subscribes to its type. A change that rolls back
takes its event with it; a change that commits has its deliveries queued, whatever happens next.

Event ids are UUIDv7 that grow strictly within a process (RFC 9562, method 1: a counter in the 12
bits after the milliseconds), so an instance's events are ordered by id even within a millisecond;
the delivery loop delivers an instance's events to an endpoint in that order."""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db.models import Event, EventDelivery, WebhookEndpoint, table_of, utcnow
from app.domain.events import EVENT_TYPES, subscribed
from app.schemas.events import EVENT_DATA

events = table_of(Event)
deliveries = table_of(EventDelivery)
endpoints = table_of(WebhookEndpoint)

_lock = threading.Lock()
_last = (0, 0)  # (milliseconds, counter) of the last id made
_COUNTER_MAX = 0xFFF  # 12 bits


def ordered_id() -> str:
    """A UUIDv7 greater than every one this process made before."""
    global _last  # noqa: PLW0603  # the generator's state is the process's, like the clock's
    with _lock:
        millis, counter = int(time.time() * 1000), 0
        if millis <= _last[0]:
            millis, counter = _last[0], _last[1] + 1
            if counter > _COUNTER_MAX:  # 4096 ids in one millisecond: borrow the next one
                millis, counter = millis + 1, 0
        _last = (millis, counter)
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (millis << 80) | (0x7 << 76) | (counter << 64) | (0x2 << 62) | rand_b
    return str(uuid.UUID(int=value))


async def emit(
    db: AsyncSession | AsyncConnection,
    partner_id: str,
    type: str,  # the event's `type`, as Standard Webhooks names it
    data: dict[str, Any],
    instance_id: str | None = None,
    *,
    endpoint_id: str | None = None,
) -> str:
    """Write event `type` with `data` for `partner_id` in `db`'s transaction, and queue its delivery
    to each of the partner's enabled endpoints subscribed to the type (only to `endpoint_id`, when
    given: the test event). Returns the event's id. Flushes nothing else; the caller commits."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")  # a programming error: the catalogue lists all
    event_id, now = ordered_id(), utcnow()
    await db.execute(
        insert(events).values(
            id=event_id,
            partner_id=partner_id,
            type=type,
            instance_id=instance_id,
            payload=EVENT_DATA[type].model_validate(data).model_dump_json(),
            created_at=now,
        )
    )
    targets = select(endpoints.c.id, endpoints.c.event_types).where(endpoints.c.partner_id == partner_id)
    if endpoint_id is None:
        targets = targets.where(endpoints.c.enabled)
    else:
        targets = targets.where(endpoints.c.id == endpoint_id)
    rows = [
        {
            "id": ordered_id(),
            "event_id": event_id,
            "endpoint_id": row.id,
            "instance_id": instance_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for row in (await db.execute(targets)).all()
        if endpoint_id is not None or subscribed(row.event_types, type)
    ]
    if rows:
        await db.execute(insert(deliveries), rows)
    return event_id
