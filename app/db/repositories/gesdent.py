"""Queries on the GESDENT connection rules."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import GesdentConnection, Instance


async def get(session: AsyncSession, instance_id: str) -> GesdentConnection | None:
    """The instance's connection rules, if it has any."""
    return await session.get(GesdentConnection, instance_id)


async def for_run(session: AsyncSession, instance_id: str) -> tuple[GesdentConnection, str] | None:
    """The instance's connection rules and its time zone (whose today the availability window starts
    on), in one query: a run reads them once, before it connects."""
    stmt = (
        select(GesdentConnection, col(Instance.time_zone))
        .join(Instance, col(Instance.id) == col(GesdentConnection.instance_id))
        .where(col(GesdentConnection.instance_id) == instance_id)
    )
    found = (await session.execute(stmt)).first()
    return None if found is None else (found[0], found[1])


async def all_locked(session: AsyncSession) -> list[GesdentConnection]:
    """Every instance's rules, locked until the transaction ends (to re-encrypt their secrets)."""
    return list((await session.execute(select(GesdentConnection).with_for_update())).scalars())
