"""Reading the audit trail: a partner reads its own events, the master key everyone's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import Principal
from app.db.models import AuditEvent
from app.db.repositories import audit as repo
from app.db.repositories.audit import AuditFilter
from app.db.repositories.pages import PageRequest

EXPORT_BATCH = 500


def scoped(principal: Principal, where: AuditFilter) -> AuditFilter:
    """`where`, narrowed to the caller's own events unless the caller holds the master key."""
    return where if principal.is_master else replace(where, partner_id=principal.partner_id)


async def list_page(
    session: AsyncSession, principal: Principal, where: AuditFilter, page: PageRequest
) -> tuple[list[AuditEvent], str | None]:
    return await repo.list_page(session, scoped(principal, where), page)


async def export(
    sessionmaker: async_sessionmaker[AsyncSession], principal: Principal, where: AuditFilter
) -> AsyncIterator[AuditEvent]:
    """Every matching event, oldest first, read in batches, each in a short transaction of its own:
    an export of millions never holds a transaction open, nor all of them in memory."""
    where = scoped(principal, where)
    after: str | None = None
    while True:
        async with sessionmaker() as session:
            batch = await repo.batch_after(session, where, after, EXPORT_BATCH)
        for event in batch:
            yield event
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1].id
