"""The run queue: runs are rows; the database decides who runs what.

A run is claimed with `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL; on SQLite the write lock taken
at BEGIN serialises claims) and held under a lease that the worker renews; a run whose lease
expired (its worker died) is claimed again by another worker; a run whose worker stops on request
(SIGTERM) is handed back (`hand_back`): queued again, claimable at once rather than when its lease
would have run out, in the place of a run whose lease expired at that moment.

Claim order, the fairness rule: the run that has waited longest goes first. A queued run waits
from `requested_at`; a run whose lease expired waits from `lease_expires_at`, the moment it became
claimable again — it already had its turn, so a takeover queues behind the runs that were waiting
before its lease ran out instead of jumping ahead of them by its old `requested_at`. An instance has
at most one active run and a run holds a worker at most PORTICO_SYNC_RUN_SECONDS, so a waiting run
is claimed after at most the runs ahead of it in this order, however busy other instances are.

Fencing: each claim increments `attempts`; (run, lease owner, attempt) is the claim's `Fence`.
Every write of a run — each stream's transaction (`confirm`, just before its commit) and `finish` —
checks in that same transaction that the row still carries the fence, so a worker whose run was
taken over can never write: its transaction rolls back. The check locks the run's row until the
commit (PostgreSQL; on SQLite the write lock is held throughout), so a claim cannot slip in between
the check and the commit: a claimer skips the locked row and finds the lease extended afterwards."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.db.engine import SQLITE_WRITE
from app.db.models import SyncRun, table_of, utcnow
from app.db.models.sync_runs import ACTIVE_RUN
from app.db.repositories import sync_runs
from app.domain.gesdent import STREAMS, Stream
from app.events.sources import health_changed, run_finished
from app.sync import health
from app.tracing import current_traceparent

MAX_ATTEMPTS = 3


async def enqueue(
    session: AsyncSession,
    instance_id: str,
    trigger: str,
    *,
    full_refresh: bool = False,
    streams: tuple[Stream, ...] = STREAMS,
) -> tuple[SyncRun, bool]:
    """Queue a run, or return the instance's active one: (run, created). The run keeps the current
    span's traceparent (the request's, when traced), for its worker's span to link to."""
    existing = await sync_runs.active(session, instance_id)
    if existing is not None:
        return existing, False
    run = SyncRun(
        instance_id=instance_id,
        trigger=trigger,
        full_refresh=full_refresh,
        streams=" ".join(streams),
        traceparent=current_traceparent(),
    )
    try:
        async with session.begin_nested():
            session.add(run)
    except IntegrityError:  # another trigger won the race; the partial unique index kept one
        existing = await sync_runs.active(session, instance_id)
        if existing is None:
            raise
        return existing, False
    return run, True


class LeaseLost(Exception):
    """The run is no longer this worker's: taken over, or its lease could not be renewed in time."""


@dataclass(eq=False)
class Fence:
    """What makes a run's writes its own: the run, the worker holding its lease and the attempt its
    claim gave it; the lease, extended by every renewal and every confirmed write; and when it was
    last extended (`time.monotonic()`, read before the statement, so the worker's idea of when its
    lease runs out errs early)."""

    run_id: str
    owner: str
    attempt: int
    lease: timedelta
    renewed_at: float = field(default_factory=time.monotonic)

    def extended(self, since: float) -> None:
        self.renewed_at = max(self.renewed_at, since)

    def __repr__(self) -> str:
        return f"run {self.run_id} (attempt {self.attempt}, worker {self.owner})"


@dataclass(frozen=True)
class Claim:
    instance_id: str
    full_refresh: bool
    streams: tuple[str, ...]
    fence: Fence
    trigger: str
    traceparent: str | None  # of the span that queued the run (app/tracing.py); None: untraced
    taken_over: bool = False  # the run was running under another worker's lease, which expired

    @property
    def run_id(self) -> str:
        return self.fence.run_id

    @property
    def attempts(self) -> int:
        return self.fence.attempt


# The run's row as long as a fence holds it, the fence's values bound at each execution (_bound).
# Statements built once: building one and its cache key costs a run more CPU than sending it.
_HELD = (
    col(SyncRun.id) == bindparam("fence_run"),
    col(SyncRun.lease_owner) == bindparam("fence_owner"),
    col(SyncRun.attempts) == bindparam("fence_attempt"),
    col(SyncRun.status) == "running",
)
_UNTIL = bindparam("until", type_=table_of(SyncRun).c.lease_expires_at.type)
_EXTEND = update(SyncRun).where(*_HELD).values(lease_expires_at=_UNTIL)  # renew the lease
_HELD_RUN = select(SyncRun).where(*_HELD).with_for_update()  # to record its outcome


def _bound(fence: Fence, **values: Any) -> dict[str, Any]:
    return {"fence_run": fence.run_id, "fence_owner": fence.owner, "fence_attempt": fence.attempt, **values}


