from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import ApiKey


async def get_by_lookup(session: AsyncSession, lookup: str) -> ApiKey | None:
    return (await session.execute(select(ApiKey).where(col(ApiKey.lookup) == lookup))).scalar_one_or_none()


async def get(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


def list_for_partner(partner_id: str) -> Select[ApiKey]:
    return select(ApiKey).where(col(ApiKey.partner_id) == partner_id)
