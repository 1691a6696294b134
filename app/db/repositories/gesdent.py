"""Queries on the GESDENT connection rules."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import GesdentConnection, Instance


async def get(session: AsyncSession, instance_id: str) -> GesdentConnection | None:
    """The instance's connection rules, if it has any."""
    return await session.get(GesdentConnection, instance_id)


@dataclass(frozen=True)
class RunStart:
    """What a sync run starts from: the instance's name (for its log lines), its time zone (whose
    today the availability window starts on) and its connection rules (None without any)."""

    name: str
    time_zone: str
    rules: GesdentConnection | None


async def for_run(session: AsyncSession, instance_id: str) -> RunStart | None:
    """A run's start, in one statement; None when the instance is gone."""
    query = (
        select(col(Instance.name), col(Instance.time_zone), GesdentConnection)
        .select_from(Instance)
        .outerjoin(GesdentConnection, col(GesdentConnection.instance_id) == col(Instance.id))
        .where(col(Instance.id) == instance_id)
    )
    found = (await session.execute(query)).first()
    return None if found is None else RunStart(found[0], found[1], found[2])


async def all_locked(session: AsyncSession) -> list[GesdentConnection]:
    """Every instance's rules, locked until the transaction ends (to re-encrypt their secrets)."""
    return list((await session.execute(select(GesdentConnection).with_for_update())).scalars())
