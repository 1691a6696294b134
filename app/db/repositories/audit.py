"""Queries on the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import AuditEvent
from app.db.repositories.pages import PageRequest, entity, fetch_page


@dataclass(frozen=True)
class AuditFilter:
    """What the trail is narrowed to; None leaves a criterion out. `partner_id` None: every partner's
    (the master key's view)."""

    partner_id: str | None = None
    instance: str | None = None
    actor_key_id: str | None = None
    operation: str | None = None
    target_kind: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(where: AuditFilter) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if where.partner_id is not None:
        stmt = stmt.where(col(AuditEvent.partner_id) == where.partner_id)
    if where.instance is not None:
        stmt = stmt.where(col(AuditEvent.instance_name) == where.instance)
    if where.actor_key_id is not None:
        stmt = stmt.where(col(AuditEvent.actor_key_id) == where.actor_key_id)
    if where.operation is not None:
        stmt = stmt.where(col(AuditEvent.operation) == where.operation)
    if where.target_kind is not None:
        stmt = stmt.where(col(AuditEvent.target_kind) == where.target_kind)
    if where.target is not None:
        stmt = stmt.where(col(AuditEvent.target_name) == where.target)
    if where.since is not None:
        stmt = stmt.where(col(AuditEvent.occurred_at) >= where.since)
    if where.until is not None:
        stmt = stmt.where(col(AuditEvent.occurred_at) < where.until)
    return stmt


async def list_page(
    session: AsyncSession, where: AuditFilter, page: PageRequest
) -> tuple[list[AuditEvent], str | None]:
    """The events that match, oldest first (by id: UUIDv7 in order of writing)."""
    return await fetch_page(
        session,
        _filtered(where),
        [col(AuditEvent.id)],
        page,
        item=entity(AuditEvent),
        key_of=lambda event: [event.id],
    )


async def batch_after(
    session: AsyncSession, where: AuditFilter, after: str | None, size: int
) -> list[AuditEvent]:
    """Up to `size` matching events after the id `after`, oldest first: the export's next batch."""
    stmt = _filtered(where)
    if after is not None:
        stmt = stmt.where(col(AuditEvent.id) > after)
    return list((await session.execute(stmt.order_by(col(AuditEvent.id)).limit(size))).scalars())


async def prune_batch(session: AsyncSession, cutoff: datetime, size: int) -> int:
    """Delete up to `size` events older than `cutoff`, oldest first; how many went."""
    chosen = list(
        (
            await session.execute(
                select(col(AuditEvent.id))
                .where(col(AuditEvent.occurred_at) < cutoff)
                .order_by(col(AuditEvent.occurred_at))
                .limit(size)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    if not chosen:
        return 0
    await session.execute(delete(AuditEvent).where(col(AuditEvent.id).in_(chosen)))
    return len(chosen)
