from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ApiKey


async def get_by_lookup(session: AsyncSession, lookup: str) -> ApiKey | None:
    return (await session.execute(select(ApiKey).where(ApiKey.lookup == lookup))).scalar_one_or_none()


async def get(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


def list_for_partner(partner_id: str):  # type: ignore[no-untyped-def]
    return select(ApiKey).where(ApiKey.partner_id == partner_id)
