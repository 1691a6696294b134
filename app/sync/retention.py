"""Retention: the pruning pass that keeps `sync_runs`, `sync_rejections`, `webhook_deliveries`,
`events` and `idempotency_keys` from growing without bound.

A finished run older than the retention is deleted with its rejections, unless it is one of its
instance's latest `runs_kept` finished runs; a queued or running run is never touched. A webhook
delivery is deleted once it is older than the delivery retention (past the replay window). An
outbound event older than the event retention goes with its deliveries, whatever their state (an
endpoint disabled that long has missed them). An audit event goes once older than the audit retention.

Deletions go in small batches, each its own short transaction (on SQLite, a writer waits for no
more than one batch: the pass pauses between batches long enough to let it in); rows are chosen by
an indexed selection in key order, then deleted by primary key. A batch of runs holds at most
`batch` rows, rejections included (a run rejects at most 100 records per stream), so a run's
rejections go in the same transaction as the run. Several
pruners may run at once (replicas): on PostgreSQL each locks the rows it chose with `SKIP LOCKED`, so
two never wait on each other's rows; on SQLite the write lock serialises the batches."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.engine import SQLITE_WRITE
from app.db.models import Event, EventDelivery, Instance, SyncRejection, SyncRun, WebhookDelivery, utcnow
from app.db.models.base import table_of
from app.db.repositories import audit as audit_events
from app.db.repositories import idempotency_keys

FINISHED = ("succeeded", "partial", "failed")

runs = table_of(SyncRun)
rejections = table_of(SyncRejection)
deliveries = table_of(WebhookDelivery)
instances = table_of(Instance)
events = table_of(Event)
event_deliveries = table_of(EventDelivery)


@dataclass(frozen=True)
class RetentionPolicy:
    run_days: int = 30
    runs_kept: int = 10
    delivery_minutes: int = 60
    event_days: int = 30
    audit_days: int = 365
    batch: int = 1000
    # Between two batches on SQLite: a writer waiting for the lock sleeps in SQLite's busy handler,
    # backing off up to 100 ms, and would miss a shorter gap, then wait for the whole pass.
    sqlite_pause: float = 0.15

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(
            run_days=settings.sync_run_retention_days,
            runs_kept=settings.sync_runs_kept_per_instance,
            delivery_minutes=settings.webhook_delivery_retention_minutes,
            event_days=settings.event_retention_days,
            audit_days=settings.audit_retention_days,
            batch=settings.prune_batch_size,
        )


@dataclass
class Pruned:
    """What one pass deleted, and in how many transactions."""

    runs: int = 0
    rejections: int = 0
    deliveries: int = 0
    events: int = 0
    event_deliveries: int = 0
    audit_events: int = 0
    idempotency_keys: int = 0
    batches: int = 0


async def prune(
    sessionmaker: async_sessionmaker[AsyncSession], policy: RetentionPolicy, now: datetime | None = None
) -> Pruned:
    """Delete what the policy no longer keeps, batch by batch, until nothing is left to delete."""
    now = now or utcnow()
    pruned = Pruned()
    await _prune_runs(sessionmaker, policy, now - timedelta(days=policy.run_days), pruned)
    await _prune_deliveries(sessionmaker, policy, now - timedelta(minutes=policy.delivery_minutes), pruned)
    await _prune_events(sessionmaker, policy, now - timedelta(days=policy.event_days), pruned)
    await _prune_audit(sessionmaker, policy, now - timedelta(days=policy.audit_days), pruned)
    await _prune_idempotency_keys(sessionmaker, policy, now, pruned)
    return pruned


def _kept_from(keep: int) -> Any:
    """When an instance's `keep`-th latest finished run was requested: its older runs may go. NULL
    when it has fewer. Asked per instance, not per run, so that the cost follows the batch."""
    newer = runs.alias("newer")
    return (
        select(newer.c.requested_at)
        .where(newer.c.instance_id == instances.c.id, newer.c.status.in_(FINISHED))
        .order_by(newer.c.requested_at.desc())  # in the index's order; a tie has the same value
        .offset(keep - 1)
        .limit(1)
        .scalar_subquery()
    )


async def _prune_runs(
    sessionmaker: async_sessionmaker[AsyncSession], policy: RetentionPolicy, cutoff: datetime, pruned: Pruned
) -> None:
    after: tuple[datetime, str] | None = None
    while True:
        async with sessionmaker() as session:
            await session.connection(execution_options={SQLITE_WRITE: True})
            stmt = (
                select(runs.c.id, runs.c.instance_id, runs.c.requested_at)
                .where(runs.c.status.in_(FINISHED), runs.c.requested_at < cutoff)
                .order_by(runs.c.requested_at, runs.c.id)
                .limit(policy.batch)
                .with_for_update(skip_locked=True)
            )
            if after is not None:  # keyset: the runs before it (kept ones too) are not read again
                at, run_id = after
                after_it = or_(runs.c.requested_at > at, runs.c.id > run_id)
                stmt = stmt.where(runs.c.requested_at >= at, after_it)  # the first: an index range
            chosen = (await session.execute(stmt)).all()
            if not chosen:
                return
            bounds = select(instances.c.id, _kept_from(policy.runs_kept).label("kept_from")).where(
                instances.c.id.in_({row.instance_id for row in chosen})
            )
            kept_from = {row.id: row.kept_from for row in await session.execute(bounds)}
            counted = (
                select(rejections.c.run_id, func.count().label("rejected"))
                .where(rejections.c.run_id.in_([row.id for row in chosen]))
                .group_by(rejections.c.run_id)
            )
            per_run: dict[str, int] = {row.run_id: row.rejected for row in await session.execute(counted)}
            ids: list[str] = []
            rows = 0
            for row in chosen:  # at most `batch` rows in the transaction, and at least one run
                bound = kept_from.get(row.instance_id)
                if bound is not None and row.requested_at < bound:  # else among the latest: kept
                    cost = 1 + per_run.get(row.id, 0)
                    if ids and rows + cost > policy.batch:
                        break
                    ids.append(row.id)
                    rows += cost
                after = (row.requested_at, row.id)
            if ids:
                gone = await session.execute(delete(rejections).where(rejections.c.run_id.in_(ids)))
                deleted = await session.execute(
                    delete(runs).where(runs.c.id.in_(ids), runs.c.status.in_(FINISHED))
                )
            await session.commit()
        if ids:
            pruned.rejections += gone.rowcount or 0  # type: ignore[attr-defined]
            pruned.runs += deleted.rowcount or 0  # type: ignore[attr-defined]
            pruned.batches += 1
            await _pause(sessionmaker, policy)


async def _prune_deliveries(
    sessionmaker: async_sessionmaker[AsyncSession], policy: RetentionPolicy, cutoff: datetime, pruned: Pruned
) -> None:
    while True:
        async with sessionmaker() as session:
            await session.connection(execution_options={SQLITE_WRITE: True})
            chosen = (
                await session.execute(
                    select(deliveries.c.instance_id, deliveries.c.id)
                    .where(deliveries.c.received_at < cutoff)
                    .order_by(deliveries.c.received_at)
                    .limit(policy.batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not chosen:
                return
            keys = [(row.instance_id, row.id) for row in chosen]
            deleted = await session.execute(
                delete(deliveries).where(
                    tuple_(deliveries.c.instance_id, deliveries.c.id).in_(keys),
                    deliveries.c.received_at < cutoff,
                )
            )
            await session.commit()
        pruned.deliveries += deleted.rowcount or 0  # type: ignore[attr-defined]
        pruned.batches += 1
        await _pause(sessionmaker, policy)


async def _prune_events(
    sessionmaker: async_sessionmaker[AsyncSession], policy: RetentionPolicy, cutoff: datetime, pruned: Pruned
) -> None:
    """Old outbound events with their deliveries (one per subscribed endpoint of the partner, so a
    batch of events carries a bounded number of them)."""
    while True:
        async with sessionmaker() as session:
            await session.connection(execution_options={SQLITE_WRITE: True})
            chosen = list(
                (
                    await session.execute(
                        select(events.c.id)
                        .where(events.c.created_at < cutoff)
                        .order_by(events.c.created_at, events.c.id)
                        .limit(policy.batch)
                        .with_for_update(skip_locked=True)
                    )
                ).scalars()
            )
            if not chosen:
                return
            gone = await session.execute(
                delete(event_deliveries).where(event_deliveries.c.event_id.in_(chosen))
            )
            deleted = await session.execute(delete(events).where(events.c.id.in_(chosen)))
            await session.commit()
        pruned.event_deliveries += gone.rowcount or 0  # type: ignore[attr-defined]
        pruned.events += deleted.rowcount or 0  # type: ignore[attr-defined]
        pruned.batches += 1
        await _pause(sessionmaker, policy)


async def _prune_audit(
    sessionmaker: async_sessionmaker[AsyncSession], policy: RetentionPolicy, cutoff: datetime, pruned: Pruned
) -> None:
    while True:
        async with sessionmaker() as session:
            await session.connection(execution_options={SQLITE_WRITE: True})
            deleted = await audit_events.prune_batch(session, cutoff, policy.batch)
            await session.commit()
        if not deleted:
            return
        pruned.audit_events += deleted
        pruned.batches += 1
        await _pause(sessionmaker, policy)


async def _prune_idempotency_keys(
    sessionmaker: async_sessionmaker[AsyncSession], policy: RetentionPolicy, now: datetime, pruned: Pruned
) -> None:
    """Idempotency keys past their expiry (app/idempotency.py): answers no longer replayed, and claims
    whose request never finished."""
    while True:
        async with sessionmaker() as session:
            await session.connection(execution_options={SQLITE_WRITE: True})
            chosen = await idempotency_keys.expired(session, now, policy.batch)
            if not chosen:
                return
            deleted = await idempotency_keys.delete_expired(session, chosen, now)
            await session.commit()
        pruned.idempotency_keys += deleted
        pruned.batches += 1
        await _pause(sessionmaker, policy)


async def _pause(sessionmaker: async_sessionmaker[AsyncSession], policy: RetentionPolicy) -> None:
    """Let other writers in between two batches (on SQLite, where they wait for the one lock)."""
    sqlite = sessionmaker.kw["bind"].dialect.name == "sqlite"
    await asyncio.sleep(policy.sqlite_pause if sqlite else 0)
