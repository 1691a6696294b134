"""The run queue: runs are rows; the database decides who runs what.

A run is claimed with `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL; on SQLite the write lock taken
at BEGIN serialises claims) and held under a lease that the worker renews; a run whose lease
expired (its worker died) is claimed again by another worker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.db.engine import SQLITE_WRITE
from app.db.models import GesdentConnection, SyncRun, new_id, utcnow

ACTIVE = ("queued", "running")
ALL_STREAMS = ("resources", "users", "reservations", "availability")
MAX_ATTEMPTS = 3


async def active_run(session: AsyncSession, instance_id: str) -> SyncRun | None:
    stmt = select(SyncRun).where(col(SyncRun.instance_id) == instance_id, col(SyncRun.status).in_(ACTIVE))
    return (await session.execute(stmt)).scalars().first()


async def enqueue(
    session: AsyncSession,
    instance_id: str,
    trigger: str,
    *,
    full_refresh: bool = False,
    streams: tuple[str, ...] = ALL_STREAMS,
) -> tuple[SyncRun, bool]:
    """Queue a run, or return the instance's active one: (run, created)."""
    existing = await active_run(session, instance_id)
    if existing is not None:
        return existing, False
    run = SyncRun(
        instance_id=instance_id, trigger=trigger, full_refresh=full_refresh, streams=" ".join(streams)
    )
    try:
        async with session.begin_nested():
            session.add(run)
    except IntegrityError:  # another trigger won the race; the partial unique index kept one
        existing = await active_run(session, instance_id)
        if existing is None:
            raise
        return existing, False
    return run, True


def slot_of(now: datetime, interval_minutes: int) -> tuple[str, datetime]:
    """The schedule slot `now` falls in, and when the next one starts."""
    minutes = int(now.timestamp() // 60)
    index = minutes // interval_minutes
    next_start = datetime.fromtimestamp((index + 1) * interval_minutes * 60, tz=now.tzinfo)
    return f"{interval_minutes}m:{index}", next_start


async def enqueue_due(sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None) -> int:
    """Queue the scheduled run of every enabled instance whose current slot has none yet.
    Idempotent per instance and slot, so any number of replicas may call it at once."""
    now = now or utcnow()
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        rows = (
            await session.execute(
                select(col(GesdentConnection.instance_id), col(GesdentConnection.interval_minutes)).where(
                    col(GesdentConnection.enabled).is_(True)
                )
            )
        ).all()
        if not rows:
            return 0
        values = [
            {
                "id": new_id(),
                "instance_id": instance_id,
                "trigger": "schedule",
                "status": "queued",
                "slot": slot_of(now, interval)[0],
                "requested_at": now,
            }
            for instance_id, interval in rows
        ]
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        created = 0
        for value in values:
            # No conflict target: a clash on the slot (done already) or on the one-active-run index
            # (a run is under way) both mean "nothing to do".
            result = await session.execute(insert(SyncRun).values(**value).on_conflict_do_nothing())
            created += result.rowcount or 0  # type: ignore[attr-defined]
        await session.commit()
        return created


@dataclass(frozen=True)
class Claim:
    run_id: str
    instance_id: str
    full_refresh: bool
    streams: tuple[str, ...]
    attempts: int


async def claim(sessionmaker: async_sessionmaker[AsyncSession], owner: str, lease: timedelta) -> Claim | None:
    """Take the oldest queued run, or a running one whose lease expired; None when there is none."""
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        now = utcnow()
        stmt = (
            select(SyncRun)
            .where(
                or_(
                    col(SyncRun.status) == "queued",
                    and_(col(SyncRun.status) == "running", col(SyncRun.lease_expires_at) < now),
                )
            )
            .order_by(col(SyncRun.requested_at), col(SyncRun.id))
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        run = (await session.execute(stmt)).scalars().first()
        if run is None:
            return None
        run.attempts += 1
        if run.attempts > MAX_ATTEMPTS:
            _finish(run, "failed", run.counts, f"abandoned: its worker stopped {MAX_ATTEMPTS} times", now)
            await session.commit()
            return None
        run.status = "running"
        run.lease_owner = owner
        run.lease_expires_at = now + lease
        run.started_at = run.started_at or now
        claimed = Claim(run.id, run.instance_id, run.full_refresh, tuple(run.streams.split()), run.attempts)
        await session.commit()
        return claimed


async def renew(
    sessionmaker: async_sessionmaker[AsyncSession], run_id: str, owner: str, lease: timedelta
) -> bool:
    """Extend the lease; False when it is no longer ours (taken over after it expired)."""
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        result = await session.execute(
            update(SyncRun)
            .where(
                col(SyncRun.id) == run_id, col(SyncRun.lease_owner) == owner, col(SyncRun.status) == "running"
            )
            .values(lease_expires_at=utcnow() + lease)
        )
        await session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    run_id: str,
    owner: str,
    status: str,
    counts: dict[str, Any],
    error: str | None,
) -> bool:
    """Record the outcome, if the run is still ours."""
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        run = await session.get(SyncRun, run_id, with_for_update=True)
        if run is None or run.lease_owner != owner or run.status != "running":
            return False
        _finish(run, status, json.dumps(counts), error, utcnow())
        await session.commit()
        return True


def _finish(run: SyncRun, status: str, counts: str, error: str | None, now: datetime) -> None:
    run.status = status
    run.counts = counts
    run.error = error
    run.finished_at = now
    run.lease_expires_at = None
