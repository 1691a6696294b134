"""Queries on API keys."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import ApiKey, Partner
from app.db.repositories.pages import PageRequest, entity, fetch_page


@dataclass(frozen=True)
class PresentedKey:
    """A key's row and its partner's rate limit (None: the default), read in one query."""

    key: ApiKey
    rate_limit: str | None


async def get_by_lookup(session: AsyncSession, lookup: str) -> PresentedKey | None:
    stmt = (
        select(ApiKey, col(Partner.rate_limit))
        .join(Partner, col(Partner.id) == col(ApiKey.partner_id))
        .where(col(ApiKey.lookup) == lookup)
    )
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else PresentedKey(row[0], row[1])


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
