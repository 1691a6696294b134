"""Queries on sync runs and the records they rejected. The run queue (app/sync/queue.py) claims,
renews and finishes runs; it finds an instance's active run here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Instance, SyncRejection, SyncRun
from app.db.repositories.pages import PageRequest, entity, fetch_page

ACTIVE = ("queued", "running")


@dataclass(frozen=True, slots=True)
class RunRow:
    """A run, and the name of its instance."""

    run: SyncRun
    instance: str


async def active(session: AsyncSession, instance_id: str) -> SyncRun | None:
    """The instance's queued or running run (at most one: a partial unique index holds it)."""
    stmt = select(SyncRun).where(col(SyncRun.instance_id) == instance_id, col(SyncRun.status).in_(ACTIVE))
    return (await session.execute(stmt)).scalars().first()


async def get(session: AsyncSession, run_id: str) -> SyncRun | None:
    return await session.get(SyncRun, run_id)


async def of_partner(session: AsyncSession, run_id: str, partner_id: str) -> RunRow | None:
    """Run `run_id` when its instance is the partner's."""
    stmt = (
        select(SyncRun, col(Instance.name))
        .join(Instance, col(Instance.id) == SyncRun.instance_id)
        .where(col(SyncRun.id) == run_id, col(Instance.partner_id) == partner_id)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else RunRow(*row)


async def list_page(
    session: AsyncSession, instance_id: str, page: PageRequest
) -> tuple[list[SyncRun], str | None]:
    """The instance's runs, newest first."""
    stmt = select(SyncRun).where(col(SyncRun.instance_id) == instance_id)
    return await fetch_page(
        session,
        stmt,
        [col(SyncRun.id)],
        page,
        item=entity(SyncRun),
        key_of=lambda run: [run.id],
        descending=True,
    )


async def last(session: AsyncSession, instance_id: str, *statuses: str) -> SyncRun | None:
    """The instance's run that ended last in one of `statuses`."""
    stmt = (
        select(SyncRun)
        .where(col(SyncRun.instance_id) == instance_id, col(SyncRun.status).in_(statuses))
        .order_by(col(SyncRun.finished_at).desc(), col(SyncRun.id).desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalars().first()


async def rejections_page(
    session: AsyncSession, run_id: str, page: PageRequest
) -> tuple[list[SyncRejection], str | None]:
    """The records the run rejected, in the order found."""
    table = SyncRejection
    stmt = select(table).where(col(table.run_id) == run_id)
    return await fetch_page(session, stmt, [col(table.id)], page, item=entity(table), key_of=_rejection_key)


def _rejection_key(rejection: SyncRejection) -> list[str | int]:
    assert rejection.id is not None  # a stored row has its id
    return [rejection.id]


async def queue_depth(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many runs are queued, and since when the one queued longest has waited (one aggregate; for
    /metrics): since it was requested, or since it was handed back (its lease's end then says when,
    as for the claim's order, app/sync/queue.py)."""
    waiting_since = func.coalesce(col(SyncRun.lease_expires_at), col(SyncRun.requested_at))
    stmt = select(func.count(), func.min(waiting_since)).where(col(SyncRun.status) == "queued")
    waiting, oldest = (await session.execute(stmt)).one()
    return int(waiting), oldest
