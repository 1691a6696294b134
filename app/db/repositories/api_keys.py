"""Queries on API keys."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import ApiKey
from app.db.repositories.pages import PageRequest, entity, fetch_page


async def get_by_lookup(session: AsyncSession, lookup: str) -> ApiKey | None:
    return (await session.execute(select(ApiKey).where(col(ApiKey.lookup) == lookup))).scalar_one_or_none()


async def get(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def list_page(
    session: AsyncSession, partner_id: str, page: PageRequest
) -> tuple[list[ApiKey], str | None]:
    """The partner's keys, revoked ones included, by id (in order of creation)."""
    stmt = select(ApiKey).where(col(ApiKey.partner_id) == partner_id)
    return await fetch_page(
        session, stmt, [col(ApiKey.id)], page, item=entity(ApiKey), key_of=lambda key: [key.id]
    )