def claimable(now: datetime) -> Any:
    """The claim's SELECT: the run that has waited longest, on `ix_sync_runs_waiting_since`. A queued
    run has no lease, so COALESCE(lease_expires_at, requested_at) is when each run began to wait;
    the scan walks the active runs in that order and stops at the first queued or expired one
    (passing only the runs under way), instead of sorting every queued run on each claim."""
    waiting_since = func.coalesce(col(SyncRun.lease_expires_at), col(SyncRun.requested_at))
    return (
        select(SyncRun)
        .where(ACTIVE_RUN, or_(col(SyncRun.status) == "queued", col(SyncRun.lease_expires_at) < now))
        .order_by(waiting_since, col(SyncRun.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    owner: str,
    lease: timedelta,
    *,
    abandoned: Callable[[str], None] | None = None,
) -> Claim | None:
    """Take the run that has waited longest (see the module docstring): a queued one, or a running
    one whose lease expired; None when there is none. A run whose workers stopped MAX_ATTEMPTS times
    is recorded failed instead (None too), and `abandoned` told its trigger once that is committed."""
    asked = time.monotonic()
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        now = utcnow()
        run = (await session.execute(claimable(now))).scalars().first()
        if run is None:
            return None
        run.attempts += 1
        if run.attempts > MAX_ATTEMPTS:
            error = f"abandoned: its worker stopped {MAX_ATTEMPTS} times"
            _finish(run, "failed", run.counts, error, now)
            # An outcome like any other: the sync health, in the same transaction (see `finish`).
            made = await health.record_outcome(
                session,
                run.instance_id,
                status="failed",
                streams=run.streams.split(),
                counts={},
                failed_stream=None,
                error=error,
                at=now,
            )
            await run_finished(session, run)  # the outbox events, in the same transaction
            await health_changed(session, made)
            await session.commit()
            if abandoned is not None:
                abandoned(run.trigger)
            return None
        taken_over = run.status == "running"
        run.status = "running"
        run.lease_owner = owner
        run.lease_expires_at = now + lease
        run.started_at = run.started_at or now
        fence = Fence(run.id, owner, run.attempts, lease, renewed_at=asked)
        claimed = Claim(
            run.instance_id,
            run.full_refresh,
            tuple(run.streams.split()),
            fence,
            run.trigger,
            run.traceparent,
            taken_over,
        )
        await session.commit()
        return claimed


async def confirm(connection: AsyncConnection, fence: Fence) -> None:
    """Inside a run's write transaction, just before its commit: check that the run is still held
    by `fence` and extend the lease; LeaseLost (roll back) when it is not. On PostgreSQL the row
    stays locked until the transaction ends, so no claim can take the run over in between."""
    asked = time.monotonic()
    result = await connection.execute(_EXTEND, _bound(fence, until=utcnow() + fence.lease))
    if not result.rowcount:
        raise LeaseLost(f"{fence!r} was taken over by another worker; its changes are rolled back")
    fence.extended(asked)


async def renew(sessionmaker: async_sessionmaker[AsyncSession], fence: Fence) -> bool:
    """Extend the lease; False when it is no longer ours (taken over after it expired)."""
    asked = time.monotonic()
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        result = await session.execute(_EXTEND, _bound(fence, until=utcnow() + fence.lease))
        await session.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    fence.extended(asked)
    return True


async def hand_back(sessionmaker: async_sessionmaker[AsyncSession], fence: Fence) -> bool:
    """Give the run back to the queue, claimable at once, if `fence` still holds it: one statement.
    Its attempt is given back too: the worker stopped on request, it did not fail, so a rolling deploy
    never makes a run "abandoned" (MAX_ATTEMPTS counts the workers that died or lost it). Call it only
    once the work under `fence` has ended (its task cancelled and awaited): no writer is left under
    that fence, so the next claim may take the same attempt number under another owner."""
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        result = await session.execute(
            update(SyncRun)
            .where(*_HELD)
            .values(
                status="queued",
                lease_owner=None,
                lease_expires_at=utcnow(),
                attempts=col(SyncRun.attempts) - 1,
            ),
            _bound(fence),
        )
        await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    fence: Fence,
    status: str,
    counts: dict[str, Any],
    error: str | None,
    *,
    failed_stream: str | None = None,
) -> bool:
    """Record the outcome, if the run is still held by `fence`, and the sync health it makes
    (`failed_stream`: the stream the run stopped at, if one failed)."""
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        run = (await session.execute(_HELD_RUN, _bound(fence))).scalars().first()
        if run is None:
            return False
        now = utcnow()
        _finish(run, status, json.dumps(counts), error, now)
        # The sync health this outcome makes (app/sync/health.py), and the outbox events of both.
        made = await health.record_outcome(
            session,
            run.instance_id,
            status=status,
            streams=run.streams.split(),
            counts=counts,
            failed_stream=failed_stream,
            error=error,
            at=now,
        )
        await run_finished(session, run)
        await health_changed(session, made)
        await session.commit()
        return True


def _finish(run: SyncRun, status: str, counts: str, error: str | None, now: datetime) -> None:
    run.status = status
    run.counts = counts
    run.error = error
    run.finished_at = now
    run.lease_expires_at = None
