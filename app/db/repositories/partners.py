"""Queries on partners."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Partner
from app.db.repositories.pages import PageRequest, entity, fetch_page


async def get(session: AsyncSession, partner_id: str) -> Partner | None:
    return await session.get(Partner, partner_id)


async def list_page(session: AsyncSession, page: PageRequest) -> tuple[list[Partner], str | None]:
    """Every partner, by id (in order of creation)."""
    return await fetch_page(
        session,
        select(Partner),
        [col(Partner.id)],
        page,
        item=entity(Partner),
        key_of=lambda partner: [partner.id],
    )
