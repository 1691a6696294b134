"""Queries on the GESDENT connection rules."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import GesdentConnection, Instance


async def get(session: AsyncSession, instance_id: str) -> GesdentConnection | None:
    """The instance's connection rules, if it has any."""
    return await session.get(GesdentConnection, instance_id)


async def rules_and_name(
    session: AsyncSession, instance_id: str
) -> tuple[GesdentConnection | None, str | None]:
    """What a sync run starts from, in one statement: the instance's rules (None without any) and
    its name (None when the instance is gone)."""
    query = (
        select(GesdentConnection, col(Instance.name))
        .select_from(Instance)
        .outerjoin(GesdentConnection, col(GesdentConnection.instance_id) == col(Instance.id))
        .where(col(Instance.id) == instance_id)
    )
    found = (await session.execute(query)).first()
    return (None, None) if found is None else (found[0], found[1])


async def all_locked(session: AsyncSession) -> list[GesdentConnection]:
    """Every instance's rules, locked until the transaction ends (to re-encrypt their secrets)."""
    return list((await session.execute(select(GesdentConnection).with_for_update())).scalars())
