from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Partner


async def get(session: AsyncSession, partner_id: str) -> Partner | None:
    return await session.get(Partner, partner_id)


def list_all() -> Select[Partner]:
    return select(Partner)
