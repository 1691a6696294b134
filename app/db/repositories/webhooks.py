"""Queries for the GESDENT webhook: whom a notification names, and the deliveries already seen."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import GesdentConnection, Instance, WebhookDelivery


@dataclass(frozen=True, slots=True)
class Addressee:
    """The instance a notification names, and its webhook secret (encrypted; empty until issued)."""

    instance: Instance
    webhook_secret: str


async def addressee(session: AsyncSession, db_name: str) -> Addressee | None:
    """The instance named `db_name`, when it has connection rules."""
    stmt = (
        select(Instance, col(GesdentConnection.webhook_secret))
        .join(GesdentConnection, col(GesdentConnection.instance_id) == Instance.id)
        .where(col(Instance.name) == db_name)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else Addressee(*row)


async def record_delivery(session: AsyncSession, instance_id: str, webhook_id: str) -> bool:
    """Record a delivery to the instance; False when it had this `webhook-id` already (a replay)."""
    try:
        async with session.begin_nested():
            session.add(WebhookDelivery(id=webhook_id, instance_id=instance_id))
    except IntegrityError:  # the primary key: delivered before, or by a concurrent request now
        return False
    return True
