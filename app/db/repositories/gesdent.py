"""Queries on the GESDENT connection rules."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import GesdentConnection


async def get(session: AsyncSession, instance_id: str) -> GesdentConnection | None:
    """The instance's connection rules, if it has any."""
    return await session.get(GesdentConnection, instance_id)


async def all_locked(session: AsyncSession) -> list[GesdentConnection]:
    """Every instance's rules, locked until the transaction ends (to re-encrypt their secrets)."""
    return list((await session.execute(select(GesdentConnection).with_for_update())).scalars())
